"""`newsletter run|web|demo|sink|outbox`: start the service or its parts on this machine."""

from __future__ import annotations

import typer

from service.core.config import get_settings


def run() -> None:
    """Run the whole service (web, worker, beat, SMTP sink) on this machine until Ctrl-C."""
    from service.ops.devserver import run as run_service

    raise typer.Exit(run_service(get_settings()))


def web() -> None:
    """Run the web server on HOST:PORT (127.0.0.1:8000 unless set), after checking the database and the broker."""
    from service.ops.startup import ready_or_exit
    from service.web.server import serve

    serve(ready_or_exit("web", database=True, broker=True))


def demo() -> None:
    """Load the demo list, story and today's edition (what `make run` does on start); safe to repeat."""
    from service.core.db import session_scope
    from service.ops.demo import load_demo
    from service.ops.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)  # a fresh DATA_DIR works without a separate `db upgrade`
    with session_scope(settings.effective_database_url) as session:
        for line in load_demo(session, settings):
            typer.echo(line)


def sink() -> None:
    """Run the built-in SMTP sink that saves every message under DATA_DIR/outbox."""
    from service.mail.sink import run_sink

    settings = get_settings()
    typer.echo(f"SMTP sink on 127.0.0.1:{settings.smtp_sink_port}, writing to {settings.outbox_dir}")
    run_sink(settings.outbox_dir, port=settings.smtp_sink_port)


def outbox(limit: int = typer.Option(10, help="how many messages, newest last")) -> None:
    """The latest confirmation links and other transactional mail the built-in SMTP sink received."""
    from service.mail.sink import recent

    settings = get_settings()
    for path, line in recent(settings.outbox_dir, limit):
        typer.echo(f"{path.name[:15]}  {line}")

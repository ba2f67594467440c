"""The `newsletter` command: thin wrappers that parse arguments and call service functions."""
from __future__ import annotations

import sys

import typer

from service.cli import admin, bounces, db, dkim, editions, feeds, ledger, lists, stories, subscribers
from service.cli.status import status as status_command
from service.config import ConfigError, get_settings
from service.errors import ServiceError

app = typer.Typer(help="World News daily: a self-hosted newsletter service.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(db.app, name="db")
app.add_typer(admin.app, name="admin")
app.add_typer(lists.app, name="lists")
app.add_typer(subscribers.app, name="subscribers")
app.add_typer(stories.app, name="stories")
app.add_typer(feeds.app, name="feeds")
app.add_typer(editions.app, name="editions")
app.add_typer(bounces.app, name="bounces")
app.add_typer(ledger.app, name="ledger")
app.add_typer(dkim.app, name="dkim")
app.command(name="status")(status_command)


@app.command()
def run() -> None:
    """Run the whole service (web, worker, beat, SMTP sink) on this machine until Ctrl-C."""
    from service.devserver import run as run_service

    raise typer.Exit(run_service(get_settings()))


@app.command()
def web() -> None:
    """Run the web server on HOST:PORT (127.0.0.1:8000 unless set), after checking the database and the broker."""
    from service.startup import ready_or_exit
    from service.web.server import serve

    serve(ready_or_exit("web", database=True, broker=True))


@app.command()
def demo() -> None:
    """Load the demo list, story and today's edition (what `make run` does on start); safe to repeat."""
    from service.db import session_scope
    from service.demo import load_demo
    from service.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)  # a fresh DATA_DIR works without a separate `db upgrade`
    with session_scope(settings.effective_database_url) as session:
        for line in load_demo(session, settings):
            typer.echo(line)


@app.command()
def sink() -> None:
    """Run the built-in SMTP sink that saves every message under DATA_DIR/outbox."""
    from service.sink import run_sink

    settings = get_settings()
    typer.echo(f"SMTP sink on 127.0.0.1:{settings.smtp_sink_port}, writing to {settings.outbox_dir}")
    run_sink(settings.outbox_dir, port=settings.smtp_sink_port)


@app.command()
def outbox(limit: int = typer.Option(10, help="how many messages, newest last")) -> None:
    """The latest confirmation links and other transactional mail the built-in SMTP sink received."""
    from service.sink import recent

    settings = get_settings()
    for path, line in recent(settings.outbox_dir, limit):
        typer.echo(f"{path.name[:15]}  {line}")


def main() -> None:
    """Entry point: domain and configuration errors become one line per problem and exit code 2."""
    from service.startup import email_problem

    try:
        if problem := email_problem():
            raise ConfigError(problem)
        app()
    except (ServiceError, ConfigError) as error:
        for line in str(getattr(error, "message", error)).splitlines():
            typer.secho(f"error: {line}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

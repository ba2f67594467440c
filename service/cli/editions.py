"""`newsletter editions ...`: build a list's edition for a day and preview it as a reader would get it."""
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from service.config import get_settings
from service.db import session_scope
from service.editions import build_edition, edition_stories
from service.errors import InvalidInput
from service.lists import get_list
from service.models import Subscriber
from service.rendering import edition_message

app = typer.Typer(help="Daily editions.", no_args_is_help=True)
SAMPLE_READER = Subscriber(id=0, email="reader@example.com", name="Sample Reader")


def _day(raw: str | None, mailing_list) -> date:
    """YYYY-MM-DD, default today in the list's time zone."""
    if raw is None:
        return datetime.now(ZoneInfo(mailing_list.timezone)).date()
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"--date must be YYYY-MM-DD, got {raw!r}") from None


@app.command()
def build(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Build (or show the already built) edition and print its id and stories."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        target = _day(day, mailing_list)
        edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=target)
        if edition is None:
            typer.echo(f"no stories for {list_slug} on {target}: edition skipped")
            raise typer.Exit(0)
        console = Console(highlight=False, markup=False, soft_wrap=True)  # titles are data: no markup, no wrapping
        console.print(f"edition {edition.id}: {edition.subject}")
        for position, story in enumerate(edition_stories(session, edition), start=1):
            console.print(f"  {position:2}. [{story.source_count} sources] {story.title}")


@app.command()
def preview(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date"),
            out: Path = typer.Option(..., "--out", help="Where to write the .eml")) -> None:
    """Write the complete message a sample subscriber would receive (an edition not yet built stays unbuilt)."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        target = _day(day, mailing_list)
        edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=target, freeze=False)
        if edition is None:
            typer.echo(f"no stories for {list_slug} on {target}: nothing to preview", err=True)
            raise typer.Exit(1)
        message = edition_message(settings, edition, mailing_list, SAMPLE_READER)
    out.write_bytes(message.as_bytes())
    html_part = message.get_body(("html",))
    html = html_part.get_content() if html_part is not None else ""
    typer.echo(f"wrote {out} ({out.stat().st_size} bytes; HTML part {len(html.encode())} bytes)")


def _edition_for(session, list_slug: str, day: str | None):
    """The built edition of a list and day, or a clear error."""
    from service.editions import get_edition

    mailing_list = get_list(session, list_slug)
    target = _day(day, mailing_list)
    edition = get_edition(session, mailing_list, target)
    if edition is None:
        raise InvalidInput(f"no edition of {list_slug} for {target}; build or send it first")
    return edition


@app.command()
def send(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Start sending the list's edition for the day now (builds it if needed); workers do the sending."""
    from service.delivery.schedule import send_now
    from service.models import utcnow
    from service.tasks import start_drains

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        target = _day(day, mailing_list)
        edition, planned = send_now(settings, session, mailing_list, target, utcnow())
        if edition is None:
            typer.echo(f"no stories for {list_slug} on {target}: nothing to send", err=True)
            raise typer.Exit(1)
        if planned is None:
            typer.echo(f"edition {edition.id} was already started ({edition.send_status}); triggering workers again")
        else:
            typer.echo(f"edition {edition.id} started: {planned} readers planned")
    start_drains(edition.id, settings.send_parallelism)


@app.command()
def status(limit: int = typer.Option(20, help="How many recent editions")) -> None:
    """Planned, pending, sent and failed deliveries per edition."""
    from rich.table import Table

    from service.db import engine_for
    from service.delivery.control import statuses

    settings = get_settings()
    table = Table("id", "list", "date", "status", "planned", "pending", "sending", "sent", "failed", "skipped",
                  "policy (ops)")
    with engine_for(settings.effective_database_url).connect() as conn:
        for row in statuses(conn, limit):
            counts = row["counts"]
            table.add_row(str(row["id"]), row["slug"], str(row["edition_date"]), row["send_status"],
                          str(row["planned"]), *(str(counts.get(k, 0)) for k in
                                                 ("pending", "sending", "sent", "failed", "skipped", "policy")))
    Console(highlight=False, width=140).print(table)


def _change(list_slug: str, day: str | None, action: str) -> None:
    """Pause, resume or cancel one edition."""
    from service.db import engine_for
    from service.delivery import control
    from service.tasks import start_drains

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        edition_id = _edition_for(session, list_slug, day).id
    engine = engine_for(settings.effective_database_url)
    if action == "cancel":
        typer.echo(f"edition {edition_id} cancelled; {control.cancel(engine, edition_id)} pending deliveries dropped")
    elif control.set_paused(engine, edition_id, paused=action == "pause"):
        typer.echo(f"edition {edition_id} {action}d")
        if action == "resume":
            start_drains(edition_id, settings.send_parallelism)
    else:
        raise InvalidInput(f"edition {edition_id} cannot be {action}d in its current state")


@app.command()
def pause(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Stop sending after the batches in flight; resume carries on where it stopped."""
    _change(list_slug, day, "pause")


@app.command()
def resume(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Carry on sending a paused edition."""
    _change(list_slug, day, "resume")


@app.command()
def cancel(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Stop an edition for good: readers not yet mailed will not get it."""
    _change(list_slug, day, "cancel")

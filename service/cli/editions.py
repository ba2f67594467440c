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
        console = Console(highlight=False)
        console.print(f"edition {edition.id}: {edition.subject}")
        for position, story in enumerate(edition_stories(session, edition), start=1):
            console.print(f"  {position:2}. [{story.source_count} sources] {story.title}")


@app.command()
def preview(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date"),
            out: Path = typer.Option(..., "--out", help="Where to write the .eml")) -> None:
    """Write the complete message a sample subscriber would receive."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        target = _day(day, mailing_list)
        edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=target)
        if edition is None:
            typer.echo(f"no stories for {list_slug} on {target}: nothing to preview", err=True)
            raise typer.Exit(1)
        message = edition_message(settings, edition, mailing_list, SAMPLE_READER)
    out.write_bytes(message.as_bytes())
    html = message.get_body(("html",)).get_content()
    typer.echo(f"wrote {out} ({out.stat().st_size} bytes; HTML part {len(html.encode())} bytes)")

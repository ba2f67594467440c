"""`newsletter editions drop|pin|unpin|order|edit-story|intro|approve|send-mode`: shape a draft from the shell."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from service.admin.identity import CLI_ADMIN
from service.core.config import get_settings
from service.core.db import session_scope
from service.core.errors import InvalidInput

VERSION_HELP = "The version you read (`editions build` prints it); refused if someone changed it since"


def _day(raw: str | None, mailing_list) -> date:
    """YYYY-MM-DD, default today in the list's time zone."""
    if raw is None:
        return datetime.now(ZoneInfo(mailing_list.timezone)).date()
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"--date must be YYYY-MM-DD, got {raw!r}") from None


def _change(list_slug: str, day: str | None, run: Callable) -> None:
    """Find the day's draft and run one editing use case on it as the CLI admin; print what it did."""
    from service.delivery import actions
    from service.editions.editing import Editor
    from service.lists.rules import get_list

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        edition = actions.edition_of(session, list_slug, _day(day, get_list(session, list_slug)))
        outcome = run(session, settings, edition.id, Editor(CLI_ADMIN.name))
        typer.echo(f"edition {outcome.edition.id} (version {outcome.edition.version}): {outcome.message}")


LIST = typer.Option(..., "--list")
DATE = typer.Option(None, "--date")
VERSION = typer.Option(None, "--version", help=VERSION_HELP)


def drop(
    list_slug: str = LIST, day: str = DATE, story: int = typer.Option(..., "--story"), version: int = VERSION
) -> None:
    """Take a story out of the day's draft for good."""
    from service.editions import editing

    _change(list_slug, day, lambda s, st, e, who: editing.drop(s, st, e, story, who, version))


def pin(
    list_slug: str = LIST, day: str = DATE, story: int = typer.Option(..., "--story"), version: int = VERSION
) -> None:
    """Keep a story in the day's draft whatever the selection says (adds it if it was not in)."""
    from service.editions import editing

    _change(list_slug, day, lambda s, st, e, who: editing.pin(s, st, e, story, who, version))


def unpin(
    list_slug: str = LIST, day: str = DATE, story: int = typer.Option(..., "--story"), version: int = VERSION
) -> None:
    """Let the selection decide about a story again."""
    from service.editions import editing

    _change(list_slug, day, lambda s, st, e, who: editing.unpin(s, st, e, story, who, version))


def order(
    list_slug: str = LIST,
    day: str = DATE,
    ids: str = typer.Option(..., "--order", help="Every story id of the draft once, e.g. 12,7,30"),
    version: int = VERSION,
) -> None:
    """Put the draft's stories in this order."""
    from service.editions import editing

    try:
        wanted = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"--order must be story ids separated by commas, got {ids[:80]!r}") from None
    _change(list_slug, day, lambda s, st, e, who: editing.reorder(s, st, e, wanted, who, version))


def edit_story(
    list_slug: str = LIST,
    day: str = DATE,
    story: int = typer.Option(..., "--story"),
    title: str = typer.Option("", "--title", help="This edition's headline; empty: the story's own"),
    point: list[str] = typer.Option(None, "--point", help="A key point (repeatable); none: the story's"),
    version: int = VERSION,
) -> None:
    """This edition's headline and key points for one story."""
    from service.editions import wording

    _change(
        list_slug,
        day,
        lambda s, st, e, who: wording.edit_story(
            s, st, e, story, who, title=title, points=list(point) if point else None, expected_version=version
        ),
    )


def intro(
    list_slug: str = LIST,
    day: str = DATE,
    text: str = typer.Option(None, "--text"),
    from_file: Path = typer.Option(None, "--file", help="Read the introduction from a UTF-8 file"),
    version: int = VERSION,
) -> None:
    """The introduction above the stories: plain text with links (empty removes it)."""
    from service.editions import wording

    if (text is None) == (from_file is None):
        raise InvalidInput("give the introduction with exactly one of --text or --file")
    words = text if text is not None else from_file.read_text(encoding="utf-8")
    _change(list_slug, day, lambda s, st, e, who: wording.set_intro(s, st, e, words, who, version))


def approve(list_slug: str = LIST, day: str = DATE, version: int = VERSION) -> None:
    """Freeze the draft now; on a list that holds editions, this lets it go (at once if its time has passed)."""
    from service.delivery import approval
    from service.tasks import start_drains

    _change(
        list_slug,
        day,
        lambda s, st, e, who: approval.approve(s, st, e, who, expected_version=version, start_drains=start_drains),
    )


def send_mode(list_slug: str = LIST, mode: str = typer.Argument(..., help="auto or hold")) -> None:
    """Send the list's editions by themselves at the send time (auto), or hold each until approved (hold)."""
    from service.editions.drafts import set_send_mode
    from service.lists.rules import get_list

    with session_scope(get_settings().effective_database_url) as session:
        changed = set_send_mode(session, get_list(session, list_slug), mode.strip().lower(), CLI_ADMIN.name)
    typer.echo(f"{list_slug}: send mode {mode}" + ("" if changed else " (unchanged)"))


COMMANDS: dict[str, Callable[..., None]] = {
    "drop": drop,
    "pin": pin,
    "unpin": unpin,
    "order": order,
    "edit-story": edit_story,
    "intro": intro,
    "approve": approve,
    "send-mode": send_mode,
}

"""`newsletter lists ...`: create and inspect mailing lists."""

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.admin import audit
from service.admin.identity import CLI_ADMIN
from service.core.config import get_settings
from service.core.db import session_scope
from service.editions.drafts import AUTO
from service.lists import changes as list_changes
from service.lists import rules as list_rules

app = typer.Typer(help="Mailing lists.", no_args_is_help=True)
MODE_HELP = "auto: send by itself at the send time; hold: wait until an editor approves each edition"


@app.command()
def create(
    slug: str,
    name: str = typer.Option(..., help="Display name, e.g. 'World News daily'"),
    description: str = typer.Option(""),
    send_time: str = typer.Option("07:00", help="HH:MM in the list's time zone"),
    timezone: str = typer.Option("UTC", help="IANA time zone, e.g. Europe/London"),
    double_opt_in: bool = typer.Option(True, help="Ask new readers to confirm by email"),
    category: list[str] = typer.Option([], "--category", help="Story category to carry (repeatable; none: all)"),
    local_time: bool = typer.Option(False, "--local-time", help="Deliver at the send time in each reader's own zone"),
    language: list[str] = typer.Option(
        ["en"], "--language", help="ISO 639-1 code of the stories to carry (repeatable; default en)"
    ),
    send_mode: str = typer.Option(AUTO, "--send-mode", help=MODE_HELP),
) -> None:
    """Create a list."""
    with session_scope(get_settings().effective_database_url) as session:
        created = list_rules.create_list(
            session,
            slug=slug,
            name=name,
            description=description,
            send_time=list_rules.parse_send_time(send_time),
            timezone=timezone,
            double_opt_in=double_opt_in,
            categories=category,
            local_time_delivery=local_time,
            languages=language,
            send_mode=send_mode,
            actor=CLI_ADMIN.name,
        )
        typer.echo(f"created list {created.slug} (id {created.id}), send mode {created.send_mode}")


@app.command("list")
def list_() -> None:
    """Every list: its send time, categories, languages and confirmed readers."""
    with session_scope(get_settings().effective_database_url) as session:
        rows = list_rules.lists_with_readers(session)
    if not rows:
        typer.echo("no lists yet: create one with `newsletter lists create SLUG --name NAME`")
        return
    table = Table("slug", "name", "sends at", "categories", "languages", "confirmed readers")
    for ml, readers in rows:
        zone = "each reader's zone" if ml.local_time_delivery else ml.timezone
        categories, languages = ", ".join(ml.categories) or "(all)", ", ".join(ml.languages or []) or "(all)"
        slug = ml.slug + (" (archived)" if ml.archived_at else "")
        table.add_row(
            slug,
            escape(ml.name),
            f"{ml.send_time.strftime('%H:%M')} {zone}",
            escape(categories),
            languages,
            str(readers),
        )
    Console().print(table)


@app.command()
def show(slug: str) -> None:
    """Show a list and how many readers it has in each state."""
    with session_scope(get_settings().effective_database_url) as session:
        ml = list_rules.get_list(session, slug)
        counts = list_rules.readers_by_status(session, ml.id)
        table = Table(title=f"{ml.name} ({ml.slug})", show_header=False)
        zone = "each reader's own time zone" if ml.local_time_delivery else ml.timezone
        table.add_row("send time", f"{ml.send_time.strftime('%H:%M')} {zone}")
        table.add_row("double opt-in", "yes" if ml.double_opt_in else "no")
        table.add_row("categories", ", ".join(ml.categories) or "(all)")
        table.add_row("languages", ", ".join(ml.languages or []) or "(all)")
        table.add_row("send mode", ml.send_mode)
        for status, count in sorted(counts.items(), key=lambda item: item[0].value):
            table.add_row(status.value, str(count))
        Console().print(table)


@app.command()
def edit(
    slug: str,
    name: str | None = typer.Option(None, help="Display name"),
    description: str | None = typer.Option(None),
    send_time: str | None = typer.Option(None, help="HH:MM in the list's time zone"),
    timezone: str | None = typer.Option(None, help="IANA time zone, e.g. Europe/London"),
    double_opt_in: bool | None = typer.Option(
        None, "--double-opt-in/--no-double-opt-in", help="Ask new readers to confirm by email"
    ),
    local_time: bool | None = typer.Option(
        None, "--local-time/--list-time", help="Deliver at the send time in each reader's own zone, or the list's"
    ),
    category: list[str] = typer.Option([], "--category", help="Replace the categories (repeatable)"),
    all_categories: bool = typer.Option(False, "--all-categories", help="Carry every category"),
    language: list[str] = typer.Option([], "--language", help="Replace the languages (repeatable)"),
    send_mode: str | None = typer.Option(None, "--send-mode", help=MODE_HELP),
) -> None:
    """Change a list's settings; options not given stay as they are."""
    categories = [] if all_categories else (category or None)
    with session_scope(get_settings().effective_database_url) as session:
        _, changed = list_changes.update_list(
            session,
            slug,
            name=name,
            description=description,
            send_time=send_time,
            timezone=timezone,
            double_opt_in=double_opt_in,
            local_time_delivery=local_time,
            categories=categories,
            languages=language or None,
            send_mode=send_mode,
            actor=CLI_ADMIN.name,
        )
        typer.echo(f"updated list {slug}: " + (", ".join(sorted(changed)) or "nothing changed"))


@app.command()
def archive(slug: str, undo: bool = typer.Option(False, "--undo", help="Open the list again")) -> None:
    """Archive a list: no new readers, no editions, hidden from the public pages (--undo reopens it)."""
    with session_scope(get_settings().effective_database_url) as session:
        (list_changes.unarchive_list if undo else list_changes.archive_list)(session, slug)
        audit.record(
            session,
            actor=CLI_ADMIN.name,
            action="list.unarchive" if undo else "list.archive",
            object_type="list",
            object_id=slug,
        )
        typer.echo(f"{'reopened' if undo else 'archived'} list {slug}")

"""`newsletter subscribers ...`: look readers up, search, import, export, delete and erase them, export their data."""

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from service.core.config import get_settings
from service.core.db import session_scope
from service.core.errors import InvalidInput
from service.ops.startup import sending_settings
from service.readers.subscriptions.lookups import subscriber_by_email
from service.readers.subscriptions.preferences import shown_status

app = typer.Typer(help="Subscribers.", no_args_is_help=True)


@app.command()
def show(email: str) -> None:
    """Print each of an address's subscriptions with its status, e.g. `world-news: confirmed`."""
    with session_scope(get_settings().effective_database_url) as session:
        subscriber = subscriber_by_email(session, email)
        if subscriber is None:
            typer.echo(f"no subscriber with address {email}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{subscriber.email}  name={subscriber.name or '-'}  timezone={subscriber.timezone}")
        if not subscriber.subscriptions:
            typer.echo("(no subscriptions)")
        for subscription in sorted(subscriber.subscriptions, key=lambda s: s.mailing_list.slug):
            typer.echo(f"{subscription.mailing_list.slug}: {shown_status(subscriber, subscription)}")
        _show_bounces(session, subscriber)


def _show_bounces(session, subscriber) -> None:
    """The bounce score, the suppression and its reason (e.g. `suppressed: hard bounce 5.1.1`), the last bounces."""
    from service.bounces.score import bounce_score
    from service.bounces.store import for_subscriber
    from service.mail.suppressions import lookup

    settings = get_settings()
    typer.echo(
        f"bounce score: {bounce_score(session, settings, subscriber.email)} "
        f"(suppressed at {settings.bounce_score_threshold:g})"
    )
    if (found := lookup(session, subscriber.email)) is not None:
        typer.echo(f"suppressed: {found.reason} (since {found.created_at:%Y-%m-%d})")
    from service.core.addresses import address_hash

    for bounce in for_subscriber(session, subscriber.id, address_hash(subscriber.email), limit=5):
        typer.echo(f"bounce {bounce.received_at:%Y-%m-%d %H:%M} {bounce.kind} {bounce.status or '-'}")


@app.command(
    "import",
    epilog="Addresses that unsubscribed or are suppressed are left alone. Importing the same "
    "file again is harmless: nobody is added twice or sent a second confirmation email.",
)
def import_(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="UTF-8 CSV with a header row: email, and optionally name and timezone",
    ),
    list_slug: str = typer.Option(..., "--list", help="The list to add everyone to"),
    confirmed: bool = typer.Option(
        False,
        "--confirmed",
        help="Everyone in the file already agreed to get this list (e.g. you are moving from another service): "
        "store them as confirmed and email nobody. Needs --reason. Without it, each new address gets a "
        "confirmation email and receives nothing until it confirms.",
    ),
    reason: str = typer.Option("", "--reason", help="Why the file is pre-confirmed (kept in the audit log)"),
) -> None:
    """Import a CSV in batches with a progress bar; bad rows are reported by line, known addresses never duplicated."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from service.readers.subscribers.jobs import create_import_job, rejected_rows, run_import_job
    from service.readers.tasks import CeleryNotifier

    settings = get_settings() if confirmed else sending_settings()  # unconfirmed readers get a confirmation email
    with session_scope(settings.effective_database_url) as session, file.open("rb") as handle:
        job = create_import_job(
            session,
            settings,
            list_slug=list_slug,
            filename=file.name,
            source=handle,
            confirmed=confirmed,
            reason=reason,
            created_by="cli",
        )
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        bar = progress.add_task("import", total=job.total_bytes or 1, rows=0)
        job = run_import_job(
            settings,
            job.id,
            notifier=CeleryNotifier(),
            on_progress=lambda seen: progress.update(bar, completed=seen.read_bytes, rows=seen.rows),
        )
    if job.status != "done":
        raise InvalidInput(job.error or "The import failed.")
    console = Console()
    table = Table(title=f"Import into {list_slug}", show_header=False)
    table.add_row("rows read", str(job.rows))
    table.add_row("added" + (" (confirmed)" if confirmed else " (confirmation emails queued)"), str(job.added))
    table.add_row("already on the list or awaiting confirmation", str(job.already))
    table.add_row("unsubscribed earlier, left alone", str(job.kept_unsubscribed))
    table.add_row("suppressed, left out", str(job.suppressed))
    table.add_row("skipped (bad or repeated rows)", str(job.skipped))
    console.print(table)
    for line, why, text in rejected_rows(job):
        console.print(f"  line {line}: {why}" + (f"  [{text}]" if text else ""), highlight=False, markup=False)
    if job.skipped > len(job.rejected):
        console.print(f"  ... and {job.skipped - len(job.rejected)} more rejected rows", highlight=False)


@app.command()
def search(
    query: str = typer.Argument("", help="A fragment of the address or name (any case)"),
    list_slug: str | None = typer.Option(None, "--list", help="Only readers of this list"),
    status: str | None = typer.Option(None, "--status", help="unconfirmed, confirmed, paused or unsubscribed"),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Readers to show, newest first"),
) -> None:
    """Find readers by address or name, optionally on one list and in one status."""
    from service.readers.subscribers.search import search_subscribers

    with session_scope(get_settings().effective_database_url) as session:
        page = search_subscribers(session, query=query, list_slug=list_slug, status=status, limit=limit)
    table = Table("id", "email", "name", "status", "lists", "since")
    for row in page.rows:
        table.add_row(
            str(row.id), row.email, row.name or "-", row.status, ", ".join(row.lists), f"{row.created_at:%Y-%m-%d}"
        )
    console = Console()
    console.print(table)
    if page.next_after is not None:
        console.print(f"more readers: showing the newest {len(page.rows)}", highlight=False)


@app.command()
def export(
    list_slug: str = typer.Argument(..., help="The list to export"),
    status: str | None = typer.Option(None, "--status", help="unconfirmed, confirmed, paused or unsubscribed"),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: stdout)"),
) -> None:
    """Write a list's readers as CSV: email, name, status, subscribed_at, confirmed_at, timezone."""
    import sys

    from service.readers.subscribers.export import export_csv

    with session_scope(get_settings().effective_database_url) as session:
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for line in export_csv(session, list_slug=list_slug, status=status):
                out.write(line)
        finally:
            if output:
                out.close()


@app.command()
def delete(
    email: str = typer.Argument(..., help="The reader's address"),
    yes: bool = typer.Option(False, "--yes", help="Really delete: subscriptions, consent history and deliveries"),
) -> None:
    """Erase a reader and everything stored about them (the audit log keeps only that it happened)."""
    from service.readers.subscribers.actions import delete_subscriber

    if not yes:
        raise InvalidInput("Deleting cannot be undone: add --yes to delete this reader.")
    with session_scope(get_settings().effective_database_url) as session:
        subscriber = subscriber_by_email(session, email)
        if subscriber is None:
            typer.echo(f"no subscriber with address {email}", err=True)
            raise typer.Exit(1)
        delete_subscriber(session, subscriber.id, actor="cli")
    typer.echo(f"deleted {subscriber.email}")


@app.command("export-data")
def export_data(
    email: str = typer.Argument(..., help="The reader's address"),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: stdout)"),
) -> None:
    """Write everything held about a reader as JSON (an access request): profile, consent, deliveries, suppression."""
    import json

    from service.readers.subscribers.data_export import export_subscriber_data

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        subscriber = subscriber_by_email(session, email)
        if subscriber is None:
            typer.echo(f"no subscriber with address {email}", err=True)
            raise typer.Exit(1)
        data = export_subscriber_data(
            session, subscriber.id, actor="cli", retention_days=settings.delivery_retention_days
        )
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def erase(
    email: str = typer.Argument(..., help="The reader's address"),
    yes: bool = typer.Option(False, "--yes", help="Really erase: this cannot be undone"),
) -> None:
    """Erase a reader's personal data; only a hash of the address stays, so it is never mailed again."""
    from service.readers.subscribers.erasure import erase_subscriber

    if not yes:
        raise InvalidInput("Erasing cannot be undone: add --yes to erase this reader.")
    with session_scope(get_settings().effective_database_url) as session:
        subscriber = subscriber_by_email(session, email)
        if subscriber is None:
            typer.echo(f"no subscriber with address {email}", err=True)
            raise typer.Exit(1)
        erased = erase_subscriber(session, subscriber.id, actor="cli")
    typer.echo(
        f"erased subscriber {erased.subscriber_id}: {erased.deliveries_kept} deliveries kept without the "
        "reader; the address is suppressed (as a hash)"
    )

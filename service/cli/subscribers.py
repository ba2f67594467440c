"""`newsletter subscribers ...`: look readers up and import them."""
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from service.config import get_settings
from service.db import session_scope
from service.imports import import_csv, utf8_lines
from service.lists import get_list
from service.subscriptions import shown_status, subscriber_by_email

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


@app.command("import", epilog="Addresses that unsubscribed or are suppressed are left alone. Importing the same "
                                  "file again is harmless: nobody is added twice or sent a second confirmation email.")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="UTF-8 CSV with a header row: email, and optionally name and timezone"),
    list_slug: str = typer.Option(..., "--list", help="The list to add everyone to"),
    confirmed: bool = typer.Option(
        False, "--confirmed",
        help="Everyone in the file already agreed to get this list (e.g. you are moving from another service): "
             "store them as confirmed and email nobody. Without it, each new address gets a confirmation email "
             "and receives nothing until it confirms."),
) -> None:
    """Import a CSV, streamed row by row; bad rows are reported by line, known addresses never duplicated."""
    from service.tasks import CeleryNotifier

    with session_scope(get_settings().effective_database_url) as session, file.open("rb") as handle:
        mailing_list = get_list(session, list_slug)
        report = import_csv(session, utf8_lines(handle), mailing_list=mailing_list, confirmed=confirmed,
                            notifier=CeleryNotifier())
    console = Console()
    table = Table(title=f"Import into {list_slug}", show_header=False)
    table.add_row("rows read", str(report.rows))
    table.add_row("added" + (" (confirmed)" if confirmed else " (confirmation emails queued)"), str(report.added))
    table.add_row("already on the list or awaiting confirmation", str(report.already))
    table.add_row("unsubscribed earlier, left alone", str(report.kept_unsubscribed))
    table.add_row("suppressed, left out", str(report.suppressed))
    table.add_row("skipped (bad or repeated rows)", str(len(report.skipped)))
    console.print(table)
    for line, reason in report.skipped:
        console.print(f"  line {line}: {reason}", highlight=False, markup=False)

"""`newsletter editions ...`: build a list's edition for a day and preview it as a reader would get it."""

from pathlib import Path

import typer
from rich.console import Console

from service.admin import audit
from service.admin.identity import CLI_ADMIN
from service.cli.drafts import COMMANDS, _day
from service.core.config import get_settings
from service.core.db import session_scope
from service.delivery import actions
from service.editions import build_edition, edition_stories
from service.lists.rules import get_list
from service.ops.startup import sending_settings

app = typer.Typer(help="Daily editions.", no_args_is_help=True)


@app.command()
def build(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Assemble the day's draft again from the current stories (a started edition is shown as it is) and print it."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        target = _day(day, mailing_list)
        edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=target, freeze=False)
        if edition is None:
            typer.echo(f"no stories for {list_slug} on {target}: edition skipped")
            raise typer.Exit(0)
        console = Console(highlight=False, markup=False, soft_wrap=True)  # titles are data: no markup, no wrapping
        state = "draft" if edition.is_draft else ("approved" if edition.send_status == "draft" else edition.send_status)
        console.print(f"edition {edition.id}: {edition.subject} ({state}, version {edition.version})")
        for position, story in enumerate(edition_stories(session, edition), start=1):
            console.print(f"  {position:2}. [{story.source_count} sources] {story.title}")


@app.command()
def preview(
    list_slug: str = typer.Option(..., "--list"),
    day: str = typer.Option(None, "--date"),
    out: Path = typer.Option(..., "--out", help="Where to write the .eml"),
) -> None:
    """Write the complete message a sample subscriber would receive (an edition not yet built stays unbuilt)."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        target = _day(day, mailing_list)
        message = actions.preview(session, settings, mailing_list, target)
        if message is None:
            typer.echo(f"no stories for {list_slug} on {target}: nothing to preview", err=True)
            raise typer.Exit(1)
    out.write_bytes(message.as_bytes())
    html_part = message.get_body(("html",))
    html = html_part.get_content() if html_part is not None else ""
    typer.echo(f"wrote {out} ({out.stat().st_size} bytes; HTML part {len(html.encode())} bytes)")


@app.command("send-test")
def send_test(
    list_slug: str = typer.Option(..., "--list"),
    day: str = typer.Option(None, "--date"),
    to: str = typer.Option(..., "--to", help="The address to send the test to"),
) -> None:
    """Mail the day's edition, marked [Test], to one address (nothing is built or recorded)."""
    settings = sending_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        sent_to = actions.send_test(session, settings, mailing_list, _day(day, mailing_list), to)
    typer.echo(f"test of {list_slug} sent to {sent_to}")


@app.command()
def send(
    list_slug: str = typer.Option(..., "--list"),
    day: str = typer.Option(None, "--date"),
    watch: bool = typer.Option(False, "--watch", help="Show a progress bar until the edition is sent"),
) -> None:
    """Start sending the list's edition for the day now (builds it if needed); workers do the sending."""
    from service.tasks import start_drains

    settings = sending_settings()
    with session_scope(settings.effective_database_url) as session:
        mailing_list = get_list(session, list_slug)
        target = _day(day, mailing_list)
        started = actions.send_now(session, settings, mailing_list, target, start_drains)
        if started is None:
            typer.echo(f"no stories for {list_slug} on {target}: nothing to send", err=True)
            raise typer.Exit(1)
        edition = started.edition
        if started.planned is None:
            typer.echo(f"edition {edition.id} was already started ({edition.send_status}); triggering workers again")
        else:
            typer.echo(f"edition {edition.id} started: {started.planned} readers planned")
        edition_id = edition.id
    if watch:
        _watch(settings, edition_id)


def _watch(settings, edition_id: int, every: float = 0.5) -> None:
    """A progress bar from the ledger's figures until the edition stops sending; Ctrl-C stops watching only."""
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from service.ops.monitoring.figures import edition_figures

    console = Console(stderr=True, highlight=False)
    with Progress(
        TextColumn(f"edition {edition_id}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TextColumn("{task.fields[words]}"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("send", total=1, words="")
        try:
            while True:
                with session_scope(settings.effective_database_url) as session:
                    figures = edition_figures(session, edition_id)
                progress.update(
                    bar,
                    total=figures.planned or 1,
                    completed=figures.done,
                    words=(f"{figures.sent} sent, {figures.failed} failed, {figures.retrying} retrying"),
                )
                if figures.send_status != "sending":
                    break
                time.sleep(every)
        except KeyboardInterrupt:
            console.print("stopped watching; the workers carry on sending")
            return
    typer.echo(
        f"edition {edition_id} {figures.send_status}: {figures.sent} sent, {figures.failed} failed, "
        f"{figures.skipped} skipped of {figures.planned} planned"
    )


@app.command()
def status(limit: int = typer.Option(20, help="How many recent editions")) -> None:
    """Planned, pending, sent and failed deliveries per edition."""
    from rich.table import Table

    from service.core.db import engine_for
    from service.delivery.control import statuses

    settings = get_settings()
    table = Table(
        "id", "list", "date", "status", "planned", "pending", "sending", "sent", "failed", "skipped", "policy (ops)"
    )
    with engine_for(settings.effective_database_url).connect() as conn:
        for row in statuses(conn, limit):
            counts = row["counts"]
            table.add_row(
                str(row["id"]),
                row["slug"],
                str(row["edition_date"]),
                row["send_status"],
                str(row["planned"]),
                *(str(counts.get(k, 0)) for k in ("pending", "sending", "sent", "failed", "skipped", "policy")),
            )
    Console(highlight=False, width=140).print(table)


def _edition_id(list_slug: str, day: str | None) -> int:
    """The id of a list's built edition for the day."""
    with session_scope(get_settings().effective_database_url) as session:
        return actions.edition_of(session, list_slug, _day(day, get_list(session, list_slug))).id


@app.command()
def pause(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Stop sending after the batches in flight; resume carries on where it stopped."""
    edition_id = _edition_id(list_slug, day)
    actions.pause(get_settings(), edition_id)
    with session_scope(get_settings().effective_database_url) as session:
        audit.record(
            session,
            actor=CLI_ADMIN.name,
            action="edition.pause",
            object_type="edition",
            object_id=edition_id,
            details={"list": list_slug},
        )
    typer.echo(f"edition {edition_id} paused")


@app.command()
def resume(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Carry on sending a paused edition."""
    from service.tasks import start_drains

    edition_id = _edition_id(list_slug, day)
    retried = actions.resume(sending_settings(), edition_id, start_drains)
    with session_scope(get_settings().effective_database_url) as session:
        audit.record(
            session,
            actor=CLI_ADMIN.name,
            action="edition.resume",
            object_type="edition",
            object_id=edition_id,
            details={"list": list_slug, **({"affected": retried} if retried else {})},
        )
    typer.echo(
        f"edition {edition_id} resumed"
        + (f"; {retried} readers refused for our sending setup are tried again" if retried else "")
    )


@app.command()
def cancel(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Stop an edition for good: readers not yet mailed will not get it."""
    edition_id = _edition_id(list_slug, day)
    typer.echo(
        f"edition {edition_id} cancelled; {actions.cancel(get_settings(), edition_id)} pending deliveries dropped"
    )


@app.command()
def retry(list_slug: str = typer.Option(..., "--list"), day: str = typer.Option(None, "--date")) -> None:
    """Send again to readers whose delivery failed (not to unknown or unusable addresses)."""
    from service.tasks import start_drains

    edition_id = _edition_id(list_slug, day)
    typer.echo(
        f"edition {edition_id}: {actions.retry_failed(sending_settings(), edition_id, start_drains)} failed "
        "deliveries queued again"
    )


for _name, _command in COMMANDS.items():
    app.command(_name)(_command)

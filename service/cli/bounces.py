"""`newsletter bounces ...`: take in one bounce from an MTA pipe, poll the IMAP mailbox, list and review bounces."""

import sys

import typer
from rich.console import Console
from rich.table import Table

from service.core.config import get_settings
from service.core.db import session_scope
from service.core.errors import InvalidInput

app = typer.Typer(help="Bounces and complaints.", no_args_is_help=True)


@app.command()
def ingest(
    envelope_to: str | None = typer.Option(
        None, "--envelope-to", help="The envelope recipient the MTA got it for (Postfix: ${recipient})"
    ),
) -> None:
    """Read one raw bounce or complaint on stdin, store it and apply it (for an MTA pipe; exit 0 when stored)."""
    from service.bounce_intake.process import ingest as take_in

    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise InvalidInput("no message on stdin: pipe one raw bounce or complaint into `newsletter bounces ingest`")
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        taken = take_in(
            session, raw, settings=settings, source="cli", envelope_to=envelope_to.strip() if envelope_to else None
        )
        session.commit()
    for item in taken:
        typer.echo(
            f"{item.kind} {item.recipient or '-'} {item.status or '-'} matched by {item.matched_by}: {item.action}"
            if not item.duplicate
            else "duplicate: this message was taken in before"
        )


@app.command()
def poll() -> None:
    """Take in what waits in the IMAP mailbox (BOUNCE_IMAP_URL) now, as beat does every few minutes."""
    from service.bounce_intake.imap import poll_mailbox

    settings = get_settings()
    if not settings.bounce_imap_url:
        raise InvalidInput("BOUNCE_IMAP_URL is not set (e.g. imaps://user:pass@host/INBOX)")
    typer.echo(f"{poll_mailbox(settings)} messages taken in")


@app.command("list")
def list_(limit: int = typer.Option(30, "--limit", min=1, max=1000, help="Bounces to show, newest first")) -> None:
    """The latest bounces and complaints: kind, status, how they were matched, and to which delivery."""
    from service.bounces.store import recent

    with session_scope(get_settings().effective_database_url) as session:
        rows = recent(session, limit=limit)
    table = Table("id", "received", "kind", "status", "matched", "delivery", "subscriber", "diagnostic")
    for row in rows:
        table.add_row(
            str(row.id),
            f"{row.received_at:%Y-%m-%d %H:%M}",
            row.kind,
            row.status or "-",
            row.matched_by,
            str(row.delivery_id or "-"),
            str(row.subscriber_id or "-"),
            (row.diagnostic or "")[:60],
        )
    Console(width=160).print(table)


@app.command()
def review(
    limit: int = typer.Option(30, "--limit", min=1, max=500, help="Held reports to show, newest first"),
    show: int | None = typer.Option(None, "--show", min=1, help="Print one held report's message as it came in"),
) -> None:
    """Reports held for review: not proven by a VERP token or Message-ID of ours (or unreadable), never applied."""
    from service.bounces.store import held, held_one

    with session_scope(get_settings().effective_database_url) as session:
        if show is not None:
            found = held_one(session, show)
            if found is None:
                raise InvalidInput(f"no bounce report held for review has id {show}")
            row, raw = found
            typer.echo(
                f"held report {row.id}, {row.received_at:%Y-%m-%d %H:%M} by {row.source}: {row.review} "
                f"({row.kind} {row.status or '-'})"
            )
            typer.echo(raw or "(no text kept)")
            return
        rows = held(session, limit=limit).rows
    if not rows:
        typer.echo("no report is held for review")
        return
    table = Table("id", "received", "why held", "kind", "status", "from", "diagnostic")
    for row in rows:
        table.add_row(
            str(row.id),
            f"{row.received_at:%Y-%m-%d %H:%M}",
            row.review or "",
            row.kind,
            row.status or "-",
            row.source,
            (row.diagnostic or "")[:60],
        )
    Console(width=160).print(table)
    typer.echo("held reports changed nobody; `newsletter bounces review --show ID` prints one")


@app.command()
def refusals(days: int = typer.Option(7, "--days", min=1, max=90, help="How far back")) -> None:
    """Receivers refusing our setup (5.7.x: SPF, DKIM, DMARC, rDNS, block lists) per edition and domain: for ops."""
    from datetime import timedelta

    from service.bounces.store import policy_refusals
    from service.models import utcnow

    with session_scope(get_settings().effective_database_url) as session:
        rows = policy_refusals(session, since=utcnow() - timedelta(days=days))
    if not rows:
        typer.echo(f"no refusal of our setup reported in {days} days")
        return
    table = Table("edition", "receiving domain", "refusals", "status", "last")
    for row in rows:
        table.add_row(
            str(row.edition_id or "-"), row.domain, str(row.count), row.status or "-", f"{row.last_at:%Y-%m-%d %H:%M}"
        )
    Console(width=160).print(table)
    typer.echo("these readers were not suppressed: check SPF, DKIM, DMARC, reverse DNS and block lists")

"""`newsletter status`: the whole service at a glance for ops, as tables or JSON; exit 1 when something is wrong."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.core.config import get_settings
from service.ops.monitoring.status import Status, snapshot


def status(as_json: bool = typer.Option(False, "--json", help="The same facts as one JSON object.")) -> None:
    """Queues, workers, beat, each list's next send, editions in progress, stuck leases, last errors and checks."""
    found = snapshot(get_settings())
    if as_json:
        typer.echo(json.dumps(found.as_json(), indent=2))
    else:
        show(found, Console())
    raise typer.Exit(0 if found.healthy else 1)


def _ago(delta: timedelta | None) -> str:
    """'42 s ago', '3 min ago', or 'never'."""
    if delta is None:
        return "never"
    seconds = int(delta.total_seconds())
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def _when(moment: datetime | None, now: datetime) -> str:
    """A moment in UTC with how far away it is."""
    if moment is None:
        return "-"
    seconds = (moment - now).total_seconds()
    minutes = int(seconds // 60)
    if seconds <= 0:
        away = "now"
    elif minutes == 0:
        away = "in under a minute"
    else:
        away = f"in {minutes} min" if minutes < 120 else f"in {minutes // 60} h {minutes % 60} min"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({away})"


def _bar(progress: float, width: int = 20) -> str:
    """A text progress bar: █████████░░░░░░░░░░░ 45%."""
    filled = round(progress * width)
    return f"{'█' * filled}{'░' * (width - filled)} {progress:.0%}"


def show(found: Status, console: Console) -> None:
    """Print the snapshot as rich tables, problems first."""
    if found.problems:
        console.print("[bold red]UNHEALTHY[/]")
        for problem in found.problems:
            console.print(f"  [red]- {escape(problem)}[/]")
    else:
        console.print("[bold green]HEALTHY[/]")
    checks = Table("check", "state", "latency", "checked", "error", title="Checks")
    for check in found.checks:
        asked = _ago(found.at - check.checked_at) if check.checked_at else "now"
        checks.add_row(
            check.name,
            "[green]up[/]" if check.ok else "[red]down[/]",
            f"{check.latency_ms:.0f} ms",
            asked,
            escape(check.error or ""),
        )
    console.print(checks)
    queues = Table("queue", "waiting", title=f"Queues ({found.queues.broker} broker)")
    for name, depth in found.queues.depths.items():
        queues.add_row(name, str(depth))
    if found.queues.unacked is not None:
        queues.add_row("(unacked)", str(found.queues.unacked))
    if found.queues.error:
        queues.add_row("[red]broker down[/]", escape(found.queues.error))
    console.print(queues)
    pinged = f", checked {_ago(found.at - found.workers.checked_at)}" if found.workers.checked_at else ""
    title = f"Workers ({len(found.consuming_workers)} online on {found.task_queue!r}{pinged})"
    workers = Table("worker", "queues", title=title, min_width=len(title))  # the title on one line, not wrapped
    for name, names in sorted(found.workers.online.items()):
        workers.add_row(escape(name), escape(", ".join(names)))
    if not found.workers.online:
        workers.add_row("[red]none online[/]", escape(found.workers.error or ""))
    console.print(workers)
    beats = Table("heartbeat", "last seen", title="Beat")
    for name in ("beat", "sweeper"):
        seen = found.heartbeats.get(name)
        beats.add_row(name, f"{seen:%Y-%m-%d %H:%M:%S} UTC ({_ago(found.at - seen)})" if seen else "never")
    console.print(beats)
    sends = Table("list", "name", "today's edition", "next send", title="Next sends")
    for send in found.next_sends:
        when = _when(send.at, found.at) + (" - due, catching up at the next dispatch tick" if send.catching_up else "")
        sends.add_row(
            escape(send.list_slug),
            escape(send.name),
            send.today_status or "not built yet",
            f"{when} for {send.edition_date}",
        )
    console.print(sends)
    editions = Table(
        "edition",
        "status",
        "planned",
        "sent",
        "failed",
        "retrying",
        "progress",
        "rate",
        "ETA",
        title="Editions today and in progress",
    )
    for e in found.editions:
        editions.add_row(
            escape(f"{e.list_slug} {e.edition_date} (#{e.edition_id})"),
            e.send_status,
            str(e.planned),
            str(e.sent),
            str(e.failed),
            str(e.retrying),
            _bar(e.progress),
            f"{e.rate_per_minute:.0f}/min" if e.rate_per_minute else "-",
            _when(e.eta, found.at),
        )
    console.print(editions)
    console.print(f"Stuck leases: {'[red]' if found.stuck_leases else ''}{found.stuck_leases}")
    if found.failures:
        failures = Table("edition", "reader", "kind", "SMTP reply", title="Last failures")
        for failure in found.failures:
            failures.add_row(
                escape(f"{failure.list_slug} {failure.edition_date}"),
                escape(failure.email),
                failure.failure_kind or "",
                escape(failure.smtp_reply or ""),
            )
        console.print(failures)

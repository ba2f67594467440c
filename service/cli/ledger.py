"""`newsletter ledger ...`: the delivery ledger's upkeep (retention: roll old editions up, delete their rows)."""

import typer

from service.core.config import get_settings
from service.core.db import engine_for
from service.models import utcnow

app = typer.Typer(help="The delivery ledger.", no_args_is_help=True)


@app.command()
def prune(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say which editions and how many rows"),
    days: int | None = typer.Option(
        None, "--days", min=1, help="Retention for this run [default: DELIVERY_RETENTION_DAYS]"
    ),
) -> None:
    """Roll up finished editions older than the retention window, then delete their delivery rows in batches."""
    from service.delivery.retention import prune as prune_ledger

    settings = get_settings()
    keep = days if days is not None else settings.delivery_retention_days
    report = prune_ledger(
        engine_for(settings.effective_database_url),
        now=utcnow(),
        retention_days=keep,
        batch_size=settings.delivery_prune_batch_size,
        dry_run=dry_run,
    )
    if report.cutoff is None:
        typer.echo("DELIVERY_RETENTION_DAYS is 0: every delivery row is kept, nothing to prune")
        return
    verb = "would be rolled up" if dry_run else "rolled up"
    for pruned in report.editions:
        how = verb if pruned.rolled_up or dry_run else "rolled up before"
        typer.echo(
            f"edition {pruned.edition_id} ({pruned.list_slug}, {pruned.edition_date}): {how}, "
            f"{pruned.rows} delivery rows {'to delete' if dry_run else 'deleted'}"
        )
    typer.echo(
        f"{len(report.editions)} editions, {report.rows} delivery rows {'to delete' if dry_run else 'deleted'}"
        f" in {report.seconds:.1f} s (retention {keep} days: finished editions before {report.cutoff})"
    )

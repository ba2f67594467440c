"""`newsletter feeds ...`: register RSS/Atom feeds, list them, and poll them for stories."""

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.admin import audit
from service.admin.identity import CLI_ADMIN
from service.core.config import get_settings
from service.core.db import session_scope
from service.models import utcnow
from service.models.stories import shown_url
from service.stories.feeds import intake as feed_rules
from service.stories.feeds.status import freshness, publisher_of

app = typer.Typer(help="RSS and Atom feeds that stories are taken in from.", no_args_is_help=True)


@app.command()
def add(
    url: str = typer.Argument(..., help="http:// or https:// address of an RSS 2.0 or Atom feed"),
    category: str = typer.Option("World News", help="Category its stories are filed under"),
    publisher: str = typer.Option(
        "",
        help="The publisher's name its items show (default: the name the feed "
        "gives; items with their own <source> keep it)",
    ),
) -> None:
    """Add a feed (adding a known URL again changes its category and publisher); it is fetched on the next poll."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        feed = feed_rules.add_feed(
            session, url=url, category=category, publisher=publisher or None, allow_private=settings.feed_allow_private
        )
        typer.echo(f"feed {feed.id}: {feed.shown_url} ({feed.category})")


@app.command()
def remove(url: str = typer.Argument(..., help="The feed's URL as shown by `feeds list`")) -> None:
    """Stop polling a feed; stories it already brought in stay."""
    with session_scope(get_settings().effective_database_url) as session:
        removed = feed_rules.remove_feed(session, url)
    shown = shown_url(url)
    typer.echo(f"removed {shown}" if removed else f"no feed with URL {shown}")
    if not removed:
        raise typer.Exit(1)


@app.command()
def edit(
    feed_id: int = typer.Argument(..., help="The feed's id as shown by `feeds list`"),
    publisher: str = typer.Option(
        ...,
        help='The publisher\'s name its items show; "" goes back to the name '
        "the feed gives. Its stored items and their stories follow.",
    ),
    category: str = typer.Option("", help="Category its stories are filed under (default: unchanged)"),
) -> None:
    """Name a feed's publisher (or change its category); what readers see of its stored items changes at once."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        feed = feed_rules.get_feed(session, feed_id)
        before = {"category": feed.category, "publisher": feed.publisher}
        feed = feed_rules.update_feed(
            session,
            feed_id,
            url=feed.url,
            category=category or feed.category,
            publisher=publisher or None,
            allow_private=settings.feed_allow_private,
        )
        after = {"category": feed.category, "publisher": feed.publisher}
        audit.record(
            session,
            actor=CLI_ADMIN.name,
            action="feed.update",
            object_type="feed",
            object_id=feed.id,
            details={key: [before[key], after[key]] for key in after if before[key] != after[key]} | {"via": "cli"},
        )
        typer.echo(
            f"feed {feed.id}: publisher {publisher_of(feed)}{'' if feed.publisher else ' (the feed’s own)'}, "
            f"category {feed.category}"
        )


@app.command("list")
def list_() -> None:
    """Every feed with its publisher name, its newest item (and "stale" when that is old) and its last poll."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        feeds = feed_rules.list_feeds(session)
        now = utcnow()
        rows = [(f, publisher_of(f), freshness(f, now, settings.feed_stale_days)) for f in feeds]
    table = Table("id", "feed", "category", "newest item (UTC)", "last poll (UTC)", "failures", "error")
    for f, name, fresh in rows:
        polled = f.last_polled_at.strftime("%Y-%m-%d %H:%M") if f.last_polled_at else "never"
        newest = fresh.newest_item_at.strftime("%Y-%m-%d %H:%M") if fresh.newest_item_at else "none yet"
        label = name if f.publisher or f.site_name else "(no title yet)"
        titled = f"\n({f.title})" if f.title and f.title != label else ""
        table.add_row(
            str(f.id),
            escape(f"{label}{titled}\n{f.shown_url}"),
            escape(f.category),
            newest + ("\n[red]stale[/red]" if fresh.stale else ""),
            f"{f.last_status}\n{polled}",
            str(f.consecutive_failures),
            escape(f.last_error or ""),
        )
    for column in table.columns:
        column.overflow = "fold"
    Console().print(table)


@app.command(
    epilog="Exit status: 1 when any feed failed (the other feeds' stories are stored all the same, and "
    "each failure is recorded on its feed, see `feeds list`); 0 otherwise, also with no feeds."
)
def poll() -> None:
    """Fetch every feed now (conditional GET) and group its items into stories; prints what each feed brought."""
    from service.stories.items import clusterer_from

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        results = feed_rules.poll_all(
            session, clusterer=clusterer_from(settings), allow_private=settings.feed_allow_private
        )
    console = Console(highlight=False)
    if not results:
        console.print('no feeds yet: add one with `newsletter feeds add URL --category "World News"`')
        return
    table = Table("feed", "status", "new items", "seen before", "skipped items / error")
    for r in results:
        status = f"[red]{r.status}[/red]" if r.error else r.status
        table.add_row(
            escape(r.title or shown_url(r.url)), status, str(r.created), str(r.updated), escape(r.error or "")
        )
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)
    failed = sum(1 for r in results if r.status == "error")
    console.print(
        f"{len(results)} feeds polled: {sum(r.created for r in results)} new items, "
        f"{sum(r.updated for r in results)} seen before, {failed} failed"
    )
    if failed:
        raise typer.Exit(1)

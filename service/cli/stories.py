"""`newsletter stories ...`: take stories in from files and folders, list them and show one."""

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.core.config import get_settings
from service.core.db import session_scope
from service.core.errors import UnknownPage
from service.stories import recent_stories, story_as_json
from service.stories.files import import_story_files
from service.stories.store import find_story

app = typer.Typer(help="Stories.", no_args_is_help=True)


@app.command("import")
def import_(paths: list[Path] = typer.Argument(..., help="Seed-format .txt files, .json files, or folders")) -> None:
    """Import story files; a malformed file is reported with its line and the others still go in."""
    with session_scope(get_settings().effective_database_url) as session:
        report = import_story_files(session, paths)
    console = Console(highlight=False, soft_wrap=True)  # one line per story or error, never wrapped mid-message
    for path, title, created in report.stored:  # titles and paths are data: "[...]" in them is not markup
        console.print(f"{'imported' if created else 'updated '}  {escape(title)}  [dim]({escape(path)})[/dim]")
    for error in report.errors:
        console.print(f"[red]error[/red]     {escape(error)}")
    console.print(f"{len(report.stored)} stories stored, {len(report.errors)} files with errors")
    if report.errors:
        raise typer.Exit(1)


def _all_when_huge(limit: int) -> int | None:
    """0, or more stories than any database holds, means all of them (SQLite cannot even bind such a number)."""
    return limit if 0 < limit <= 2**62 else None


@app.command("list")
def list_(
    limit: int = typer.Option(50, min=0, help="How many, freshest first; 0 for all"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """The freshest stories with their sources and items."""
    with session_scope(get_settings().effective_database_url) as session:
        stories = recent_stories(session, _all_when_huge(limit))
        if as_json:
            typer.echo(json.dumps([story_as_json(s) for s in stories], ensure_ascii=False, indent=2))
            return
        table = Table("id", "date", "category", "sources", "items", "title")
        for s in stories:
            table.add_row(
                str(s.id),
                s.story_date.isoformat() if s.story_date else "-",
                escape(s.category),
                str(s.source_count),
                str(len(s.items)),
                escape(s.title),
            )
    Console().print(table)


@app.command("show")
def show(
    story_id: int = typer.Argument(..., help="The story's id, as `stories list` shows it"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """One story with its key points, sources and items."""
    with session_scope(get_settings().effective_database_url) as session:
        try:
            data = story_as_json(find_story(session, story_id))
        except UnknownPage as error:
            raise UnknownPage(f"{error.message} `newsletter stories list` shows their ids.") from None
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print_story(Console(highlight=False), data)


def _print_story(console: Console, data: dict) -> None:
    """A story for people: headline, points, sources one per publisher, then every item (text is data, not markup)."""
    console.print(f"[bold]{escape(data['title'])}[/bold]")
    console.print(
        f"[dim]#{data['id']} · {escape(data['category'])} · {data['date'] or 'undated'} · "
        f"{data['source_count']} sources · {len(data['items'])} items[/dim]"
    )
    for point in data["key_points"]:
        said = f" — {point['publisher']}" if point["publisher"] else ""
        console.print(f"  • {escape(point['text'] + said)}")
    sources = Table("publisher", "title", "url", title="Sources", title_justify="left")
    for source in data["sources"]:
        sources.add_row(escape(source["publisher"] or ""), escape(source["title"] or ""), escape(source["url"] or ""))
    console.print(sources)
    items = Table("published", "publisher", "title", "url", title="Items", title_justify="left")
    for item in data["items"]:
        items.add_row(
            item["published"] or "-", escape(item["publisher"]), escape(item["title"]), escape(item["url"] or "")
        )
    console.print(items)

"""`newsletter stories ...`: take stories in from files and folders, and list them."""
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.config import get_settings
from service.db import session_scope
from service.stories import recent_stories
from service.story_import import import_story_files

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


@app.command("list")
def list_(limit: int = typer.Option(50, help="How many, newest first"),
          as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """The newest stories."""
    with session_scope(get_settings().effective_database_url) as session:
        stories = recent_stories(session, limit)
    if as_json:
        typer.echo(json.dumps([{
            "id": s.id, "title": s.title, "date": s.story_date.isoformat() if s.story_date else None,
            "category": s.category, "key_points": s.key_points, "source_count": s.source_count,
            "sources": s.sources, "link": s.link, "origin": s.origin, "origin_ref": s.origin_ref,
            "external_id": s.external_id, "received_at": s.received_at.isoformat(),
            "updated_at": s.updated_at.isoformat() if s.updated_at else None,
        } for s in stories], ensure_ascii=False, indent=2))
        return
    table = Table("id", "date", "category", "sources", "title", "origin")
    for s in stories:
        table.add_row(str(s.id), s.story_date.isoformat() if s.story_date else "-", escape(s.category),
                      str(s.source_count), escape(s.title), s.origin)
    Console().print(table)

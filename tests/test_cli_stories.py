"""`newsletter stories list` and `stories show`: every story's sources and member items, for admins and scripts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from service.cli import app as cli_app
from tests.support.cli import Ran, run_newsletter
from tests.support.edition_stories import add_story
from tests.test_story_pages import ITEMS, multi_source_story


def newsletter(*args: str) -> Ran:
    """Run the `newsletter` command as an admin would (its real entry point, in-process; wide, uncoloured)."""
    return run_newsletter(*args, env={"COLUMNS": "250", "NO_COLOR": "1"})


def test_list_json_gives_sources_and_every_item(db, settings):
    story = multi_source_story(db)
    for number in range(60):  # more than the default of 50
        add_story(db, f"Filler story {number}", sources=1)

    result = CliRunner().invoke(cli_app, ["stories", "list", "--json", "--limit", "1000"])

    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 61, "--limit takes any size"
    ours = next(row for row in rows if row["id"] == story.id)
    assert ours["source_count"] == 3
    assert ours["sources"] == [{"publisher": p, "title": t, "url": u} for p, t, u, _ in (ITEMS[0], ITEMS[1], ITEMS[3])]
    assert [(i["publisher"], i["title"], i["url"]) for i in ours["items"]] == [(p, t, u) for p, t, u, _ in ITEMS]
    assert all(item["published"].startswith("2026-03-06T") for item in ours["items"])
    assert len(json.loads(CliRunner().invoke(cli_app, ["stories", "list", "--json", "--limit", "0"]).output)) == 61
    huge = CliRunner().invoke(cli_app, ["stories", "list", "--json", "--limit", str(10**30)])
    assert huge.exit_code == 0 and len(json.loads(huge.output)) == 61, "a huge limit is all, not an overflow"
    assert len(json.loads(CliRunner().invoke(cli_app, ["stories", "list", "--json", "--limit", "2"]).output)) == 2


def test_list_as_a_table(db, settings):
    story = multi_source_story(db, "Markets [bold]rally[/bold] & more")

    result = newsletter("stories", "list")

    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "title" in line)
    assert [word for word in header.replace("┃", " ").split()] == [
        "id",
        "date",
        "category",
        "sources",
        "items",
        "title",
    ]
    row = next(line for line in result.stdout.splitlines() if "Markets" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == [
        str(story.id),
        "2026-03-06",
        "World News",
        "3",
        "4",
        "Markets [bold]rally[/bold] & more",
    ]


def test_show_one_story_for_people_and_as_json(db, settings):
    story = multi_source_story(db)

    shown = newsletter("stories", "show", str(story.id))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "India and Japan strengthen ties" in out and "3 sources · 4 items" in out
    assert all(f"{point['text']} — {point['publisher']}" in out for point in story.points()), "who said each point"
    assert out.index("Sources") < out.index("Items")
    assert all(headline in out and publisher in out for publisher, headline, _, _ in ITEMS)

    as_json = CliRunner().invoke(cli_app, ["stories", "show", str(story.id), "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["id"] == story.id and data["key_points"] == story.points() and len(data["items"]) == 4


def test_show_an_unknown_story_is_one_line_and_exit_code_2(db, settings):
    multi_source_story(db)

    result = newsletter("stories", "show", "987654")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: There is no story '987654'. `newsletter stories list` shows their ids."
    ]
    assert result.stdout == ""
    too_big = newsletter("stories", "show", "2147483648")
    assert too_big.returncode == 2 and too_big.stderr.startswith("error: There is no story '2147483648'.")

"""`newsletter stories import` and `stories list` on SQLite and PostgreSQL (installed command once, then in-process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from service.core.config import REPO_ROOT
from service.models import Story
from tests.support.cli import Ran, run_newsletter

SEED = REPO_ROOT / "demo" / "stories" / "000_17749a4977b85c87.txt"
SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_TITLE = SEED_TEXT.splitlines()[0]
NEWSLETTER = Path(sys.executable).with_name("newsletter")


def newsletter(service_env, *args: str, installed: bool = False) -> subprocess.CompletedProcess | Ran:
    """Run `newsletter` with the test environment: its real entry point in-process, or (`installed`) the command the
    virtual environment installed, as its own process."""
    if not installed:
        return run_newsletter(*map(str, args), env={"NO_COLOR": "1", "COLUMNS": "80"})
    env = {**os.environ, **service_env, "NO_COLOR": "1", "COLUMNS": "80"}
    return subprocess.run(
        [str(NEWSLETTER), *map(str, args)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def story(
    title: str,
    date_line: str = "March 6, 2026",
    points=("One point.", "Another point."),
    count: int = 2,
    category: str = "World News",
    sources=(("Reuters", "An article"), ("AP", "Another article")),
) -> str:
    """A story file's text in the seed format."""
    lines = [
        title,
        date_line,
        *points,
        f"Summary based on {count} source{'s' if count != 1 else ''}",
        f"Get a daily email with more {category} stories",
        "Sources",
        "",
    ]
    for publisher, article in sources:
        lines += [publisher, article]
    return "\n".join(lines) + "\n"


def stored(db) -> dict[str, Story]:
    """The stored stories by title, read fresh."""
    db.expire_all()
    rows = {row.title: row for row in db.scalars(select(Story))}
    db.commit()
    return rows


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder of story files as an editor would leave it: good ones, a malformed one, and clutter."""
    root = tmp_path / "incoming"
    (root / "asia").mkdir(parents=True)
    (root / "000_seed.txt").write_text(SEED_TEXT, encoding="utf-8")
    (root / "010_zurich.txt").write_bytes(
        story(
            "Zürich and Kyiv — Київ: talks resume",
            points=["東京で首脳会談が開かれた。"],
            count=1,
            sources=[("Neue Zürcher Zeitung", "Gespräche in Zürich")],
        )
        .replace("\n", "\r\n")
        .encode("utf-8-sig")
    )
    (root / "020_broken.txt").write_text(story("Broken story", date_line="Marhc 6, 2026"), encoding="utf-8")
    (root / "asia" / "030_markets.txt").write_text(
        story("Markets [update] close higher [/x]", category="Business").replace("\n", "   \n"), encoding="utf-8"
    )
    (root / "README.md").write_text("not a story\n", encoding="utf-8")
    return root


@pytest.mark.processes
def test_folder_import_keeps_good_files_and_names_the_bad_one(service_env, db, folder):
    result = newsletter(service_env, "stories", "import", folder, installed=True)
    assert result.returncode == 1, "errors make the exit status non-zero"
    out = result.stdout
    assert f"imported  {SEED_TITLE}" in out
    assert "imported  Zürich and Kyiv — Київ: talks resume" in out
    assert "imported  Markets [update] close higher [/x]" in out, "titles are printed as they are, not as markup"
    assert (
        f"error     {folder / '020_broken.txt'}, line 2: expected a date like 'March 6, 2026', found "
        "'Marhc 6, 2026'" in out
    )
    assert "3 stories stored, 1 files with errors" in out
    assert "README" not in out

    rows = stored(db)
    assert set(rows) == {SEED_TITLE, "Zürich and Kyiv — Київ: talks resume", "Markets [update] close higher [/x]"}
    zurich = rows["Zürich and Kyiv — Київ: talks resume"]
    assert (zurich.source_count, zurich.key_points, zurich.origin) == (1, ["東京で首脳会談が開かれた。"], "file")
    assert zurich.origin_ref == str(folder / "010_zurich.txt")
    assert rows["Markets [update] close higher [/x]"].category == "Business"
    assert rows[SEED_TITLE].source_count == 11 and len(rows[SEED_TITLE].key_points) == 12


def test_importing_again_updates_instead_of_duplicating(service_env, db, folder):
    newsletter(service_env, "stories", "import", folder)
    ids = {title: row.id for title, row in stored(db).items()}
    (folder / "020_broken.txt").unlink()
    corrected = SEED_TEXT.replace("Summary based on 11 sources", "Summary based on 12 sources")
    (folder / "000_seed.txt").write_text(corrected, encoding="utf-8")

    result = newsletter(service_env, "stories", "import", folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"updated   {SEED_TITLE}" in result.stdout
    assert "imported" not in result.stdout
    assert "3 stories stored, 0 files with errors" in result.stdout
    rows = stored(db)
    assert {title: row.id for title, row in rows.items()} == ids
    assert rows[SEED_TITLE].source_count == 12


def test_files_and_folders_mixed_and_a_missing_path(service_env, db, folder, tmp_path):
    single = tmp_path / "single.txt"
    single.write_text(story("A story given by name"), encoding="utf-8")
    missing = tmp_path / "missing.txt"
    result = newsletter(service_env, "stories", "import", single, missing, folder / "asia")
    assert result.returncode == 1
    assert f"error     {missing}: no such file" in result.stdout
    assert "2 stories stored, 1 files with errors" in result.stdout
    assert set(stored(db)) == {"A story given by name", "Markets [update] close higher [/x]"}


def test_too_long_title_is_a_file_error_not_a_crash(service_env, db, tmp_path):
    # PostgreSQL refuses a title over the column's 500 characters: the parser must catch it, not the database.
    (tmp_path / "a_long.txt").write_text(story("T" * 600), encoding="utf-8")
    (tmp_path / "b_fine.txt").write_text(story("Fine story"), encoding="utf-8")
    (tmp_path / "c_nul.txt").write_text(story("Nul \x00 story"), encoding="utf-8")
    result = newsletter(service_env, "stories", "import", tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'a_long.txt'}, line 1: the title is longer than 500 characters" in result.stdout
    assert f"{tmp_path / 'c_nul.txt'}, line 1: control character U+0000" in result.stdout
    assert set(stored(db)) == {"Fine story"}


# --- JSON files ---------------------------------------------------------------------------------------------------


def json_story(title: str, **extra) -> dict:
    """One story in the documented JSON schema."""
    return {
        "title": title,
        "date": "2026-03-06",
        "category": "World News",
        "key_points": ["First.", "Second."],
        "source_count": 2,
        "sources": [{"publisher": "Reuters", "title": "An article", "url": "https://example.com/a"}],
        **extra,
    }


def test_json_file_import(service_env, db, tmp_path):
    path = tmp_path / "day.json"
    path.write_text(
        json.dumps(
            {"stories": [json_story("From JSON one", id="wire-1"), json_story("From JSON two")]}, ensure_ascii=False
        ),
        encoding="utf-8-sig",
    )
    result = newsletter(service_env, "stories", "import", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported  From JSON one" in result.stdout and "imported  From JSON two" in result.stdout
    assert "2 stories stored, 0 files with errors" in result.stdout
    rows = stored(db)
    one = rows["From JSON one"]
    assert (one.origin, one.origin_ref, one.external_id) == ("json", str(path), "wire-1")
    assert one.sources == [{"publisher": "Reuters", "title": "An article", "url": "https://example.com/a"}]
    assert one.key_points == ["First.", "Second."]


def test_broken_and_invalid_json_files_store_nothing_from_themselves(service_env, db, tmp_path):
    (tmp_path / "a_broken.json").write_text('[\n  {"title": "Half",\n  "key_points": ["x"]\n', encoding="utf-8")
    (tmp_path / "b_invalid.json").write_text(
        json.dumps([json_story("Good in a bad file"), json_story("Missing points", key_points=[])]), encoding="utf-8"
    )
    (tmp_path / "c_good.json").write_text(json.dumps(json_story("Good file")), encoding="utf-8")
    result = newsletter(service_env, "stories", "import", tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path / 'a_broken.json'}, line 4: invalid JSON" in result.stdout
    assert f"{tmp_path / 'b_invalid.json'}: story #2: key_points" in result.stdout
    assert "1 stories stored, 2 files with errors" in result.stdout
    assert set(stored(db)) == {"Good file"}


# --- listing ------------------------------------------------------------------------------------------------------


def test_stories_list_and_list_json(service_env, db, folder):
    newsletter(service_env, "stories", "import", folder)

    table = newsletter(service_env, "stories", "list")
    assert table.returncode == 0, table.stderr
    assert "World News" in table.stdout and "Business" in table.stdout

    result = newsletter(service_env, "stories", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed = {item["title"]: item for item in json.loads(result.stdout)}
    assert set(listed) == {SEED_TITLE, "Zürich and Kyiv — Київ: talks resume", "Markets [update] close higher [/x]"}
    seed = listed[SEED_TITLE]
    assert seed["date"] == "2026-03-06" and seed["category"] == "World News" and seed["source_count"] == 11
    assert [point["text"] for point in seed["key_points"]] == SEED_TEXT.splitlines()[2:14]
    assert {point["publisher"] for point in seed["key_points"]} == {None}, "a hand-written story's points name no one"
    assert seed["sources"][0] == {
        "publisher": "Ministry of Foreign Affairs of Japan",
        "title": SEED_TEXT.splitlines()[19],
        "url": None,
    }
    assert (seed["origin"], seed["origin_ref"]) == ("file", str(folder / "000_seed.txt"))
    assert seed["received_at"] and seed["updated_at"]

    limited = json.loads(newsletter(service_env, "stories", "list", "--json", "--limit", "1").stdout)
    assert len(limited) == 1


def test_stories_list_json_when_empty(service_env, db):
    result = newsletter(service_env, "stories", "list", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []


# --- links: http(s) only --------------------------------------------------------------------------------------------

BAD_LINKS = (
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "java\tscript:alert(1)",
)


def test_script_and_data_links_are_dropped_from_seed_and_json_files(service_env, db, tmp_path):
    seed = story("Seed story with links", sources=[("Reuters", "Kept"), ("AP", "Dropped"), ("AFP", "Also dropped")])
    seed = seed.replace("Kept\n", "Kept\nHTTPS://www.reuters.com/world/kept\n")
    seed = seed.replace("\nDropped\n", "\nDropped\njavascript:alert(document.cookie)\n")
    (tmp_path / "a_seed.txt").write_text(
        seed.replace("Also dropped\n", "Also dropped\nDATA:text/html,x\n"), encoding="utf-8"
    )
    sources = [{"publisher": f"P{n}", "title": f"T{n}", "url": link} for n, link in enumerate(BAD_LINKS)]
    sources.append({"publisher": "Good", "title": "Good", "url": "https://example.com/good"})
    (tmp_path / "b_day.json").write_text(
        json.dumps(json_story("JSON story with links", sources=sources, link="vbscript:msgbox(1)")), encoding="utf-8"
    )
    result = newsletter(service_env, "stories", "import", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 stories stored, 0 files with errors" in result.stdout, "the stories are kept, only the links go"
    rows = stored(db)
    assert [s["url"] for s in rows["Seed story with links"].sources] == [
        "HTTPS://www.reuters.com/world/kept",
        None,
        None,
    ]
    assert [s["publisher"] for s in rows["Seed story with links"].sources] == ["Reuters", "AP", "AFP"]
    from_json = rows["JSON story with links"]
    assert from_json.link is None
    assert [s["url"] for s in from_json.sources] == [None] * len(BAD_LINKS) + ["https://example.com/good"]
    assert all(item.url in (None, "https://example.com/good") for item in from_json.items)

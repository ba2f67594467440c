"""Taking in story files and folders: each file on its own, so one bad file never stops the others."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from service.stories.formats import StoryFormatError, StoryInput, parse_json_text, parse_seed_text
from service.stories.store import upsert_story

MAX_FILE_BYTES = 5 * 1024 * 1024
STORY_SUFFIXES = {".txt", ".json"}


@dataclass
class FileImportReport:
    """What happened to each file."""

    stored: list[tuple[str, str, bool]] = field(default_factory=list)  # (file, title, created)
    errors: list[str] = field(default_factory=list)


def story_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the .txt/.json files inside folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in STORY_SUFFIXES)
        else:
            yield path


def read_story_file(path: Path) -> list[StoryInput]:
    """Parse one file by its suffix: JSON, or the seed text format."""
    where = str(path)
    if not path.exists():
        raise StoryFormatError(where, None, "no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise StoryFormatError(where, None, f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
        raise StoryFormatError(where, line, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    if path.suffix.lower() == ".json":
        return parse_json_text(text, where)
    return [parse_seed_text(text, where)]


def import_story_files(session: Session, paths: Iterable[Path], origin: str | None = None) -> FileImportReport:
    """Import each file in its own transaction (origin: what they are, e.g. "demo"); a malformed file is skipped."""
    report = FileImportReport()
    for path in story_files(paths):
        try:
            stories = [replace(story, origin=origin) if origin else story for story in read_story_file(path)]
            stored = [upsert_story(session, story) for story in stories]
            session.commit()
        except StoryFormatError as error:
            session.rollback()
            report.errors.append(error.message)
            continue
        except (DataError, IntegrityError) as error:  # the database refused it: report, keep going with the rest
            session.rollback()
            report.errors.append(f"{path}: could not be stored ({error.orig or error})".splitlines()[0])
            continue
        report.stored += [(str(path), row.title, created) for row, created in stored]
    return report

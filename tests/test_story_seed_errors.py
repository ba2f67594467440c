"""Malformed and empty seed files: the error names the file and the line, counted as a text editor counts them."""

from __future__ import annotations

import pytest

from service.stories import (
    StoryFormatError,
    parse_seed_text,
)
from service.stories.files import read_story_file
from tests.support.story_seed import SEED_LINES, replaced, text_of


def line_no(lines: list[str], text: str) -> int:
    """The 1-based number of the first line equal to text."""
    return lines.index(text) + 1


def without(lines: list[str], *texts: str) -> list[str]:
    """The lines minus the first line equal to each text."""
    kept = list(lines)
    for text in texts:
        kept.remove(text)
    return kept


def malformed_cases():
    """(id, lines, expected line number, words in the message)."""
    seed = SEED_LINES
    long_title = "A" * 501
    return [
        ("missing-date", without(seed, "March 6, 2026"), 2, "expected a date"),
        ("bad-date", replaced(seed, "March 6, 2026", "March 32, 2026"), 2, "March 32, 2026"),
        ("not-a-date", replaced(seed, "March 6, 2026", "Sometime last week"), 2, "expected a date"),
        ("missing-title", seed[1:], 1, "title"),
        (
            "missing-summary",
            without(seed, "Summary based on 11 sources"),
            line_no(seed, "Get a daily email with more World News stories") - 1,
            "Summary based on N sources",
        ),
        ("summary-and-rest-missing", seed[:14], 14, "Summary based on N sources"),
        ("no-key-points", seed[:2] + seed[14:], 3, "no key points"),
        (
            "missing-category",
            without(seed, "Get a daily email with more World News stories"),
            line_no(seed, "Sources") - 1,
            "Get a daily email with more",
        ),
        ("missing-sources-line", without(seed, "Sources"), line_no(seed, "Sources") + 1, "'Sources'"),
        ("odd-source-lines", seed[:-1], len(seed) - 1, "no article title line"),
        ("long-title", [long_title, *seed[1:]], 1, "longer than 500"),
        (
            "long-category",
            replaced(
                seed,
                "Get a daily email with more World News stories",
                f"Get a daily email with more {'X' * 101} stories",
            ),
            line_no(seed, "Get a daily email with more World News stories"),
            "longer than 100",
        ),
        ("nul-byte", replaced(seed, seed[5], seed[5] + "\x00"), 6, "control character U+0000"),
        ("title-only", seed[:1], 1, "date line"),
    ]


@pytest.mark.parametrize(
    "lines, line, words", [case[1:] for case in malformed_cases()], ids=[case[0] for case in malformed_cases()]
)
def test_malformed_file_names_file_and_line(tmp_path, lines, line, words):
    path = tmp_path / "story.txt"
    path.write_text(text_of(lines), encoding="utf-8")
    with pytest.raises(StoryFormatError) as caught:
        read_story_file(path)
    error = caught.value
    assert (error.where, error.line) == (str(path), line), error.message
    assert error.message.startswith(f"{path}, line {line}: ")
    assert words in error.message


@pytest.mark.parametrize("text", ["", "\n\n  \n", "\ufeff", "\r\n\r\n"], ids=["empty", "blank", "bom-only", "crlf"])
def test_empty_file_is_an_error_at_line_1(text):
    with pytest.raises(StoryFormatError, match=r"^empty\.txt, line 1: the file is empty"):
        parse_seed_text(text, "empty.txt")


def test_line_numbers_count_crlf_lines_and_a_bom_like_a_text_editor():
    lines = replaced(SEED_LINES, "March 6, 2026", "Marhc 6, 2026")
    with pytest.raises(StoryFormatError) as caught:
        parse_seed_text("\ufeff" + "\r\n".join(lines), "crlf.txt")
    assert caught.value.line == 2

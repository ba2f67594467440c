"""The demo seed story file and its parts, and the line helpers the story tests build its variants with."""

from __future__ import annotations

from service.core.config import REPO_ROOT

SEED = REPO_ROOT / "demo" / "stories" / "000_17749a4977b85c87.txt"


SEED_TEXT = SEED.read_text(encoding="utf-8")


SEED_LINES = SEED_TEXT.splitlines()


TITLE = "India and Japan Strengthen Ties with New Defence Tech and Economic Security Initiatives"


SOURCES = [
    {
        "publisher": "Ministry of Foreign Affairs of Japan",
        "title": "Working Dinner between State Minister for Foreign Affairs KUNIMITSU and H.E. Shekerinska, "
        "NATO Deputy Secretary General",
        "url": None,
    },
    {
        "publisher": "Ministry of Foreign Affairs of Japan",
        "title": "Courtesy Call on State Minister KUNIMITSU by the delegation of Members of Indian Parliament",
        "url": None,
    },
]


NON_ASCII = [
    "Zürich and Kyiv — Київ: talks resume",
    "March 7, 2026",
    "Delegates met in Zürich; the Kyiv — Київ delegation arrived late.",
    "東京で首脳会談が開かれた。",
    "Prices quoted in € and ¥, «with» “curly quotes”.",
    "Summary based on 1 source",
    "Get a daily email with more Europe & Asia stories",
    "Sources",
    "",
    "Neue Zürcher Zeitung",
    "Gespräche in Zürich — Київ reagiert",
]


def text_of(lines: list[str]) -> str:
    """Lines back into a file's text."""
    return "\n".join(lines) + "\n"


def replaced(lines: list[str], old: str, new: str) -> list[str]:
    """The lines with one line swapped."""
    return [new if line == old else line for line in lines]

"""Text a publisher repeats across its items (taglines, datelines, section names) is no evidence of an event."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from service.stories.clustering.base import ItemText
from service.stories.clustering.text import normalise, split_sentences

MIN_REPEATS = 3  # a sentence seen in three items of one publisher is its furniture, not news
MIN_SHARE = 0.2  # ... when it is also in a fifth of that publisher's items here
DESCRIPTION_CHARS = 300  # what the embedding model reads of a description (it stops at 64 tokens anyway)


def sentences(text: str) -> list[str]:
    """The sentences of a plain-text description, paragraph by paragraph."""
    out: list[str] = []
    for paragraph in text.splitlines():
        paragraph = " ".join(paragraph.split())
        if paragraph:
            out.extend(split_sentences(paragraph))
    return out


def repeated_sentences(items: Sequence[ItemText]) -> dict[str, set[str]]:
    """Per publisher, the (normalised) sentences that recur in many of its items."""
    by_publisher: dict[str, list[ItemText]] = defaultdict(list)
    for item in items:
        by_publisher[item.publisher.casefold()].append(item)
    found: dict[str, set[str]] = {}
    for publisher, own in by_publisher.items():
        counts = Counter(s for item in own for s in {normalise(x) for x in sentences(item.summary)})
        found[publisher] = {s for s, n in counts.items() if n >= MIN_REPEATS and n >= MIN_SHARE * len(own)}
    return found


def cleaned(item: ItemText, repeated: dict[str, set[str]]) -> str:
    """The item's description without its publisher's repeated sentences."""
    furniture = repeated.get(item.publisher.casefold(), set())
    return "\n".join(s for s in sentences(item.summary) if normalise(s) not in furniture)  # lines stay apart


def event_texts(items: Sequence[ItemText]) -> list[str]:
    """What is embedded per item: its headline and the start of its de-boilerplated description."""
    repeated = repeated_sentences(items)
    out = []
    for item in items:
        description = " ".join(cleaned(item, repeated).split())[:DESCRIPTION_CHARS]
        title = item.title or description[:200]
        out.append(f"{title}. {description}" if description and item.title else title)
    return out

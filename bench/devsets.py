"""The labelled development sets, read from ../shared/data (never copied into the repository), and their scores."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from service.stories.clustering import ItemText
from service.stories.feeds.intake import _parse, _web_url
from service.stories.feeds.items import ItemProblem, date_undated, entry_to_item, feed_language
from service.stories.items import ItemInput

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
HEADLINES_CSV = DATA / "story-clusters-dev.csv"
FEEDS_DEV = DATA / "feeds-dev"
POLLED_AT = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)  # shortly after the feeds were captured


@dataclass
class LabelledItem:
    """One parsed feed item with its gold event."""

    item: ItemInput
    event: str
    file: str


def load_headlines(path: Path = HEADLINES_CSV) -> tuple[list[ItemText], list[str]]:
    """Headline items and their gold story labels, in published order."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows.sort(key=lambda r: (r["published"], int(r["id"]) if r["id"].isdigit() else r["id"]))
    items = [
        ItemText(
            key=r["id"], title=r["title"], publisher=r["publisher"], published=datetime.fromisoformat(r["published"])
        )
        for r in rows
    ]
    return items, [r["story"] for r in rows]


def load_feeds(folder: Path = FEEDS_DEV, now: datetime = POLLED_AT) -> list[LabelledItem]:
    """Every feed of the folder parsed as a poll would (stories.feeds.intake / items), each item with its event."""
    with (folder / "events.csv").open(newline="", encoding="utf-8") as handle:
        events = {(row["file"], int(row["index"])): row["event"] for row in csv.DictReader(handle)}
    out: list[LabelledItem] = []
    for path in sorted(folder.glob("*.xml")):
        url = f"https://feeds.example/{path.name}"
        parsed = _parse(path.read_bytes(), httpx.Headers({"content-type": "application/xml"}), url)
        publisher = " ".join(str(parsed.feed.get("title") or path.stem).split())
        taken: list[LabelledItem] = []
        for index, entry in enumerate(parsed.entries):
            try:
                item = entry_to_item(
                    entry,
                    feed_url=url,
                    feed_id=None,
                    category="World News",
                    publisher=publisher,
                    language=feed_language(parsed.feed),
                    now=now,
                    web_url=_web_url,
                )
            except ItemProblem:
                continue
            taken.append(LabelledItem(item, events[(path.name, index)], path.name))
        date_undated([labelled.item for labelled in taken])
        out.extend(taken)
    out.sort(key=lambda labelled: (labelled.item.published, labelled.file))
    return out


def as_text(labelled: Sequence[LabelledItem]) -> list[ItemText]:
    """What the clusterer sees of each parsed item (as ingest_items gives it)."""
    return [
        ItemText(
            key=n,
            title=x.item.title,
            published=x.item.published,
            summary=x.item.summary,
            publisher=x.item.publisher,
            language=x.item.language,
        )
        for n, x in enumerate(labelled)
    ]


def bcubed(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 over items."""
    pc, gc, both = Counter(pred), Counter(gold), Counter(zip(pred, gold, strict=True))
    n = len(pred)
    p = sum(both[(a, b)] / pc[a] for a, b in zip(pred, gold, strict=True)) / n
    r = sum(both[(a, b)] / gc[b] for a, b in zip(pred, gold, strict=True)) / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pairwise(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    """Precision, recall and F1 over pairs of items put in one story (predicted) or sharing an event (gold)."""

    def pairs(counts: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counts.values())

    both, predicted, actual = pairs(Counter(zip(pred, gold, strict=True))), pairs(Counter(pred)), pairs(Counter(gold))
    p = both / predicted if predicted else 1.0
    r = both / actual if actual else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def chained(pred: Sequence[Hashable], gold: Sequence[Hashable], span: int = 3) -> int:
    """Predicted stories whose items span `span` or more labelled events."""
    events: dict[Hashable, set[Hashable]] = {}
    for p, g in zip(pred, gold, strict=True):
        events.setdefault(p, set()).add(g)
    return sum(len(e) >= span for e in events.values())


def adjusted_rand(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> float:
    """Adjusted Rand index (Hubert and Arabie)."""

    def pairs(k: int) -> float:
        return k * (k - 1) / 2

    index = sum(pairs(c) for c in Counter(zip(pred, gold, strict=True)).values())
    a = sum(pairs(c) for c in Counter(pred).values())
    b = sum(pairs(c) for c in Counter(gold).values())
    expected = a * b / pairs(len(pred)) if len(pred) > 1 else 0.0
    maximum = (a + b) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


def point_purity(labelled: Sequence[LabelledItem], pred: Sequence[Hashable]) -> tuple[float, int]:
    """Share of the key points of multi-source stories taken from an item of the story's own (main) event."""
    from service.stories.clustering import summary

    members: dict[Hashable, list[int]] = {}
    for index, story in enumerate(pred):
        members.setdefault(story, []).append(index)
    texts = as_text(labelled)
    good = total = 0
    for indexes in members.values():
        if len({labelled[i].item.publisher for i in indexes}) < 2:
            continue
        main = Counter(labelled[i].event for i in indexes).most_common(1)[0][0]
        if hasattr(summary, "story_points"):
            owners = [indexes[p.member] for p in summary.story_points([texts[i] for i in indexes])]
        else:  # the method before points named their item: find the item whose summary holds the sentence
            points = summary.key_points([texts[i].summary for i in indexes])
            owners = [next(i for i in indexes if point in texts[i].summary) for point in points]
        good += sum(labelled[i].event == main for i in owners)
        total += len(owners)
    return (good / total if total else 1.0), total


def similarity_ceiling(
    vectors: np.ndarray, times: Sequence[float], gold: Sequence[Hashable], window: float, recall: float = 0.8
) -> tuple[int, float, float]:
    """(same-event pairs in the window, best pair F1 of any cosine cut, precision at `recall`): the signal's limit."""
    stamps = np.asarray(times, np.float64)
    upper = np.triu_indices(len(gold), 1)
    near = np.abs(stamps[:, None] - stamps[None, :])[upper] <= window
    labels = np.asarray([str(g) for g in gold], dtype=object)
    same = (labels[:, None] == labels[None, :])[upper][near]
    if not same.any():
        return 0, 0.0, 0.0
    ranked = same[np.argsort(-(vectors @ vectors.T)[upper][near], kind="stable")]
    hits = np.cumsum(ranked)
    precision, found = hits / np.arange(1, len(ranked) + 1), hits / max(int(same.sum()), 1)
    f1 = 2 * precision * found / np.maximum(precision + found, 1e-12)
    at = min(int(np.searchsorted(found, recall)), len(ranked) - 1)
    return int(same.sum()), float(f1.max()), float(precision[at])

"""A small feed's unrelated headlines must stay apart, whatever the method: a false merge hides a story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.stories.clustering import ItemText, NewStory, available_methods, get_clusterer

START = datetime(2026, 3, 3, 9, tzinfo=UTC)
UNRELATED = [
    "Leaders agree ceasefire & aid corridor",
    "Central banks hold rates",
    "A long day at the summit",
    "Floods recede in the delta",
    "Election results certified",
    "Transit strike ends in New York",
    "Museum reopens after a decade of repairs",
    "Court blocks the mining licence",
    "Heatwave grips the south",
    "Stocks rally & bonds slip",
]


@pytest.mark.parametrize("method", available_methods())
def test_ten_unrelated_headlines_from_two_small_feeds_are_ten_stories(method):
    items = [
        ItemText(key=n, title=title, published=START + timedelta(hours=7 * n)) for n, title in enumerate(UNRELATED)
    ]
    placed = get_clusterer(method).assign(items, [])
    assert all(isinstance(place, NewStory) for place in placed)
    groups: dict[int, list[str]] = {}
    for title, place in zip(UNRELATED, placed, strict=True):
        groups.setdefault(place.group, []).append(title)
    merged = [titles for titles in groups.values() if len(titles) > 1]
    assert merged == [], f"{method} merged unrelated headlines: {merged}"

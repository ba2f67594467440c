"""Feed items the clustering tests share: three events' headlines, several publishers', dated from T0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.stories.clustering import (
    ItemText,
)

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def item(key: str, title: str, hours: float = 0.0, **extra: str) -> ItemText:
    """A feed item published `hours` after T0."""
    return ItemText(key=key, title=title, published=T0 + timedelta(hours=hours), **extra)


SBARRO = [
    item("s1", "Pizza chain Sbarro files for bankruptcy for the second time", 0.0, publisher="Reuters"),
    item("s2", "Sbarro files for Chapter 11 bankruptcy protection again", 0.5, publisher="AP"),
    item("s3", "Pizza-maker Sbarro seeks bankruptcy protection, plans to close company stores", 1.0, publisher="BBC"),
]


MTGOX = [
    item("m1", "Chiquita to acquire Fyffes, creating the world's biggest banana company", 0.2, publisher="Reuters"),
    item("m2", "Chiquita and Fyffes agree merger to become top banana supplier", 0.7, publisher="AP"),
    item("m3", "Banana giants Chiquita and Fyffes combine in all-share deal", 1.2, publisher="BBC"),
]


TITANFALL = [
    item("t1", "Titanfall review roundup: critics praise Respawn's shooter", 0.3),
    item("t2", "Titanfall review: the biggest game launch of the year is worth the hype", 0.9),
    item("t3", "Respawn says Titanfall servers will run on Microsoft Azure", 1.5),
]

"""When stories join: one event not one topic, publishers vouching for each other, halves joined unless frozen."""

from __future__ import annotations

import numpy as np
import pytest

from service.stories.clustering import (
    NewStory,
    available_methods,
    get_clusterer,
)
from service.stories.clustering.centroids import merge_close
from service.stories.clustering.linkage import average_linkage
from tests.support.clustering_items import SBARRO, item


def test_an_item_like_one_member_but_not_the_others_starts_its_own_story():
    strike = [
        item("k1", "Lufthansa pilots strike, grounding hundreds of flights in Germany", 0.0, publisher="DW"),
        item("k2", "Hundreds of Lufthansa flights cancelled as pilots walk out", 0.5, publisher="Reuters"),
    ]
    other = item("k3", "Rail workers in France strike, halting trains across the country", 1.0, publisher="AP")

    placed = get_clusterer("event").assign([*strike, other], [])

    assert placed[0] == placed[1] and placed[2] != placed[0], "same topic (a strike) is not the same event"


def test_a_publishers_second_item_joins_when_the_other_publishers_vouch_for_it():
    # items 0 and 3 are one publisher's (their pair, 0.5, is too far to link alone); 1 and 2 are two others'
    edges = (np.array([0, 0, 1, 1, 2, 0]), np.array([1, 2, 2, 3, 3, 3]), np.array([0.8, 0.8, 0.8, 0.75, 0.75, 0.5]))
    own = np.array([False, False, False, False, False, True])
    args = ([0.0, 1.0, 2.0, 3.0], edges, [None] * 4, 0.65, 100.0, 100)

    vouched = average_linkage(*args, complete=True, own=own)
    assert len(set(vouched)) == 1, "the other publishers' items vouch for the second item"

    lone_pair = (np.array([0]), np.array([1]), np.array([0.5]))
    apart = average_linkage([0.0, 1.0], lone_pair, [None] * 2, 0.65, 100.0, 100, complete=True, own=np.array([True]))
    assert apart[0] != apart[1], "a publisher's own two items never vouch for each other"

    # 0, 1 and 2 are one publisher's, 3 another's: {0, 1} and {2, 3} meet through two outside pairs and two own
    edges = (np.array([0, 2, 0, 1, 0, 1]), np.array([1, 3, 2, 2, 3, 3]), np.array([0.8, 0.85, 0.5, 0.5, 0.7, 0.7]))
    own = np.array([False, False, True, True, False, False])
    few = average_linkage([0.0, 1.0, 2.0, 3.0], edges, [None] * 4, 0.65, 100.0, 100, complete=True, own=own)
    assert few[0] != few[2], "a merge that is half one publisher's own pairs is not decided by the other half"


def _halves(size: int = 3, pair: float = 0.6) -> np.ndarray:
    """Two groups of `size` items about one happening: every pair of items `pair` similar (cosine), no closer."""
    n = 2 * size
    vectors = np.zeros((n, n + 1))
    vectors[:, 0] = np.sqrt(pair)  # the happening they share
    vectors[np.arange(n), np.arange(n) + 1] = np.sqrt(1 - pair)  # what each item says on its own
    return vectors


def test_two_halves_of_one_happening_each_confirmed_by_several_publishers_become_one_story():
    vectors, times = _halves(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    labels = [0, 0, 0, 3, 3, 3]
    publishers = ["dawn", "ndtv", "abc", "npr", "cbs", "time"]

    merged = merge_close(labels, vectors, times, publishers, [None] * 6, 0.7, 100.0)
    assert len(set(merged)) == 1, "six items whose pairs are all 0.6 alike tell one happening"

    lone = merge_close([0, 1], vectors[[0, 3]], [0.0, 1.0], ["dawn", "npr"], [None, None], 0.7, 100.0)
    assert lone[0] != lone[1], "two single items 0.6 alike are not enough"

    one_voice = merge_close(labels, vectors, times, ["time"] * 3 + publishers[3:], [None] * 6, 0.7, 100.0)
    assert len(set(one_voice)) == 2, "three items of one publisher have nobody confirming them"

    far = merge_close(labels, vectors, [0.0, 1.0, 2.0, 300.0, 301.0, 302.0], publishers, [None] * 6, 0.7, 100.0)
    assert len(set(far)) == 2, "stories further apart than the window stay apart"

    existing = merge_close(labels, vectors, times, publishers, ["a"] * 3 + ["b"] * 3, 0.7, 100.0)
    assert len(set(existing)) == 2, "two fixed stories never merge (a poll frees the stories it may merge)"


QUAKE_HALVES = [
    item("q1", "Magnitude 7.1 earthquake strikes off the coast of northern Japan", 0.0, publisher="NHK"),
    item(
        "q2",
        "Strong earthquake off northern Japan halts bullet trains and cuts power to thousands",
        1.0,
        publisher="Kyodo",
    ),
]


QUAKE_BRIDGE = [
    item("q3", "Strong 7.1 quake hits northern Japan, trains halted, tsunami warning issued", 2.0, publisher="Reuters"),
    item(
        "q4",
        "Japan earthquake: tsunami warning issued, bullet trains stopped after magnitude 7.1 quake",
        2.1,
        publisher="AP",
    ),
    item("q5", "Japan hit by magnitude 7.1 earthquake, tsunami alert and train disruption", 2.2, publisher="BBC"),
]


def test_a_poll_that_links_two_stored_stories_merges_them_unless_one_is_frozen():
    clusterer = get_clusterer("event") if "event" in available_methods() else None
    if clusterer is None:
        pytest.skip("the event method needs the embedding model")
    stored = [(QUAKE_HALVES[0], "older"), (QUAKE_HALVES[1], "younger"), (SBARRO[0], "sbarro")]
    apart = clusterer.place([QUAKE_HALVES[1]], [stored[0]], frozen=())
    assert apart.stories == [NewStory(0)] and apart.merged == [], "alone, the two halves are not alike enough"

    linked = clusterer.place(QUAKE_BRIDGE, stored, frozen=())
    assert linked.merged == [frozenset({"older", "younger"})], "the unrelated story stays apart"
    assert set(linked.stories) <= {"older", "younger"}

    for frozen in ({"younger"}, None):
        kept = clusterer.place(QUAKE_BRIDGE, stored, frozen=frozen)
        assert kept.merged == [] and set(kept.stories) <= {"older", "younger"}

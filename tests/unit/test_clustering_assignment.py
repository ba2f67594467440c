"""Story assignment, for every clustering method: one event is one story, other events stay apart, in the window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.stories.clustering import (
    ItemText,
    NewStory,
    available_methods,
    get_clusterer,
)
from tests.support.clustering_items import MTGOX, SBARRO, T0, TITANFALL, item


def stories(results: list) -> list:
    """Comparable labels for assign() results."""
    return [("new", r.group) if isinstance(r, NewStory) else r for r in results]


@pytest.fixture(params=available_methods())
def clusterer(request):
    """Every registered method must pass the same behavioural checks."""
    return get_clusterer(request.param)


def test_same_event_from_three_publishers_is_one_story(clusterer):
    labels = stories(clusterer.assign(SBARRO, []))
    assert len(set(labels)) == 1


def test_different_events_sharing_words_stay_apart(clusterer):
    labels = stories(clusterer.assign(SBARRO + MTGOX + TITANFALL, []))
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5]
    if clusterer.name != "event":  # precision first: headlines alone, a review and a server note may stay apart
        assert labels[6] == labels[7] == labels[8]
    assert not set(labels[:3]) & set(labels[3:6]) and not set(labels[:6]) & set(labels[6:])
    assert len({labels[0], labels[3], labels[6]}) == 3  # "biggest", "files" and "company" alone do not join them


def test_syndicated_headline_joins_one_story(clusterer):
    a = item("a", "Metro-North worker killed by train near Yonkers station", 0.0, publisher="AP")
    b = item("b", "Metro-North worker killed by train near Yonkers station", 0.1, publisher="NBC New York")
    other = item("c", "Chiquita to acquire Fyffes, creating the biggest banana supplier", 0.2)
    labels = stories(clusterer.assign([a, b, other], []))
    assert labels[0] == labels[1] != labels[2]


def test_items_outside_the_window_never_join(clusterer):
    a = item("a", "Metro-North worker killed by train near Yonkers station", 0.0)
    b = item("b", "Metro-North worker killed by train near Yonkers station", 73.0)
    assert len(set(stories(clusterer.assign([a, b], [])))) == 2
    assert clusterer.assign([b], [(a, "old-story")]) == [NewStory(0)]
    assert clusterer.assign(
        [b.__class__(**{**b.__dict__, "published": T0 + timedelta(hours=71)})], [(a, "old-story")]
    ) == ["old-story"]


def test_window_is_measured_on_item_times_not_the_clock():
    old = [ItemText(i.key, i.title, i.published - timedelta(days=400)) for i in SBARRO + MTGOX]
    recent = get_clusterer("tfidf-avg").assign(SBARRO + MTGOX, [])
    assert stories(get_clusterer("tfidf-avg").assign(old, [])) == stories(recent)


def test_incremental_assignment_attaches_and_starts_stories(clusterer):
    existing = [(i, "story-sbarro") for i in SBARRO[:2]] + [(i, "story-banana") for i in MTGOX[:2]]
    new = [SBARRO[2], MTGOX[2], TITANFALL[0], TITANFALL[1]]
    result = clusterer.assign(new, existing)
    assert result[0] == "story-sbarro"
    assert result[1] == "story-banana"
    assert isinstance(result[2], NewStory) and isinstance(result[3], NewStory)
    assert result[2] == result[3] or clusterer.name == "event"  # see test_different_events_sharing_words_stay_apart


def test_assignment_is_deterministic(clusterer):
    batch = SBARRO + MTGOX + TITANFALL
    assert stories(clusterer.assign(batch, [])) == stories(clusterer.assign(batch, []))


def test_other_scripts_do_not_crash_and_do_not_join_english(clusterer):
    batch = [
        *SBARRO,
        item("z1", "比特币交易所Mt.Gox在美国申请破产保护", 0.5, language="zh"),
        item("z2", "Биржа биткоинов Mt.Gox подала заявление о банкротстве в США", 0.6, language="ru"),
        item("z3", "", 0.7, summary=""),
    ]
    labels = stories(clusterer.assign(batch, []))
    assert len(labels) == 6
    assert labels[3] != labels[0] and labels[4] != labels[0]


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown clustering method"):
        get_clusterer("no-such-method")


@pytest.mark.skipif("hybrid-expand" not in available_methods(), reason="embedding model not installed")
def test_stored_vectors_are_reused_and_foreign_formats_are_recomputed():
    """embed_titles bytes stand in for the model; bytes of another length (another model) are not trusted."""
    from service.stories.clustering import embed_titles
    from service.stories.clustering.features import VECTOR_BYTES, decode_vector

    blobs = embed_titles([story.title for story in SBARRO])
    assert all(len(blob) == VECTOR_BYTES for blob in blobs)
    assert decode_vector(blobs[0][:-2]) is None and decode_vector(None) is None
    stored = [
        ItemText(key=s.key, title=s.title, published=s.published, vector=b) for s, b in zip(SBARRO, blobs, strict=True)
    ]
    stale = [ItemText(key=s.key, title=s.title, published=s.published, vector=b"\0" * 10) for s in SBARRO]
    clusterer = get_clusterer("hybrid-expand")
    assert len(set(clusterer.assign(stored, []))) == 1
    assert len(set(clusterer.assign(stale, []))) == 1

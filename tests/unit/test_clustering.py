"""Story clustering: what a reader of the email would notice if it went wrong."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from service.stories.clustering import (
    ItemText,
    NewStory,
    available_methods,
    get_clusterer,
    key_points,
    near_duplicate_titles,
    representative_title,
    story_points,
)
from service.stories.clustering.centroids import merge_close
from service.stories.clustering.linkage import average_linkage

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


def test_key_points_drop_boilerplate_and_near_duplicates():
    texts = [
        (
            "Sbarro filed for Chapter 11 bankruptcy protection on Monday. The pizza chain plans to close "
            "dozens of its mall restaurants. Continue reading..."
        ),
        (
            "Pizza chain Sbarro filed for Chapter 11 bankruptcy protection on Monday! It is the second "
            "filing in three years. The post Sbarro files again appeared first on Pizza Daily."
        ),
        (
            "The chain blamed falling mall traffic for its troubles. Click here to subscribe to our "
            "newsletter. Copyright 2025 Example Media. Sbarro said its restaurants stay open during the [\u2026]"
        ),
        "Read more",
    ]
    points = key_points(texts)
    assert 3 <= len(points) <= 6
    joined = " | ".join(points)
    for junk in ("Continue reading", "appeared first on", "Click here", "Copyright", "[\u2026]", "Read more"):
        assert junk not in joined
    assert sum("Chapter 11" in p for p in points) == 1  # the two near-identical sentences count once
    assert points[0].startswith(("Sbarro filed", "Pizza chain Sbarro filed"))  # best supported first
    assert all(len(p) < 300 for p in points)


def test_key_points_never_pad_with_junk():
    assert key_points(["Read more", "Continue reading...", "Short."]) == []
    assert key_points(["The central bank raised interest rates by a quarter point on Tuesday."]) == [
        "The central bank raised interest rates by a quarter point on Tuesday."
    ]


def test_representative_title_is_a_central_member():
    members = [
        item("1", "Sbarro files for bankruptcy"),
        item("2", "Pizza chain Sbarro files for bankruptcy protection again"),
        item("3", "Sbarro bankruptcy: pizza chain files for Chapter 11 protection"),
        item("4", "Mall traffic woes"),
    ]
    assert representative_title(members) in (1, 2)


def test_near_duplicate_titles():
    assert near_duplicate_titles(
        "ECB unlikely to end sterilisation of SMP purchases - traders",
        "ECB unlikely to end sterilization of SMP purchases: traders",
    )
    assert near_duplicate_titles("Mt. Gox files for US bankruptcy", "Mt Gox Files For U.S. Bankruptcy")
    assert not near_duplicate_titles("Sbarro files for bankruptcy", "Mt. Gox files for bankruptcy")


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


def test_key_points_belong_to_the_story_and_name_their_item():
    tagline = "Daily Wire brings you the world every morning."
    members = [
        item(
            "q1",
            "Strong earthquake strikes off northern Japan",
            0.0,
            publisher="Daily Wire",
            summary=f"A magnitude 7.1 earthquake struck off northern Japan on Tuesday. {tagline}",
        ),
        item(
            "q2",
            "Japan quake: tsunami warning lifted after magnitude 7.1 tremor",
            0.5,
            publisher="Coast Post",
            summary=(
                "Authorities lifted a tsunami warning for the Pacific coast hours after the quake. "
                "Separately, the city council approved a new budget for public libraries."
            ),
        ),
    ]
    context = [
        item(f"c{n}", f"Other story {n}", 1.0, publisher="Daily Wire", summary=f"Item {n} text. {tagline}")
        for n in range(4)
    ]

    points = story_points(members, title=members[0].title, context=context)

    texts = [point.text for point in points]
    assert any("tsunami warning" in text for text in texts) and any("7.1" in text for text in texts)
    assert tagline not in texts, "a sentence its publisher repeats everywhere is no key point"
    assert not any("libraries" in text for text in texts), "an aside about another happening stays out"
    assert {point.member for point in points} == {0, 1}
    assert all(point.text in members[point.member].summary for point in points), "each point names its item"


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
    assert len(set(existing)) == 2, "two stories already published never merge"


def test_a_story_told_by_three_publishers_takes_its_points_from_all_three():
    quake = "the earthquake off northern Japan"
    members = [  # one publisher's three items echo each other; the other two publishers have one item each
        item(
            "j1",
            "Magnitude 7.1 earthquake strikes off northern Japan",
            0.0,
            publisher="Daily Wire",
            summary=(
                "A magnitude 7.1 earthquake struck off northern Japan early on Tuesday. "
                "The earthquake's epicentre was off the coast of Aomori."
            ),
        ),
        item(
            "j2",
            "Northern Japan earthquake: trains halted, buildings shaken",
            0.2,
            publisher="Daily Wire",
            summary=(
                "Bullet train services in northern Japan were halted after the earthquake. "
                "The earthquake shook buildings in Aomori and Sapporo."
            ),
        ),
        item(
            "j3",
            "Japan earthquake: Aomori residents move to higher ground",
            0.4,
            publisher="Daily Wire",
            summary=(
                f"Residents of Aomori moved to higher ground after {quake}. "
                "Schools in Aomori were closed after the earthquake."
            ),
        ),
        item(
            "j4",
            "Japan earthquake: tsunami warning lifted hours after 7.1 tremor",
            0.5,
            publisher="Coast Post",
            summary=(
                "Authorities lifted the tsunami warning for Japan's Pacific coast hours after the earthquake. "
                "Fishing boats returned to port in Hachinohe."
            ),
        ),
        item(
            "j5",
            "Strong quake off northern Japan cuts power to thousands",
            1.0,
            publisher="Radio Nine",
            summary=(
                "About 20,000 homes in Aomori lost power after the earthquake, the utility said. "
                "Power was restored to most homes by the evening."
            ),
        ),
    ]

    points = story_points(members, title=members[0].title, limit=4)

    voices = Counter(members[point.member].publisher for point in points)
    assert set(voices) == {"Daily Wire", "Coast Post", "Radio Nine"}, "one publisher does not tell the story alone"

    alone = story_points(members[:3] + members[3:4], title=members[0].title)
    assert sum(point.member < 3 for point in alone) <= 3, "no publisher gives more than half of the points"

    teaser = f"Radio Nine speaks with a seismologist about {quake}."
    members[4] = replace(members[4], summary=f"{teaser} {members[4].summary}")
    assert teaser not in [point.text for point in story_points(members, title=members[0].title)], (
        "a radio programme note is no key point"
    )

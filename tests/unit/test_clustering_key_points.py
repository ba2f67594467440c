"""A story's key points and title: boilerplate dropped, its own items' sentences, several publishers' voices."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from service.stories.clustering import (
    key_points,
    near_duplicate_titles,
    representative_title,
    story_points,
)
from tests.support.clustering_items import item


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

"""Where stored stories live after a poll clusters them anew: merges, and the split of a story that drifted."""

from __future__ import annotations

from service.stories.clustering import NewStory
from service.stories.clustering.base import placement


def test_a_drifted_storys_stray_member_leaves_with_the_new_items_beside_it():
    # pool: three items of stored story "s" (two land together, one elsewhere) and one new item beside the stray one
    placed = placement([0, 0, 1, 1], ["s", "s", "s", None], new=[3], sealed=set(), keys=["a", "b", "c", "n"])
    assert placed.moved == {"c": NewStory(0)} and placed.stories == [NewStory(0)]
    assert placed.merged == []


def test_a_stray_member_joins_the_story_that_lives_where_it_landed():
    placed = placement([0, 0, 1, 1, 1], ["s", "s", "s", "t", "t"], new=[], sealed=set(), keys=list("abcde"))
    assert placed.moved == {"c": "t"} and placed.merged == []


def test_a_sealed_story_never_splits_and_keeps_apart_from_stories_landing_with_it():
    # a sealed story was never clustered anew: its items share one label, and nothing of it moves
    placed = placement([0, 0, 0, 1], ["s", "s", "t", None], new=[3], sealed={"s"}, keys=list("abcn"))
    assert placed.moved == {} and placed.merged == [] and placed.stories == [NewStory(0)]


def test_stories_landing_in_one_cluster_merge():
    placed = placement([0, 0, 0, 0], ["s", "t", "t", None], new=[3], sealed=set(), keys=list("abcn"))
    assert placed.merged == [frozenset({"s", "t"})] and placed.moved == {} and placed.stories in (["s"], ["t"])


def test_a_stray_never_moves_into_a_sealed_story_it_landed_beside():
    # "f" is sealed (in a sent edition): new items may join it, a stored stray of "s" gets a story of its own
    placed = placement([0, 0, 1, 1, 1], ["s", "s", "s", "f", None], new=[4], sealed={"f"}, keys=list("abcdn"))
    assert placed.stories == ["f"] and placed.moved == {"c": NewStory(0)} and placed.merged == []

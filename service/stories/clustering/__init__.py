"""Groups feed items from many publishers into stories (one story per news event), with no database access."""

from __future__ import annotations

from service.stories.clustering.base import DEFAULT_WINDOW, Clusterer, ItemText, NewStory, Placement
from service.stories.clustering.features import embed_titles
from service.stories.clustering.methods import DEFAULT_METHOD, available_methods, get_clusterer
from service.stories.clustering.summary import (
    Point,
    key_points,
    near_duplicate_titles,
    representative_title,
    story_points,
)

__all__ = [
    "DEFAULT_METHOD",
    "DEFAULT_WINDOW",
    "Clusterer",
    "ItemText",
    "NewStory",
    "Placement",
    "Point",
    "available_methods",
    "embed_titles",
    "get_clusterer",
    "key_points",
    "near_duplicate_titles",
    "representative_title",
    "story_points",
]

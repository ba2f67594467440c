"""CLUSTERING_METHOD is checked against a copy of the registered names, so that settings need not load numpy."""

from __future__ import annotations

from service.core.config.value_rules import CLUSTERING_METHODS
from service.stories.clustering import available_methods
from service.stories.clustering.methods import METHODS


def test_settings_accept_exactly_the_methods_the_registry_has():
    assert tuple(METHODS) == CLUSTERING_METHODS, "a method added or renamed in one place must be in the other"
    assert set(available_methods()) <= set(CLUSTERING_METHODS)

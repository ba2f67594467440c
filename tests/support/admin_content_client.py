"""The admin content tests' `web` fixture: a test module takes it with pytest_plugins (never imported directly)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.admin import NoMail
from tests.support.apps import shared_app


@pytest.fixture
def web(settings, db):
    """A browser-like client of the real app (stories and feeds send no mail, so no worker)."""
    local_feeds = settings.model_copy(update={"feed_allow_private": True})  # the feed server is on 127.0.0.1
    with TestClient(shared_app(local_feeds, notifier=NoMail()), follow_redirects=False) as client:
        yield client

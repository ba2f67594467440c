"""The feed tests' `server` fixture: a test module takes it with pytest_plugins (never imported directly)."""

from __future__ import annotations

import pytest

from tests.support.feed_server import FeedServer


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 serving feeds."""
    feed_server = FeedServer().start()
    yield feed_server
    feed_server.stop()

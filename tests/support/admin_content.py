"""Helpers of the admin story and feed tests: the feed files, a story read back, the notice after a redirect."""

from __future__ import annotations

import html
from pathlib import Path

from sqlalchemy import select

from service.models import Story

FEEDS = Path(__file__).parents[1] / "data" / "feeds"


def story_titled(db, title: str) -> Story | None:
    """A story as stored now."""
    db.expire_all()
    found = db.scalar(select(Story).where(Story.title == title))
    db.commit()
    return found


def notice_after(web, answer) -> str:
    """Follow a 303 like a browser and return the page with its one-shot notice."""
    assert answer.status_code == 303, answer.text
    return html.unescape(web.get(answer.headers["location"]).text)

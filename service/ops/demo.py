"""Demo content for a fresh install: the World News list, the seed story and today's edition."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import REPO_ROOT, Settings
from service.editions import DEMO_ORIGIN, build_edition
from service.lists.rules import DEMO_LIST, ensure_demo_list, get_list
from service.models import Edition
from service.stories.files import import_story_files

DEMO_STORIES = REPO_ROOT / "demo" / "stories"


def load_demo(session: Session, settings: Settings) -> list[str]:
    """Idempotent: creates the demo list if there are no lists, takes in the demo stories, builds today's edition.

    The demo story goes only into the demo list's first edition (the demo edition): a later day's `make run`
    builds that day's edition from real stories alone.
    """
    said = []
    if ensure_demo_list(session):
        said.append(f"created list {DEMO_LIST['slug']}")
    report = import_story_files(session, [DEMO_STORIES], origin=DEMO_ORIGIN)
    said += [f"story {'imported' if created else 'already there'}: {title}" for _, title, created in report.stored]
    said += [f"story file skipped: {error}" for error in report.errors]
    mailing_list = get_list(session, DEMO_LIST["slug"]) if report.stored else None
    if mailing_list is not None:
        today = datetime.now(ZoneInfo(mailing_list.timezone)).date()
        first = session.scalar(select(Edition.id).where(Edition.list_id == mailing_list.id).limit(1)) is None
        edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=today, demo=first)
        if edition is not None:
            said.append(f"edition for {today}: {settings.base_url}/archive/{mailing_list.slug}/{today}")
    return said

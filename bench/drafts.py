"""What a draft costs on PostgreSQL, run by hand (not in CI): a poll's reassembly, an editor's save, "Send now"'s count.

    .venv/bin/python bench/drafts.py                       # 12,483 readers, 10 stories
    .venv/bin/python bench/drafts.py --readers 100000 --repeat 5

Every feed poll assembles each list's coming draft again (select, render MJML, one guarded UPDATE); an editor's
change does the same plus its audit entry; the edition page counts the readers "Send now" would reach the way
the ledger plans them (confirmed, unpaused, unsuppressed). Best of --repeat, on BENCH_POSTGRES_ADMIN_URL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.delivery import fresh_database, service_env  # noqa: E402
from bench.metrics_scale import best_of  # noqa: E402


def main() -> None:
    """Plant readers and stories, then time each step; one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=12_483)
    parser.add_argument("--stories", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="newsletter_bench_drafts")
    args = parser.parse_args()
    args.dkim, args.synchronous_commit = False, None  # what bench.delivery's service_env reads
    with tempfile.TemporaryDirectory(prefix="bench-drafts-") as folder:
        database_url = fresh_database(args.database)
        os.environ.update(service_env(args, database_url, "smtp://127.0.0.1:1", folder))
        from service.core.config import get_settings
        from service.core.db import engine_for, session_scope
        from service.delivery.audience import send_facts
        from service.editions import get_edition
        from service.editions.drafts import refresh_drafts
        from service.editions.editing import Editor, pin, unpin
        from service.lists.rules import DEMO_LIST, create_list
        from service.models import utcnow
        from tests.support.edition_stories import day_of_stories
        from tests.support.readers import add_readers

        get_settings.cache_clear()
        settings = get_settings()
        with session_scope(database_url) as session:
            mailing_list = create_list(session, **{**DEMO_LIST, "timezone": "UTC"})
            mailing_list.send_time = utcnow().replace(hour=23, minute=59).time()
            session.commit()
            add_readers(engine_for(database_url), mailing_list.id, args.readers)
            stories = day_of_stories(session, args.stories, hostile=False)
            poll = best_of(args.repeat, lambda: refresh_drafts(session, settings, utcnow()))
            edition = get_edition(session, mailing_list, utcnow().date())
            assert edition is not None
            story_id, editor = stories[0].id, Editor("bench")

            def change() -> None:
                """Pin then unpin: two saves, each version-checked and audited."""
                pin(session, settings, edition.id, story_id, editor, edition.version)
                unpin(session, settings, edition.id, story_id, editor, edition.version)

            saves = best_of(args.repeat, change) / 2
            facts = send_facts(session, settings, mailing_list, edition.edition_date)
            counting = best_of(args.repeat, lambda: send_facts(session, settings, mailing_list, edition.edition_date))
        print(f"poll's draft reassembly, 1 list of {len(edition.story_ids)} stories: {poll * 1000:.0f} ms")
        print(f"an editor's save (reassembly, guarded update, audit): {saves * 1000:.0f} ms")
        print(f"send-now facts ({facts.button!r}): {counting * 1000:.0f} ms")


if __name__ == "__main__":
    main()

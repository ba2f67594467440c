"""The embedded defaults at scale, run by hand: `make run`'s SQLite file and filesystem broker sending to smtp-sink.

    .venv/bin/python bench/embedded.py --n 10000

One worker with two pool processes, as `make run` starts it, sends a 10-story edition to N confirmed readers
(no DATABASE_URL, BROKER_URL or REDIS_URL: everything under a temporary DATA_DIR). smtp-source's rate on the same
sink, with the same message size and connection count, is measured first. The last line is
`embedded messages=N seconds=S rate=R/s duplicates=D missing=K smtp-source=R/s ratio=X`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.delivery import CACHE  # noqa: E402
from bench.postfix import Sink, smtp_source, tools  # noqa: E402
from bench.processes import Workers  # noqa: E402

CONCURRENCY = 2  # `make run`'s worker: --concurrency=2, one SMTP connection per pool process


def main() -> None:
    """Set up the embedded service, measure smtp-source, then our send; print the last line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="confirmed readers (messages)")
    args = parser.parse_args()
    postfix = tools(CACHE)
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as name:
        folder = Path(name)
        sink = Sink(postfix, folder)
        env = {
            "ENVIRONMENT": "bench",
            "DATA_DIR": str(folder / "data"),
            "SMTP_URL": sink.url,
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "BASE_URL": "https://news.example.org",
            "MAIL_FROM": "World News daily <news@news.example.org>",
            "TASK_QUEUE": f"embedded-{os.getpid()}",
            "POSTAL_ADDRESS": "World News Ltd, 1 Example Street, London",
            "RATE_LIMIT_STORAGE_URL": "memory://",
        }
        for key in ("DATABASE_URL", "BROKER_URL", "REDIS_URL"):
            os.environ.pop(key, None)
        os.environ.update(env)
        from service.core.config import get_settings
        from service.core.db import engine_for, session_scope
        from service.delivery.message import EditionMail, Recipient
        from service.delivery.schedule import send_now
        from service.editions import build_edition
        from service.lists.rules import DEMO_LIST, create_list
        from service.models import utcnow
        from service.ops import migrate
        from service.tasks import start_drains
        from tests.support.edition_stories import day_of_stories
        from tests.support.readers import add_readers, wait_until_complete

        get_settings.cache_clear()
        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.effective_database_url
        migrate.upgrade(url)
        engine = engine_for(url)
        with session_scope(url) as session:
            mailing_list = create_list(session, **DEMO_LIST)
            list_id = mailing_list.id
            readers = add_readers(engine, list_id, args.n)
            day_of_stories(session, 10, hostile=False)
            edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=utcnow().date())
            size = len(EditionMail(settings, edition, mailing_list).render(Recipient(1, readers[1], "Reader 1")))
        reference = args.n / smtp_source(postfix, sink.port, messages=args.n, sessions=CONCURRENCY, size=size)
        sink.stop()
        sink = Sink(postfix, folder)
        os.environ["SMTP_URL"] = env["SMTP_URL"] = sink.url
        get_settings.cache_clear()
        settings = get_settings()
        workers = Workers(env, 1, CONCURRENCY, "prefork", folder)
        try:
            started = time.perf_counter()
            with session_scope(url) as session:
                from service.models import MailingList

                edition, planned = send_now(
                    settings, session, session.get(MailingList, list_id), utcnow().date(), utcnow()
                )
                edition_id = edition.id
            start_drains(edition_id, CONCURRENCY)
            wait_until_complete(engine, edition_id, timeout=3600)
            seconds = time.perf_counter() - started
        finally:
            workers.stop()
            time.sleep(0.5)
            sink.stop()
        received = sink.recipients()
        duplicates = sum(count - 1 for count in received.values() if count > 1)
        missing = len(set(readers) - set(received))
        rate = planned / seconds
        print(
            f"embedded messages={sink.messages()} seconds={seconds:.1f} rate={rate:.0f}/s duplicates={duplicates} "
            f"missing={missing} smtp-source={reference:.0f}/s ratio={rate / reference:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

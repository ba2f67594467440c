"""`make run`'s console: which lines of the processes' output a newcomer sees, and how (the rest stays in var/log/)."""

import pytest

from service.ops.devconsole import console_line

SHOWN = [
    (
        "INFO:     Uvicorn running on http://127.0.0.1:18241 (Press CTRL+C to quit)",
        "listening on http://127.0.0.1:18241",
    ),
    ('INFO:     127.0.0.1:60568 - "POST /subscribe HTTP/1.1" 303 See Other', "POST /subscribe -> 303"),
    (
        'INFO:     127.0.0.1:60568 - "POST /confirm/eyJzIjoxLCJsIjpbMV19.axEZKA.u66EgndVcoSMhXg HTTP/1.1" 200 OK',
        "POST /confirm/eyJzIjoxLCJs... -> 200",
    ),
    ('INFO:     127.0.0.1:60568 - "GET /archive HTTP/1.1" 500 Internal Server Error', "GET /archive -> 500"),
    ("[2026-12-03 07:19:22,946: INFO/MainProcess] celery@vm ready.", "ready"),
    (
        "[2026-12-03 07:20:23,074: INFO/ForkPoolWorker-1] edition 1 drained: {'sent': 3, 'failed': 1}",
        "edition 1 delivered: sent 3, failed 1",
    ),
    (
        "[2026-12-03 07:20:22,001: INFO/ForkPoolWorker-2] edition 4 (world-news, 2026-12-03) started for 2 readers",
        "edition 4 (world-news, 2026-12-03) started for 2 readers",
    ),
    (
        "[2026-12-03 07:21:22,038: ERROR/ForkPoolWorker-2] Task service.tasks.drain_edition[db5] raised unexpected: "
        "OperationalError('database is locked')",
        "error: Task service.tasks.drain_edition[db5] raised unexpected: OperationalError('database is locked')",
    ),
    (
        "2026-12-03 07:20:00,386 WARNING service.delivery.throttle: rate limit store unavailable",
        "warning: rate limit store unavailable",
    ),
    ("Traceback (most recent call last):", "traceback (the full text is in the log)"),
]
HIDDEN = [
    'INFO:     127.0.0.1:60568 - "GET /subscribe HTTP/1.1" 200 OK',
    'INFO:     127.0.0.1:60568 - "GET /favicon.ico HTTP/1.1" 404 Not Found',
    "INFO:     Started server process [14242]",
    "[2026-12-03 07:19:51,607: INFO/MainProcess] Scheduler: Sending due task sweep-deliveries "
    "(service.tasks.sweep_deliveries)",
    "[2026-12-03 07:19:51,962: INFO/MainProcess] Task service.tasks.sweep_deliveries[316a65a3] received",
    "[2026-12-03 07:19:52,553: INFO/ForkPoolWorker-2] Task service.tasks.sweep_deliveries[316a65a3] succeeded in "
    "0.58s: None",
    "[2026-12-03 07:20:23,074: INFO/ForkPoolWorker-1] edition 1 drained: {}",
    "[2026-12-03 07:19:22,791: WARNING/MainProcess] No hostname was supplied. Reverting to default 'localhost'",
    " -------------- celery@vm v5.7.0 (collider)",
    "- ** ---------- .> transport:   filesystem://:**@localhost//",
    "worker: Warm shutdown (MainProcess)",
    '  File "/repo/service/tasks.py", line 34, in send_confirmation',
]


@pytest.mark.parametrize("line, shown", SHOWN)
def test_an_event_is_one_short_line(line, shown):
    assert console_line(line) == shown


@pytest.mark.parametrize("line", HIDDEN)
def test_banners_ticks_and_page_views_stay_in_the_log(line):
    assert console_line(line) is None

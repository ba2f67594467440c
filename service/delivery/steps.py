"""The steps each claimed message goes through, in the order that keeps delivery exact, and who may watch them.

claim -> build -> write content -> wait for the previous record -> send the final dot -> record.
Message N's content goes out while N-1's record commits, but N's final dot waits for that commit, so a
worker killed at any moment leaves at most one message per connection delivered and not recorded; its
retry carries the same Message-ID. The README's "How it works" has the table: each step, what it
guarantees, what a crash right after it leads to. service/delivery/batch.py walks the steps.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Step(StrEnum):
    """What an observer hears, with the ledger row (delivery id) it is about."""

    claimed = "claimed"  # the row is this worker's, under a lease; nothing is on the wire
    built = "built"  # its message is signed and joined, in memory
    content_written = "content written"  # envelope accepted, content sent, no final dot: the server keeps nothing yet
    committed = "committed"  # its record's commit was answered by the database
    final_dot = "final dot"  # the dot goes out now: the previous row's record is committed, the lease still held
    replied = "replied"  # the server's last word on it is read (a refusal comes without content or dot)
    record_sent = "record sent"  # its outcome went to the database; the answer is read before the next final dot


Observer = Callable[[Step, int], None]


def unobserved(step: Step, delivery_id: int) -> None:
    """Nobody watches (the default: a call costs next to nothing per message)."""

"""Ports for the servers a test starts, handed out so that two test processes, or the kernel, never pick the same."""

from __future__ import annotations

import itertools
import os
import random
import socket
from pathlib import Path

FIRST_PORT = 10000  # below it sit the fixed ports of the services a test talks to (PostgreSQL, Redis, RabbitMQ)
BLOCK = 2000  # ports per test process: a test starts a few servers at a time, and each port is checked before use
# Ports a browser refuses to load ("net::ERR_UNSAFE_PORT"; Chromium's list in net/base/port_util.cc, Firefox's
# alike): above FIRST_PORT only 10080, once Amanda's backup port.
BROWSERS_REFUSE = frozenset({10080})


def _ephemeral_start() -> int:
    """Where the kernel's range for port 0 and outgoing connections begins (32768 on Linux unless tuned)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _process_block() -> range:
    """This test process's own ports: pytest-xdist's gw0, gw1, ... each take the next block below the kernel's range."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    blocks = max(1, (_ephemeral_start() - FIRST_PORT) // BLOCK)
    start = FIRST_PORT + (int(worker.removeprefix("gw") or 0) % blocks) * BLOCK
    return range(start, start + BLOCK)


_BLOCK = _process_block()
_START = random.randrange(BLOCK)  # a random start: two runs that overlap rarely meet
_CANDIDATES = itertools.cycle([port for port in [*_BLOCK[_START:], *_BLOCK[:_START]] if port not in BROWSERS_REFUSE])


def free_port() -> int:
    """A TCP port nobody listens on now, from this process's block: a port the kernel picks for port 0 or for an
    outgoing connection could be taken by another process between this call and the server's bind."""
    for _ in range(BLOCK):
        port = next(_CANDIDATES)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # something listens there, or a connection on it is still closing
            return port
    raise RuntimeError(f"no free port in {_BLOCK.start}-{_BLOCK.stop - 1}")

"""Postfix's smtp-sink and smtp-source for the delivery benchmark, taken from Debian's package when not installed."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

RCPT = re.compile(rb"RCPT TO:<([^>]*)>")
MESSAGES = re.compile(rb"mesg=(\d+)")


@dataclass(frozen=True)
class Tools:
    """Where the two programs are and the environment they need (their shared libraries)."""

    sink: str
    source: str
    env: dict[str, str]


def tools(cache: Path) -> Tools:
    """smtp-sink/smtp-source from PATH, else from `apt-get download postfix` unpacked into the cache."""
    sink, source = shutil.which("smtp-sink"), shutil.which("smtp-source")
    if sink and source:
        return Tools(sink, source, dict(os.environ))
    root = cache / "postfix"
    if not (root / "usr/sbin/smtp-sink").exists():
        cache.mkdir(parents=True, exist_ok=True)
        for old in cache.glob("postfix_*.deb"):
            old.unlink()
        subprocess.run(["apt-get", "download", "postfix"], cwd=cache, check=True, capture_output=True)
        deb = next(cache.glob("postfix_*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    libs = str(root / "usr/lib/postfix")
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(filter(None, [libs, os.environ.get("LD_LIBRARY_PATH")]))}
    return Tools(str(root / "usr/sbin/smtp-sink"), str(root / "usr/sbin/smtp-source"), env)


class Sink:
    """smtp-sink with -v (each SMTP command, RCPT included, to stderr) and -c (message counter to stdout).

    The verbose log is a few short lines per message, so recipients are counted from the sink's own
    record without writing 45 KB per message to disk (its -d/-D dumps would).
    """

    def __init__(self, tools: Tools, folder: Path, backlog: int = 1024):
        self.port = free_port()
        self.counter_path, self.log_path = folder / "sink.counters", folder / "sink.log"
        command = [tools.sink, "-v", "-c", "-4", "-m", "1024"]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # smtp-sink refuses to run as root without dropping privileges
        command += [f"127.0.0.1:{self.port}", str(backlog)]
        with self.counter_path.open("wb") as out, self.log_path.open("wb") as err:
            self.process = subprocess.Popen(command, env=tools.env, stdout=out, stderr=err)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"smtp-sink did not start: {self.log_path.read_text()[-2000:]}") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        """Where our workers send."""
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self) -> int:
        """Messages the sink accepted (its -c counter, updated at each final '.')."""
        found = MESSAGES.findall(self.counter_path.read_bytes())
        return int(found[-1]) if found else 0

    def recipients(self) -> Counter:
        """How many times the sink saw each envelope recipient."""
        return Counter(address.decode() for address in RCPT.findall(self.log_path.read_bytes()))

    def stop(self) -> None:
        """Stop listening."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def smtp_source(tools: Tools, port: int, *, messages: int, sessions: int, size: int) -> float:
    """Seconds smtp-source takes to send `messages` of `size` bytes over `sessions` reused connections."""
    command = [
        tools.source,
        "-d",
        "-N",
        "-s",
        str(sessions),
        "-m",
        str(messages),
        "-l",
        str(size),
        "-f",
        "news@news.example.org",
        "-t",
        "reader@example.org",
        f"127.0.0.1:{port}",
    ]
    started = time.perf_counter()
    subprocess.run(command, env=tools.env, check=True)
    return time.perf_counter() - started

"""Real service processes a test can start, SIGKILL and restart: Celery workers, beats and a Redis server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from service.core.config import REPO_ROOT
from tests.support.ports import free_port


class Managed:
    """A child process in its own session (so the whole tree can be killed), logging to a file."""

    ready_marker: bytes | None = None

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path):
        self.command, self.env, self.log_path = command, env, log_path
        self.proc: subprocess.Popen | None = None
        self._offset = 0  # where this start's lines begin in the log

    def start(self, timeout: float = 60.0) -> Managed:
        """Start and wait until it says it is ready."""
        return self.launch().wait_ready(timeout)

    def launch(self) -> Managed:
        """Start, without waiting (so several processes can start at once: see start_together)."""
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> Managed:
        """Until its log says it is ready (from this start on); kill it and fail with the log if it never does."""
        deadline = time.monotonic() + timeout
        while self.ready_marker and self.ready_marker not in self.log_path.read_bytes()[self._offset :]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.command[:5]} did not start:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def children(self) -> list[int]:
        """Direct children (a worker's pool processes)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        """SIGKILL the whole process tree at once: no cleanup, no acks, like a power cut."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """A polite stop at the end of a test."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        """Still running."""
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, size: int = 4000) -> str:
        """The end of its log, for failure messages."""
        return self.log_path.read_text(errors="replace")[-size:] if self.log_path.exists() else ""


def start_together(*processes: Managed, timeout: float = 60.0) -> None:
    """Start them all, then wait until each is ready: their start-up times overlap instead of adding up."""
    for process in processes:
        process.launch()
    for process in processes:
        process.wait_ready(timeout)


class Worker(Managed):
    """`celery -A worker worker` with a prefork pool."""

    ready_marker = b"ready."

    def __init__(self, env: dict[str, str], log_path: Path, name: str, concurrency: int = 2):
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}@%h",
        ]
        super().__init__(command, env, log_path)


class Beat(Managed):
    """`celery -A worker beat` (redbeat's Redis lock when the broker is Redis)."""

    ready_marker = b"beat: Starting"

    def __init__(self, env: dict[str, str], log_path: Path, schedule_dir: Path):
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "beat",
            "--loglevel=INFO",
            f"--schedule={schedule_dir / 'celerybeat-schedule'}",
            "--pidfile=",
        ]
        super().__init__(command, env, log_path)


class RedisServer(Managed):
    """A Redis server of the test's own, on a free port, so restarting it disturbs nobody else."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        super().__init__(command, dict(os.environ), log_path)

    @property
    def url(self) -> str:
        """Where clients reach it."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        """Start and wait until it answers PING."""
        super().start()
        await_redis(self, self.url, timeout)
        return self


def await_redis(server: Managed, url: str, timeout: float) -> None:
    """Wait until a just-started redis-server answers PING; fail with its log's tail if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            redis.Redis.from_url(url, socket_timeout=1).ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{server.log_tail()}") from None
            time.sleep(0.1)

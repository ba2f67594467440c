"""`make run`: migrate, seed a demo list, then run web, worker, beat (and the SMTP sink) until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from service.core.config import REPO_ROOT, ConfigError, Settings
from service.core.config.runfile import read_run_file, remove_run_file, run_file_path, write_run_file
from service.core.db import session_scope
from service.ops import migrate
from service.ops.demo import load_demo
from service.ops.devconsole import Console, start_relay

CRASH_GRACE_SECONDS = 1.0  # a process that exits this close to a Ctrl-C was stopped by it, not crashed
CRASH_TAIL_LINES = 5  # the end of a crashed process's log, shown on the console


def prepare(settings: Settings) -> None:
    """Everything the processes need before they start: folders, schema, demo content."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        for line in load_demo(session, settings):
            print(f"  demo: {line}")


def commands(settings: Settings) -> list[tuple[str, list[str]]]:
    """The processes of a complete service on this machine."""
    python = sys.executable
    procs = []
    if settings.uses_embedded_smtp:
        procs.append(("smtp-sink", [python, "-m", "service.cli", "sink"]))
    procs += [
        ("worker", [python, "-m", "celery", "-A", "worker", "worker", "--loglevel=INFO", "--concurrency=2", "-E"]),
        ("beat", [python, "-m", "celery", "-A", "worker", "beat", "--loglevel=INFO"]),
        ("web", [python, "-m", "service.cli", "web"]),
    ]
    return procs


def shared_settings(settings: Settings) -> dict[str, str]:
    """What every process of this run, and every CLI command in another shell, must agree on."""
    shared = {"PORT": str(settings.port)}
    if "base_url" in settings.model_fields_set:  # otherwise each derives it from PORT, as this process did
        shared["BASE_URL"] = settings.base_url
    if settings.uses_embedded_smtp:
        shared["SMTP_SINK_PORT"] = str(settings.smtp_sink_port)
    return shared


def stop_all(running: list[tuple[str, subprocess.Popen]], grace: float = 10.0) -> None:
    """SIGTERM everyone, wait a little, then SIGKILL whoever is left."""
    for _, proc in running:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for _, proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def watch(running: list[tuple[str, subprocess.Popen]], stop: threading.Event, console: Console, log_dir: Path) -> int:
    """Wait for Ctrl-C (0) or for a process to die on its own (1, after showing the end of its log)."""
    while not stop.wait(0.5):
        for name, proc in running:
            if proc.poll() is not None and not stop.wait(CRASH_GRACE_SECONDS):
                log = log_dir / f"{name}.log"
                lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
                for line in lines[-CRASH_TAIL_LINES:]:
                    console.say(name, f"| {line}")
                console.say(name, f"exited with {proc.returncode}; stopping everything (its whole log: {log})")
                return 1
    return 0


def run(settings: Settings) -> int:
    """Start every process, print where to look, and stop them all when one dies or on Ctrl-C (exit status 0)."""
    if other := read_run_file(settings.data_dir):
        raise ConfigError(
            f"another `newsletter run` (pid {other[0]}) uses DATA_DIR {settings.data_dir}: stop it, or "
            "give this one its own DATA_DIR and PORT"
        )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C reaches every process of the group: all stop quietly
        signal.signal(signum, lambda *_: stop.set())
    prepare(settings)
    if stop.is_set():
        return 0
    data_dir, log_dir = settings.data_dir.resolve(), settings.data_dir.resolve() / "log"
    shared = shared_settings(settings)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATA_DIR": str(data_dir), **shared}
    console = Console()
    running, relays = [], []
    write_run_file(data_dir, shared)
    try:
        for name, argv in commands(settings):
            proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            running.append((name, proc))
            assert proc.stdout is not None
            relays.append(start_relay(name, proc.stdout, log_dir, console, echo_all=name == "smtp-sink"))
        print(
            f"\n  Subscribe page: {settings.base_url}/subscribe\n  Archive:        {settings.base_url}/archive"
            f"\n  Health:         {settings.base_url}/healthz"
        )
        if settings.uses_embedded_smtp:
            print(f"  Outbox:         {settings.outbox_dir} (every email sent, as .eml; confirmation links print here)")
        print(
            f"  Logs:           {log_dir}/ (web, worker, beat{', smtp-sink' if settings.uses_embedded_smtp else ''})"
            f"\n  Other shells:   CLI commands with this DATA_DIR read {run_file_path(data_dir)}"
            "\n  Press Ctrl-C to stop.\n",
            flush=True,
        )
        code = watch(running, stop, console, log_dir)
        print("\nStopping...", flush=True)
        return code
    finally:
        stop_all(running)
        for thread in relays:
            thread.join(timeout=2)
        remove_run_file(data_dir)
        if stop.is_set():
            print("Stopped.", flush=True)

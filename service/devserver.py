"""`make run`: migrate, seed a demo list, then run web, worker, beat (and the SMTP sink) until Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from service import migrate
from service.config import REPO_ROOT, Settings
from service.db import session_scope
from service.demo import load_demo


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


def run(settings: Settings) -> int:
    """Start every process, print where to look, and stop them all when one dies or on Ctrl-C."""
    prepare(settings)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATA_DIR": str(settings.data_dir.resolve())}
    running = [(name, subprocess.Popen(argv, cwd=REPO_ROOT, env=env)) for name, argv in commands(settings)]
    print(f"\n  Subscribe page: {settings.base_url}/subscribe\n  Archive:        {settings.base_url}/archive"
          f"\n  Health:         {settings.base_url}/healthz")
    if settings.uses_embedded_smtp:
        print(f"  Outbox:         {settings.outbox_dir} (every email sent, as .eml)")
    print("  Press Ctrl-C to stop.\n", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while True:
            for name, proc in running:
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping everything", file=sys.stderr)
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    finally:
        stop_all(running)

"""`make run`'s console: every line a process prints goes to DATA_DIR/log/<process>.log, and the console gets one
short line per event that matters (listening, a form posted, a confirmation link, an edition sent, a problem)."""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path
from typing import IO

# the level and the message, in the three formats the processes use: ours, Celery's and uvicorn's
OURS = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (?P<level>[A-Z]+) (?P<logger>[\w.]+): (?P<message>.*)$")
CELERY = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+: (?P<level>[A-Z]+)/[\w-]+\] (?P<message>.*)$")
UVICORN = re.compile(r"^(?P<level>[A-Z]+):\s+(?P<message>.*)$")
ACCESS = re.compile(r'^[\d.:\[\]a-f]+ - "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3})')
PROBLEM_LEVELS = {"WARNING", "ERROR", "CRITICAL"}
QUIET_METHODS = {"GET", "HEAD", "OPTIONS"}
# INFO messages worth a line: the service starting, an edition's progress, an import, a subscribe that sent nothing
EVENTS = (
    (re.compile(r"^Uvicorn running on (?P<url>\S+)"), "listening on {url}"),
    (re.compile(r"^celery@\S+ ready\.$"), "ready"),
    (re.compile(r"^beat: Starting\.\.\.$"), "started"),
    (re.compile(r"^(?P<text>edition \d+ .* started for \d+ readers?.*)$"), "{text}"),
    (re.compile(r"^edition (?P<id>\d+) drained: \{(?P<counts>.+)\}$"), "edition {id} delivered: {counts}"),
    (re.compile(r"^(?P<text>(import job|subscribe request) .*)$"), "{text}"),
)
NOISE = (
    "No hostname was supplied",  # kombu's filesystem transport, on every connection
    "running the worker with superuser privileges",
)


def short_path(path: str, longest: int = 24) -> str:
    """A request path with its long segments (signed tokens) cut, so the line fits a terminal."""
    return "/".join(part if len(part) <= longest else f"{part[:12]}..." for part in path.split("?")[0].split("/"))


def console_line(line: str) -> str | None:
    """What the console shows for one line of a process's output; None for the lines only the log keeps."""
    line = line.rstrip()
    if line.startswith("Traceback (most recent call last)"):
        return "traceback (the full text is in the log)"
    match = OURS.match(line) or CELERY.match(line) or UVICORN.match(line)
    if not match:
        return None
    level, message = match["level"], match["message"].strip()
    if access := ACCESS.match(message):
        if access["method"] not in QUIET_METHODS or int(access["status"]) >= 500:
            return f"{access['method']} {short_path(access['path'])} -> {access['status']}"
        return None
    if level in PROBLEM_LEVELS:
        return None if any(noise in message for noise in NOISE) else f"{level.lower()}: {message}"
    for pattern, template in EVENTS:
        if event := pattern.match(message):
            fields = event.groupdict()
            if "counts" in fields:  # {'sent': 3, 'failed': 1} -> sent 3, failed 1
                fields["counts"] = fields["counts"].replace("'", "").replace(": ", " ")
            return template.format(**fields)
    return None


class Console:
    """One writer for the console, so lines from several processes never interleave mid-line."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def say(self, process: str, text: str) -> None:
        """Print `HH:MM:SS process  text`."""
        with self.lock:
            self.stream.write(f"{time.strftime('%H:%M:%S')} {process:<9} {text}\n")
            self.stream.flush()


def relay(process: str, output: IO[bytes], log_path: Path, console: Console, *, echo_all: bool = False) -> None:
    """Copy a process's output to its log file until it closes, showing the lines that matter (all with echo_all)."""
    with log_path.open("ab") as log:
        for raw in iter(output.readline, b""):
            log.write(raw)
            log.flush()
            text = raw.decode("utf-8", "replace").rstrip()
            shown = text if echo_all else console_line(text)
            if shown:
                console.say(process, shown)


def start_relay(
    process: str, output: IO[bytes], log_dir: Path, console: Console, *, echo_all: bool = False
) -> threading.Thread:
    """Relay in a background thread (daemon: a stuck pipe never keeps `make run` from ending)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    thread = threading.Thread(
        target=relay,
        args=(process, output, log_dir / f"{process}.log", console),
        kwargs={"echo_all": echo_all},
        name=f"relay-{process}",
        daemon=True,
    )
    thread.start()
    return thread

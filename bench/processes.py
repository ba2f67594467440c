"""The benchmark's view of processes: Celery workers, their peak memory, CPU spent by whom, and py-spy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
FRAME = re.compile(r"^(.*) \((.*):(\d+)\)$")
OUR_MODULES = (
    "sender.py",
    "batch.py",
    "records.py",
    "outgoing.py",
    "prepared.py",
    "ledger.py",
    "message.py",
    "smtp_session.py",
    "throttle.py",
    "control.py",
)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving connections to one database."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f" {database} " in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


class Machine:
    """How busy both cores were between two moments (everyone's work counts: this machine is shared)."""

    @staticmethod
    def ticks() -> tuple[int, int]:
        """(busy, total) jiffies since boot."""
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def __init__(self):
        self.start = self.ticks()

    def busy(self) -> float:
        """Fraction of all CPU time that was busy since this object was made."""
        (busy0, total0), (busy1, total1) = self.start, self.ticks()
        return (busy1 - busy0) / max(1, total1 - total0)


class Workers:
    """`celery -A worker worker` processes, with their peak memory sampled while they run."""

    def __init__(self, env: dict[str, str], count: int, concurrency: int, pool: str, folder: Path):
        self.processes, self.logs, self.peaks, self.cpu = [], [], Counter(), Counter()
        for number in range(count):
            log = folder / f"worker{number}.log"
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker",
                "worker",
                "--loglevel=INFO",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench{number}-{os.getpid()}@%h",
            ]
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
                )
            self.logs.append(log)
        for process, log in zip(self.processes, self.logs, strict=True):
            deadline = time.monotonic() + 60
            while b"ready." not in log.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
        self.cpu_at_start = {pid: cpu_seconds(pid) for pid in self.pids()}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def pids(self) -> list[int]:
        """Every worker process and pool child."""
        found = []
        for process in self.processes:
            found.append(process.pid)
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            found += [int(pid) for pid in children.read_text().split()] if children.exists() else []
        return found

    def _sample(self) -> None:
        """Peak resident memory per process: the kernel's high-water mark (VmHWM), read twice a second."""
        while not self._stop.wait(0.5):
            self.read()

    def read(self) -> None:
        """Note each live process's VmHWM and CPU time used since the workers were ready."""
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks[pid], int(line.split()[1]) / 1024)
            except OSError:
                pass
            self.cpu[pid] = max(self.cpu[pid], cpu_seconds(pid) - self.cpu_at_start.get(pid, 0.0))

    def stop(self) -> float:
        """Stop the workers; returns the largest peak RSS of any one worker process, in MB."""
        self.read()
        self._stop.set()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        return max(self.peaks.values(), default=0.0)


def start_profiler(pid: int, out: Path, wall: bool = False) -> subprocess.Popen | None:
    """py-spy on one worker and its pool children, if installed next to this Python (wall: waits count too)."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("py-spy is not installed in this virtualenv; no profile", file=sys.stderr)
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "-o",
            str(out),
        ]
        + (["--idle"] if wall else []),
        stdout=subprocess.DEVNULL,
    )


def summarise_profile(path: Path, top: int = 20) -> None:
    """Self time per line and inclusive time per function of ours, from py-spy's collapsed stacks."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [FRAME.match(frame) for frame in stack.split(";")[1:]]  # the first names the process
        frames = [(f"{m[1]} ({Path(m[2]).name}:{m[3]})", f"{m[1]} ({Path(m[2]).name})") for m in frames if m]
        total += int(count)
        if frames:
            own[frames[-1][0]] += int(count)
        for function in {
            function for _, function in frames if function.endswith(tuple(f"({name})" for name in OUR_MODULES))
        }:
            inclusive[function] += int(count)
    print(f"profile: {total} samples ({path})")
    for title, table in (("self time, by line", own), ("inclusive time, service/delivery functions", inclusive)):
        print(f"  top {top} by {title}:")
        for frame, count in table.most_common(top):
            print(f"    {100 * count / max(1, total):5.1f}%  {frame}")

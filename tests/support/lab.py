"""The services host of the multi-host tests: a private PostgreSQL, a private Redis and a recording SMTP server.

They run inside the services namespace of a tests.support.netns.Network, owned by the test, so a test may
restart them without touching the machine's own PostgreSQL and Redis (other tests use those).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller

from tests.support.netns import NetnsUnavailable, Network
from tests.support.processes import Managed, Worker, await_redis
from tests.support.smtp import CountingSmtpServer


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's programs (initdb and pg_ctl are not on PATH on Debian)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise NetnsUnavailable("PostgreSQL's server programs are not installed (apt-get install postgresql)")
    return Path(found[-1]).parent


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, listening only on the network's database address."""

    def __init__(self, network: Network, root: Path):
        self.network, self.root = network, root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.bin = _postgres_bin()

    def _as_postgres(self, *command: str, namespace: bool = False) -> None:
        """initdb and the server refuse to run as root: run as the postgres user (in the namespace if asked)."""
        prefix = self.network.run_in(self.network.services) if namespace else []
        done = subprocess.run(
            [*prefix, "runuser", "-u", "postgres", "--", *command], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout.strip()}\n{self.tail()}")

    def init(self) -> PrivatePostgres:
        """A new cluster: trust for the test network, no fsync (nothing here must survive the machine)."""
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--no-locale",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '{self.network.database_ip}'\nport = 5432\n"
                f"unix_socket_directories = '{self.data}'\nfsync = off\nfull_page_writes = off\n"
                "max_connections = 200\nshared_buffers = 64MB\n"
            )
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.network.prefix}.0/24 trust\n")
        return self

    def start(self) -> None:
        """Start inside the services namespace and wait until it accepts connections."""
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "start",
            namespace=True,
        )

    def stop(self, mode: str = "fast") -> None:
        """fast: roll back open transactions and close every connection, as an operator's restart does."""
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop, stay down a while, start again."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def url(self, database: str) -> str:
        """A URL the workers and the test process both reach."""
        return f"postgresql+psycopg://postgres@{self.network.database_ip}:5432/{database}"

    def admin(self) -> psycopg.Connection:
        """An autocommit connection to the maintenance database."""
        return psycopg.connect(
            f"postgresql://postgres@{self.network.database_ip}:5432/postgres", autocommit=True, connect_timeout=5
        )

    def tail(self, size: int = 3000) -> str:
        """The end of the server log, for failure messages."""
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""


class NamespacedRedis(Managed):
    """redis-server in the services namespace, keeping nothing on disk: a restart loses every queued task."""

    def __init__(self, network: Network, log_path: Path):
        self.network = network
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [
            *network.run_in(network.services),
            binary,
            "--bind",
            network.services_ip,
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ]
        super().__init__(command, dict(os.environ), log_path)

    def url(self, db: int = 0) -> str:
        """Where clients reach it."""
        return f"redis://{self.network.services_ip}:6379/{db}"

    def start(self, timeout: float = 20.0) -> NamespacedRedis:
        """Start and wait until it answers PING."""
        super().start()
        await_redis(self, self.url(), timeout)
        return self


class _SocketController(Controller):
    """aiosmtpd's controller on a socket made elsewhere (inside the services namespace)."""

    def __init__(self, handler, sock, **kwargs):
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def _create_server(self):
        """Serve the given socket instead of binding one here."""
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class HostSmtpServer(CountingSmtpServer):
    """The counting SMTP server, listening on the services address; it also notes which host sent each message."""

    def __init__(self, network: Network):
        super().__init__()
        self.sources: list[tuple[str, float]] = []  # (sending host's address, monotonic time), one per delivery
        self._controller = _SocketController(self, network.listening_socket(network.services_ip, 25))
        self.port = 25

    async def handle_DATA(self, server, session, envelope):
        """Record (recipient, Message-ID) and where it came from."""
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        found = re.search(rb"^Message-ID:\s*(\S+)", head, re.IGNORECASE | re.MULTILINE)
        message_id = found.group(1).decode() if found else ""
        now = time.monotonic()
        with self._lock:
            self.deliveries.extend((rcpt.lower(), message_id) for rcpt in envelope.rcpt_tos)
            self.sources.extend((session.peer[0], now) for _ in envelope.rcpt_tos)
        return "250 Message accepted"

    def from_host(self, address: str, since: float = 0.0) -> int:
        """Messages a host handed over since a moment."""
        with self._lock:
            return sum(1 for source, at in self.sources if source == address and at >= since)

    def first_after(self, moment: float) -> float | None:
        """When the first message after a moment arrived (monotonic), if any did."""
        with self._lock:
            return min((at for _, at in self.sources if at >= moment), default=None)

    def per_second(self, addresses: list[str]) -> list[list[int]]:
        """For each host, the messages it handed over in each second since the first message of all."""
        with self._lock:
            sources = list(self.sources)
        if not sources:
            return [[] for _ in addresses]
        start = min(at for _, at in sources)
        seconds = range(int(max(at for _, at in sources) - start) + 1)
        counts = [Counter(int(at - start) for source, at in sources if source == address) for address in addresses]
        return [[count[second] for second in seconds] for count in counts]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self.sources.clear()
        super().clear()


def start_workers(network: Network, env: dict[str, str], log_dir: Path, name: str, concurrency: int) -> list[Worker]:
    """A Celery worker on each host of the network, started together (each takes a few seconds to get ready)."""
    workers = []
    for number, namespace in enumerate(network.hosts, start=1):
        worker = Worker(env, log_dir / f"worker-h{number}.log", f"{name}-h{number}", concurrency)
        worker.command = [*network.run_in(namespace), *worker.command]
        workers.append(worker)
    starting = [threading.Thread(target=worker.start) for worker in workers]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join()
    dead = [worker for worker in workers if not worker.alive()]
    if dead:
        for worker in workers:
            worker.kill()
        raise RuntimeError("a host's worker did not start:\n" + "\n".join(worker.log_tail() for worker in dead))
    return workers

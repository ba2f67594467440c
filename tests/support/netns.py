"""Test hosts as Linux network namespaces, so faults between machines can be made for real on one machine.

A services namespace holds a bridge with two addresses: the first for Redis and SMTP, the second for
PostgreSQL alone (so a host can lose the database and keep SMTP). Each worker host is a namespace whose
veth joins that bridge; the test process joins it through one veth of its own. Names carry the test
run's pid, and `destroy` removes everything it made, whatever state a failed test left it in. Nothing of
the root namespace is touched but that one veth.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


class NetnsUnavailable(RuntimeError):
    """Namespaces cannot be made here (not root, no iproute2): the multi-host tests fail, they are never skipped."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run one iproute2 command; a failure raises with its message."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def _free_subnet() -> str:
    """A /24 of 198.18.0.0/15 (RFC 2544, for test networks) that no interface or route here uses yet."""
    taken = ip("-o", "-4", "addr", "show").stdout + ip("-4", "route", "show").stdout
    for offset in range(512):
        candidate = 18 * 256 + (os.getpid() + offset) % 512  # 198.18.0.x .. 198.19.255.x
        prefix = f"198.{candidate // 256}.{candidate % 256}"
        if f"{prefix}." not in taken:
            return prefix
    raise NetnsUnavailable("no free /24 in 198.18.0.0/15 for the test hosts")


def remove_leftovers() -> None:
    """Namespaces of earlier runs that were killed before their cleanup (their pid is gone): their processes too."""
    for path in NETNS_DIR.glob("nl*-*") if NETNS_DIR.exists() else []:
        found = re.fullmatch(r"nl(\d+)-(svc|h\d+)", path.name)
        if not found or Path(f"/proc/{found.group(1)}").exists():
            continue
        for pid in ip("netns", "pids", path.name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        ip("netns", "del", path.name, check=False)
        ip("link", "del", "dev", f"nl{found.group(1)}t", check=False)


class Network:
    """A services namespace with a bridge, `hosts` worker namespaces joined to it, and the test process too."""

    def __init__(self, hosts: int):
        self.tag = f"nl{os.getpid()}"
        self.services = f"{self.tag}-svc"
        self.hosts = [f"{self.tag}-h{n}" for n in range(1, hosts + 1)]
        self.root_link = f"{self.tag}t"  # the test process's end, the only interface made in the root namespace
        self.prefix = ""
        self.blocked: set[tuple[int, str]] = set()

    @property
    def services_ip(self) -> str:
        """Redis and SMTP listen here."""
        return f"{self.prefix}.1"

    @property
    def database_ip(self) -> str:
        """PostgreSQL alone listens here, so a route to it can be taken away while SMTP stays."""
        return f"{self.prefix}.2"

    @property
    def test_ip(self) -> str:
        """The test process's own address on the bridge."""
        return f"{self.prefix}.254"

    def host_ip(self, host: int) -> str:
        """Host n's address (from 0), as the SMTP server sees it."""
        return f"{self.prefix}.{11 + host}"

    def create(self) -> Network:
        """Make the namespaces and links; NetnsUnavailable when this machine does not allow it."""
        if os.geteuid() != 0:
            raise NetnsUnavailable("the multi-host tests make network namespaces and need root (CI runs as root)")
        if shutil.which("ip") is None:
            raise NetnsUnavailable("the multi-host tests need iproute2's `ip` (apt-get install iproute2)")
        remove_leftovers()
        self.prefix = _free_subnet()
        try:
            ip("netns", "add", self.services)
        except RuntimeError as error:
            raise NetnsUnavailable(f"cannot make a network namespace: {error}") from None
        svc = ("-n", self.services)
        ip(*svc, "link", "set", "dev", "lo", "up")
        ip(*svc, "link", "add", "name", "bridge0", "type", "bridge")
        ip(*svc, "link", "set", "dev", "bridge0", "up")
        for address in (self.services_ip, self.database_ip):
            ip(*svc, "addr", "add", f"{address}/24", "dev", "bridge0")
        ip(
            *svc,
            "link",
            "add",
            "name",
            "vtest",
            "type",
            "veth",
            "peer",
            "name",
            self.root_link,
            "netns",
            str(os.getpid()),
        )
        ip(*svc, "link", "set", "dev", "vtest", "master", "bridge0", "up")
        ip("addr", "add", f"{self.test_ip}/24", "dev", self.root_link)
        ip("link", "set", "dev", self.root_link, "up")
        for number, host in enumerate(self.hosts):
            ip("netns", "add", host)
            ip("-n", host, "link", "set", "dev", "lo", "up")
            ip(*svc, "link", "add", "name", f"vhost{number}", "type", "veth", "peer", "name", "eth0", "netns", host)
            ip(*svc, "link", "set", "dev", f"vhost{number}", "master", "bridge0", "up")
            ip("-n", host, "addr", "add", f"{self.host_ip(number)}/24", "dev", "eth0")
            ip("-n", host, "link", "set", "dev", "eth0", "up")
        return self

    def destroy(self) -> None:
        """Remove all of it; safe to call on a half-made network."""
        ip("link", "del", "dev", self.root_link, check=False)
        for namespace in [*self.hosts, self.services]:
            if (NETNS_DIR / namespace).exists():
                ip("netns", "del", namespace, check=False)

    def run_in(self, namespace: str) -> list[str]:
        """The prefix that runs a command inside a namespace."""
        return ["ip", "netns", "exec", namespace]

    def cut(self, host: int) -> None:
        """Unplug host n: its link goes down on the bridge side, so it reaches nothing (nor does anything reach it)."""
        ip("-n", self.services, "link", "set", "dev", f"vhost{host}", "down")

    def mend(self, host: int) -> None:
        """Plug host n back in."""
        ip("-n", self.services, "link", "set", "dev", f"vhost{host}", "up")

    def block(self, host: int, address: str) -> None:
        """Host n can no longer send to `address` (a blackhole route in its namespace); everything else still works."""
        ip("-n", self.hosts[host], "route", "add", "blackhole", f"{address}/32")
        self.blocked.add((host, address))

    def unblock(self, host: int, address: str) -> None:
        """Take the blackhole route away again."""
        ip("-n", self.hosts[host], "route", "del", "blackhole", f"{address}/32")
        self.blocked.discard((host, address))

    def heal(self) -> None:
        """Undo every fault, so the next test starts on a whole network."""
        for number in range(len(self.hosts)):
            self.mend(number)
        for host, address in list(self.blocked):
            self.unblock(host, address)

    def listening_socket(self, address: str, port: int) -> socket.socket:
        """A TCP socket listening inside the services namespace, made by a thread that enters it and ends.

        setns(2) moves only the calling thread, so the test process itself stays where it is; the socket
        keeps the namespace it was made in.
        """
        made: dict[str, object] = {}

        def enter_and_listen() -> None:
            """Runs in a short-lived thread."""
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with (NETNS_DIR / self.services).open() as handle:
                    if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, port))
                sock.listen(128)
                made["socket"] = sock
            except OSError as error:
                made["error"] = error

        thread = threading.Thread(target=enter_and_listen)
        thread.start()
        thread.join()
        if "error" in made:
            raise NetnsUnavailable(f"cannot listen in namespace {self.services}: {made['error']}")
        sock = made["socket"]
        assert isinstance(sock, socket.socket)
        return sock

"""Run inside `unshare --net --mount` (root): a private network where a feed server on 8.8.8.8 is "the public
internet" and /etc/hosts is ours, so redirects to loopback and DNS rebinding are tried for real, with the system
resolver and real sockets. Prints what each fetch did as JSON; nothing leaves the namespace (it has only `lo`).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import httpx

from service.stories.feeds.fetch import FeedError, address_problem, fetch, make_client
from tests.support.feed_server import FeedServer, Route

PUBLIC_IP = "8.8.8.8"  # a global address, bound to this namespace's own loopback interface only
BODY = (Path(__file__).parent.parent / "data" / "feeds" / "world_rss.xml").read_bytes()


def _hosts(path: Path, **names: str) -> None:
    """What the system resolver answers for these names from now on (glibc reads /etc/hosts at every lookup)."""
    path.write_text("127.0.0.1 localhost\n" + "".join(f"{ip} {name}\n" for name, ip in names.items()))


def _outcome(client: httpx.Client, url: str) -> str:
    """'ok' or the error the feed's row would show."""
    try:
        fetch(client, url, etag=None, last_modified=None, allow_private=False)
    except FeedError as error:
        return str(error)
    return "ok"


def main() -> None:
    """Set up the namespace, serve, fetch, report."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{PUBLIC_IP}/32", "dev", "lo"], check=True)
    hosts = Path(tempfile.mkdtemp()) / "hosts"
    _hosts(hosts, **{"public.example.com": PUBLIC_IP, "rebind.example.com": PUBLIC_IP})
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
    public, loopback = FeedServer(host=PUBLIC_IP).start(), FeedServer().start()
    rebound = f"http://rebind.example.com:{loopback.port}/world.xml"
    public.routes["/world.xml"] = loopback.routes["/world.xml"] = Route(body=BODY)
    public.routes["/to-loopback.xml"] = Route(status=302, location=loopback.url("/world.xml"))
    public.routes["/to-localhost.xml"] = Route(status=301, location=f"http://localhost:{loopback.port}/world.xml")
    public.routes["/to-rebound.xml"] = Route(status=307, location=rebound)
    results: dict[str, object] = {"rebound_at_add_time": address_problem(rebound, False)}
    _hosts(hosts, **{"public.example.com": PUBLIC_IP, "rebind.example.com": "127.0.0.1"})  # the name rebinds
    with make_client(timeout=5) as client:
        results["public"] = _outcome(client, f"http://public.example.com:{public.port}/world.xml")
        for path in ("/to-loopback.xml", "/to-localhost.xml", "/to-rebound.xml"):
            results[path] = _outcome(client, f"http://public.example.com:{public.port}{path}")
        results["rebound"] = _outcome(client, rebound)
        try:  # the transport itself, without fetch's checks first: the connection is refused
            client.get(rebound)
            results["transport"] = "connected"
        except httpx.ConnectError as error:
            results["transport"] = type(error.__cause__).__name__
    results["public_requests"] = len(public.requests)
    results["loopback_requests"] = len(loopback.requests)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

"""The newcomer's `make run`: embedded defaults only, a subscribe that lands in the outbox with its link on the
console, CLI commands in a second shell that build the same links, a quiet console, and a clean Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest

from service.core.config import REPO_ROOT, Settings
from tests.support.bounce_reports import dsn
from tests.support.ports import free_port
from tests.support.web import CSRF

pytestmark = pytest.mark.dev_run

START_LIMIT = 180.0
MAIL_LIMIT = 30.0  # a bound, not a target: a quiet machine mails in about a second; a loaded one once took >10 s
NEWSLETTER = Path(sys.executable).with_name("newsletter")
CONFIRMATION_LINE = re.compile(r"confirmation for newcomer@example\.com: (http\S+/confirm/\S+)$", re.MULTILINE)
CONSOLE_EVENTS_LIMIT = 8  # console lines after "web listening": the POST, the confirmation, nothing periodic
HREF = re.compile(r'href="(https?://[^"]+)"')
TEXT_URL = re.compile(r"https?://[^\s<>\"']+")


def process_table() -> dict[int, tuple[int, str, str]]:
    """Every process on the machine: pid -> (parent pid, state, start time), read from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # it exited while we looked
            table[int(entry.name)] = (int(fields[1]), fields[0], fields[19])
    return table


def descendants(root: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below root, so a recycled pid is never mistaken for a survivor."""
    table = process_table()
    found, frontier = set(), {root}
    while frontier:
        children = {pid for pid, (parent, _, _) in table.items() if parent in frontier}
        found |= {(pid, table[pid][2]) for pid in children}
        frontier = children
    return found


def survivors(family: set[tuple[int, str]]) -> list[int]:
    """Those of the family still running (zombies waiting for a parent's wait() count as gone)."""
    table = process_table()
    return [pid for pid, start in family if pid in table and table[pid][2] == start and table[pid][1] != "Z"]


def listening(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def fresh_shell(data_dir: Path, **settings: str) -> dict[str, str]:
    """A shell with none of the service's settings, as on a fresh checkout, but DATA_DIR and these."""
    settings_names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings_names}
    return {**env, "DATA_DIR": str(data_dir), **settings}


def newcomer_env(data_dir: Path, port: int, sink_port: int, **settings: str) -> dict[str, str]:
    """The shell of `make run`: the three settings a test must move, and beat ticking fast enough to be heard."""
    return fresh_shell(
        data_dir,
        PORT=str(port),
        SMTP_SINK_PORT=str(sink_port),
        SWEEP_INTERVAL_SECONDS="1",
        DISPATCH_INTERVAL_SECONDS="2",
        **settings,
    )


def preview_links(data_dir: Path, out: Path, **settings: str) -> set[str]:
    """Every link of the edition `newsletter editions preview` writes in a second shell (HTML, text, headers)."""
    result = subprocess.run(
        [str(NEWSLETTER), "editions", "preview", "--list", "world-news", "--out", str(out)],
        cwd=REPO_ROOT,
        env=fresh_shell(data_dir, **settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    message = message_from_bytes(out.read_bytes(), policy=policy.default)
    links = set(HREF.findall(message.get_body(("html",)).get_content()))
    links |= set(TEXT_URL.findall(message.get_body(("plain",)).get_content()))
    links |= {
        url
        for name in ("List-Unsubscribe", "List-Archive", "List-Post")
        for url in TEXT_URL.findall(str(message.get(name, "")))
    }
    return links


def origins(links: set[str]) -> set[str]:
    """scheme://host:port of each link."""
    return {re.match(r"https?://[^/]+", link).group(0) for link in links}


def wait_for_page(url: str, proc: subprocess.Popen, log: Path) -> float:
    """Poll until the page answers 200; seconds waited. Fails with the log if the service dies or is too slow."""
    started = time.monotonic()
    while time.monotonic() - started < START_LIMIT:
        if proc.poll() is not None:
            pytest.fail(f"`newsletter run` exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {START_LIMIT:.0f}s:\n{log.read_text()[-4000:]}")


def wait_for_eml(outbox: Path, since: float, log: Path) -> tuple[Path, float]:
    """The first .eml the built-in SMTP sink writes, and the seconds it took; fails with the service's log."""
    while time.monotonic() - since < MAIL_LIMIT:
        found = sorted(outbox.glob("*.eml"))
        if found:
            return found[0], time.monotonic() - since
        time.sleep(0.05)
    pytest.fail(f"no .eml in {outbox} within {MAIL_LIMIT:.0f}s:\n{log.read_text()[-4000:]}")


@pytest.mark.parametrize("stop, base_url", [("ctrl-c", "http://127.0.0.1:{port}"), ("sigint-to-launcher", None)])
def test_make_run_subscribe_lands_in_outbox_and_ctrl_c_stops_everything(tmp_path, stop, base_url):
    port, sink_port = free_port(), free_port()
    data_dir, log = tmp_path / "data", tmp_path / "run.log"
    served_at = base_url.format(port=port) if base_url else f"http://localhost:{port}"
    settings = {"BASE_URL": served_at} if base_url else {}
    launched = time.monotonic()
    with log.open("wb") as out:  # its own session: the signal below reaches the service, never pytest
        proc = subprocess.Popen(
            [str(NEWSLETTER), "run"],
            cwd=REPO_ROOT,
            env=newcomer_env(data_dir, port, sink_port, **settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    family: set[tuple[int, str]] = set()
    try:
        up = wait_for_page(f"http://127.0.0.1:{port}/subscribe", proc, log)
        family = descendants(proc.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, follow_redirects=True) as browser:
            form = browser.get("/subscribe")
            assert "World News daily" in form.text, "the demo list is there to subscribe to"
            posted = time.monotonic()
            answer = browser.post(
                "/subscribe",
                data={
                    "csrf_token": CSRF.search(form.text).group(1),
                    "email": "newcomer@example.com",
                    "list": "world-news",
                    "timezone": "Europe/London",
                },
                follow_redirects=True,
            )  # 303 to the check-your-inbox page
            assert answer.status_code == 200 and "Check your inbox" in answer.text
        eml, mailed = wait_for_eml(data_dir / "outbox", posted, log)
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert message["To"] == "newcomer@example.com"
        assert message["Subject"] == "Please confirm your subscription to World News daily"
        family |= descendants(proc.pid)  # now with the worker's pool children
        assert len(family) >= 4, "sink, worker, beat and web should all be running"
        assert listening(port) and listening(sink_port)

        # a second shell that knows only DATA_DIR builds the running server's links; its own setting still wins for
        # the links made per reader (the edition's own links were frozen when `make run` built it)
        assert origins(preview_links(data_dir, tmp_path / "preview.eml")) == {served_at}
        thorough = stop == "ctrl-c"  # the checks that do not depend on how the run stops: once is enough
        if thorough:
            own = preview_links(data_dir, tmp_path / "own.eml", BASE_URL="https://news.example.org")
            per_reader = {link for link in own if "/unsubscribe/" in link or "/preferences/" in link}
            assert per_reader and origins(per_reader) == {"https://news.example.org"}
            second = subprocess.run(
                [str(NEWSLETTER), "run"],
                cwd=REPO_ROOT,
                env=fresh_shell(data_dir),
                timeout=60,
                capture_output=True,
                text=True,
            )
            assert second.returncode == 2 and "another `newsletter run`" in second.stderr, second.stderr

        # the confirmation link is on the console, whole, and it is the one in the email
        deadline = time.monotonic() + MAIL_LIMIT
        while not CONFIRMATION_LINE.search(log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        printed = CONFIRMATION_LINE.search(log.read_text())
        assert printed, log.read_text()
        assert printed.group(1) in message.get_body(("plain",)).get_content()
        assert printed.group(1).startswith(f"{served_at}/confirm/")
        assert httpx.get(printed.group(1).replace(served_at, f"http://127.0.0.1:{port}"), timeout=10).status_code == 200
        if thorough:
            listed = subprocess.run(
                [str(NEWSLETTER), "outbox"],
                cwd=REPO_ROOT,
                env=fresh_shell(data_dir),
                timeout=60,
                capture_output=True,
                text=True,
            )
            assert printed.group(0) in listed.stdout, "`newsletter outbox` lists the same link again"
            # the outbox is a real mailbox: Return-Path names the VERP envelope a bounce for the message goes to
            return_path = eml.read_bytes().split(b"\r\n", 1)[0].decode()
            assert re.fullmatch(r"Return-Path: <bounces\+[a-z2-7]+@localhost>", return_path), return_path
            bounced = subprocess.run(
                [str(NEWSLETTER), "bounces", "ingest", "--envelope-to", return_path[14:-1]],
                cwd=REPO_ROOT,
                env=fresh_shell(data_dir),
                timeout=60,
                capture_output=True,
                input=dsn("newcomer@example.com", "5.1.1"),
            )
            assert b"hard newcomer@example.com 5.1.1 matched by verp: suppressed" in bounced.stdout, bounced
            time.sleep(3)  # beat ticks every second or two: none of it may reach the console
    finally:
        stopped = time.monotonic()
        if stop == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the foreground group
        else:
            proc.send_signal(signal.SIGINT)  # only the launcher hears it; it must stop its children itself
        try:
            code = proc.wait(timeout=60)
        finally:
            leftovers = survivors(family | descendants(proc.pid))
            for pid in leftovers:  # never leave our own strays behind, even when the test fails
                os.kill(pid, signal.SIGKILL)
    down = time.monotonic() - stopped
    console = log.read_text()
    events = console.split(f"listening on http://127.0.0.1:{port}", 1)[1].split("Stopping...", 1)[0].splitlines()[1:]
    print(
        f"\n[make run, {stop}] /subscribe answered {up:.1f}s after launch; confirmation .eml {mailed:.2f}s after "
        f"the POST ({time.monotonic() - launched - down:.1f}s in all); every process gone {down:.1f}s after SIGINT; "
        f"{len(console.splitlines())} console lines in all, {len(events)} after listening"
    )
    assert code == 0, console[-4000:]
    assert leftovers == [], f"still running after `newsletter run` exited: {leftovers}"
    assert not listening(port) and not listening(sink_port), "nothing may keep the ports"
    assert "Traceback" not in console and "celery@" not in console and "Task service.tasks" not in console, console
    assert any("POST /subscribe" in line for line in events), console
    assert len(events) <= CONSOLE_EVENTS_LIMIT, console
    worker_log = (data_dir / "log" / "worker.log").read_text()
    assert "Task service.tasks.send_confirmation" in worker_log and "sweep_deliveries" in worker_log
    assert "Scheduler: Sending due task" in (data_dir / "log" / "beat.log").read_text()
    assert not (data_dir / "run.env").exists(), "a stopped run leaves no settings for other shells"


def test_a_process_that_dies_stops_the_run_and_its_last_lines_show_why(tmp_path):
    port, sink_port = free_port(), free_port()
    with socket.socket() as taken:  # someone else already serves this port
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(
            [str(NEWSLETTER), "run"],
            cwd=REPO_ROOT,
            timeout=START_LIMIT,
            capture_output=True,
            text=True,
            env=newcomer_env(tmp_path / "data", port, sink_port),
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "address already in use" in result.stdout and "Traceback" not in result.stdout, result.stdout
    assert re.search(r"web +exited with \d+; stopping everything", result.stdout), result.stdout
    assert not listening(sink_port), "the other processes were stopped"
    assert not (tmp_path / "data" / "run.env").exists()

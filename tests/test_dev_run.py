"""The newcomer's `make run`: embedded defaults only, a subscribe that lands in the outbox, and a clean Ctrl-C."""
import os
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest

from service.config import REPO_ROOT, Settings
from tests.support.smtp import free_port
from tests.support.web import CSRF

START_LIMIT = 180.0
MAIL_LIMIT = 10.0
NEWSLETTER = Path(sys.executable).with_name("newsletter")


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


def newcomer_env(data_dir: Path, port: int, sink_port: int) -> dict[str, str]:
    """A shell with none of the service's settings, as on a fresh checkout, plus the three a test must move."""
    settings_names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings_names}
    return {**env, "DATA_DIR": str(data_dir), "PORT": str(port), "SMTP_SINK_PORT": str(sink_port)}


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


def wait_for_eml(outbox: Path, since: float) -> tuple[Path, float]:
    """The first .eml the built-in SMTP sink writes, and the seconds it took."""
    while time.monotonic() - since < MAIL_LIMIT:
        found = sorted(outbox.glob("*.eml"))
        if found:
            return found[0], time.monotonic() - since
        time.sleep(0.05)
    pytest.fail(f"no .eml in {outbox} within {MAIL_LIMIT:.0f}s")


@pytest.mark.parametrize("stop", ["ctrl-c", "sigint-to-launcher"])
def test_make_run_subscribe_lands_in_outbox_and_ctrl_c_stops_everything(tmp_path, stop):
    port, sink_port = free_port(), free_port()
    data_dir, log = tmp_path / "data", tmp_path / "run.log"
    launched = time.monotonic()
    with log.open("wb") as out:  # its own session: the signal below reaches the service, never pytest
        proc = subprocess.Popen([str(NEWSLETTER), "run"], cwd=REPO_ROOT, env=newcomer_env(data_dir, port, sink_port),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    family: set[tuple[int, str]] = set()
    try:
        up = wait_for_page(f"http://127.0.0.1:{port}/subscribe", proc, log)
        family = descendants(proc.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as browser:
            form = browser.get("/subscribe")
            assert "World News daily" in form.text, "the demo list is there to subscribe to"
            posted = time.monotonic()
            answer = browser.post("/subscribe", data={"csrf_token": CSRF.search(form.text).group(1), "email":
                                  "newcomer@example.com", "list": "world-news", "timezone": "Europe/London"},
                                  follow_redirects=True)  # 303 to the check-your-inbox page
            assert answer.status_code == 200 and "Check your inbox" in answer.text
        eml, mailed = wait_for_eml(data_dir / "outbox", posted)
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert message["To"] == "newcomer@example.com"
        assert message["Subject"] == "Please confirm your subscription to World News daily"
        family |= descendants(proc.pid)  # now with the worker's pool children
        assert len(family) >= 4, "sink, worker, beat and web should all be running"
        assert listening(port) and listening(sink_port)
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
    print(f"\n[make run, {stop}] /subscribe answered {up:.1f}s after launch; confirmation .eml {mailed:.2f}s after "
          f"the POST ({time.monotonic() - launched - down:.1f}s in all); every process gone {down:.1f}s after SIGINT")
    assert code == 0, log.read_text()[-4000:]
    assert leftovers == [], f"still running after `newsletter run` exited: {leftovers}"
    assert not listening(port) and not listening(sink_port), "nothing may keep the ports"

"""A careless operator's settings: every entry point says what is wrong in one line per problem, and no secret."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.core.config import REPO_ROOT, Settings
from tests.support.ports import free_port

pytestmark = pytest.mark.processes

BIN = Path(sys.executable).parent
PASSWORD = "hunter2-smtp-password"
ADMIN_TOKEN = "admin-token-that-must-never-be-printed-0123"
REAL_KEY = "Zq8vN3-kT1pW6yHc0aRm4uXe9sLb7dGf"  # 32 characters, as secrets.token_urlsafe makes them
SAFE_PYTHON = Path("/usr/bin/python3")
UNSAFE_PYTHON = Path("/root/.pyenv/versions/3.11.7/bin/python3")  # CPython 3.11.7: CVE-2024-6923 unpatched
START_LIMIT = 60.0  # `newsletter web` listens after ~2 s on an idle machine; a busy one can take several times that


def clean_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A shell with none of the service's settings but these."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return {**env, "DATA_DIR": str(tmp_path / "data"), **settings}


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run an entry point as an operator would."""
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def assert_one_line_per_problem(result: subprocess.CompletedProcess, *expected: str) -> None:
    """Exit 2, no traceback, each expected setting named on a line of its own, no secret anywhere."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "input_value" not in output, output
    assert PASSWORD not in output and ADMIN_TOKEN not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    for name in expected:
        assert sum(name in line for line in lines) == 1, f"{name} should be named once:\n{result.stderr}"
    assert len(lines) <= len(expected) + 1, result.stderr


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"SECRET_KEY": "short"}, ["SECRET_KEY"]),
        ({"SMTP_URL": f"smtp://user:{PASSWORD}@mail.example.org:notaport"}, ["SMTP_URL"]),
        ({"SMTP_URL": f"http://user:{PASSWORD}@mail.example.org"}, ["SMTP_URL"]),
        ({"SEND_LEASE_SECONDS": "soon", "ADMIN_TOKEN": ADMIN_TOKEN}, ["SEND_LEASE_SECONDS"]),
        (
            {"SUBSCRIBE_LIMIT_PER_IP": "lots", "SUBSCRIBE_LIMIT_PER_ADDRESS": "3/fortnight"},
            ["SUBSCRIBE_LIMIT_PER_IP", "SUBSCRIBE_LIMIT_PER_ADDRESS"],
        ),
        ({"CONFIRM_TOKEN_MAX_AGE": "-60"}, ["CONFIRM_TOKEN_MAX_AGE"]),
        ({"CLUSTERING_METHOD": "minilm-expnd"}, ["CLUSTERING_METHOD"]),
        ({"DATABASE_URL": f"postgres//user:{PASSWORD}@db"}, ["DATABASE_URL"]),
        ({"ENVIRONMENT": "production", "SECRET_KEY": REAL_KEY, "ADMIN_TOKEN": "x"}, ["ADMIN_TOKEN"]),
        ({"ENVIRONMENT": "production"}, ["SECRET_KEY"]),
        ({"ENVIRONMENT": "production", "SECRET_KEY": "change-me-to-a-long-random-secret-key"}, ["SECRET_KEY"]),
        ({"ENVIRONMENT": "production", "SECRET_KEY": "a" * 40}, ["SECRET_KEY"]),
        ({"ENVIRONMENT": "production", "SECRET_KEY": "a-real-secret-key-0123456789"}, ["SECRET_KEY"]),
        (
            {
                "ENVIRONMENT": "staging",
                "SECRET_KEY": REAL_KEY,
                "METRICS_TOKEN": "change-me-metrics-token",
                "BOUNCE_API_TOKEN": "abababababababababababababababababab",
            },
            ["METRICS_TOKEN", "BOUNCE_API_TOKEN"],
        ),
        ({"ENVIRONMENT": "production", "SECRET_KEY": REAL_KEY, "FORWARDED_ALLOW_IPS": "*"}, ["FORWARDED_ALLOW_IPS"]),
    ],
)
def test_bad_settings_are_one_line_each_naming_the_setting_never_its_value(tmp_path, settings, named):
    assert_one_line_per_problem(
        run([str(BIN / "newsletter"), "db", "upgrade"], clean_env(tmp_path, **settings)), *named
    )


def test_a_database_that_does_not_answer_is_one_line(tmp_path):
    port = free_port()  # nothing listens there
    env = clean_env(tmp_path, DATABASE_URL=f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{port}/none")
    result = run([str(BIN / "newsletter"), "web"], env)
    assert_one_line_per_problem(result, "DATABASE_URL")
    assert f"127.0.0.1:{port}" in result.stderr and "***" in result.stderr


def test_the_web_does_not_start_without_its_broker(tmp_path):
    port = free_port()
    env = clean_env(tmp_path, BROKER_URL=f"redis://:{PASSWORD}@127.0.0.1:{port}/0", PORT=str(free_port()))
    result = run([str(BIN / "newsletter"), "web"], env)
    assert_one_line_per_problem(result, "BROKER_URL")


def test_worker_and_beat_refuse_bad_settings_in_one_line(tmp_path):
    env = clean_env(tmp_path, SEND_BATCH_SIZE="-1", SMTP_URL=f"smtp://u:{PASSWORD}@host:x")
    for role in ("worker", "beat"):
        result = run([str(BIN / "celery"), "-A", "worker", role], env)
        assert_one_line_per_problem(result, "SEND_BATCH_SIZE")


def test_a_missing_data_dir_is_created(tmp_path):
    env = clean_env(tmp_path)
    env["DATA_DIR"] = str(tmp_path / "not" / "yet" / "there")
    result = run([str(BIN / "newsletter"), "db", "upgrade"], env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "not" / "yet" / "there" / "newsletter.db").is_file()


@pytest.mark.skipif(not UNSAFE_PYTHON.exists(), reason="no unpatched CPython on this machine to try")
def test_the_email_self_test_refuses_a_python_that_lets_names_inject_headers():
    unsafe = run([str(UNSAFE_PYTHON), "-m", "service.mail.safety"], {**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert unsafe.returncode == 1 and "CVE-2024-6923" in unsafe.stdout + unsafe.stderr
    safe = run([sys.executable, "-m", "service.mail.safety"], dict(os.environ))
    assert safe.returncode == 0, safe.stdout + safe.stderr


def test_make_picks_a_python_whose_email_package_is_safe():
    result = run(["make", "--no-print-directory", "-s", "print-python"], dict(os.environ))
    assert result.returncode == 0, result.stderr
    chosen = result.stdout.strip()
    check = run([chosen, "-m", "service.mail.safety"], {**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert check.returncode == 0, f"make chose {chosen}: {check.stdout}{check.stderr}"


def test_dev_web_server_listens_on_loopback_only(tmp_path):
    port = free_port()
    env = clean_env(tmp_path, PORT=str(port))
    with subprocess.Popen(
        [str(BIN / "newsletter"), "web"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as proc:
        try:
            deadline = time.monotonic() + START_LIMIT
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, f"the development server did not listen within {START_LIMIT:.0f} s"
                time.sleep(0.05)
            with socket.socket() as other:  # 0.0.0.0 would answer here too (the whole of 127/8 is this machine)
                assert other.connect_ex(("127.0.0.2", port)) != 0, "the development server is reachable off 127.0.0.1"
        finally:
            proc.terminate()
            proc.wait(10)


def test_weak_keys_are_fine_for_development_and_tests(tmp_path):
    for environment in ("development", "test"):
        env = clean_env(
            tmp_path,
            ENVIRONMENT=environment,
            SECRET_KEY="a-dev-secret-key-16",
            ADMIN_TOKEN="short",
            METRICS_TOKEN="change-me-metrics-token",
            FORWARDED_ALLOW_IPS="*",
        )
        result = run([str(BIN / "newsletter"), "db", "upgrade"], env)
        assert result.returncode == 0, result.stderr


def test_a_1024_bit_dkim_key_is_a_warning_at_start(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    (tmp_path / "dkim.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"  # stop right after the checks
    env = clean_env(
        tmp_path,
        MAIL_FROM="News <news@news.example.org>",
        DKIM_PRIVATE_KEY=str(tmp_path / "dkim.pem"),
        DKIM_SELECTOR="s1",
        DKIM_DOMAIN="news.example.org",
        DATABASE_URL=nobody,
    )
    result = run([str(BIN / "newsletter"), "web"], env)
    [warning] = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert warning.startswith("newsletter web: warning: DKIM_PRIVATE_KEY: the RSA key has only 1024 bits; use 2048")

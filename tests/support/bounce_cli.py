"""The bounce tests' `newsletter` fixture: a test module takes it with pytest_plugins (never imported directly)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from service.core.config import REPO_ROOT
from tests.support.cli import run_newsletter


@pytest.fixture
def newsletter(service_env, settings):
    """Run the `newsletter` command with the test environment, stdin given: its entry point in-process, or (`pipe`)
    its own process fed through a pipe, as an MTA runs it."""

    def run(*args: str, stdin: bytes = b"", pipe: bool = False) -> subprocess.CompletedProcess:
        if not pipe:
            done = run_newsletter(*args, stdin=stdin)
            return subprocess.CompletedProcess(args, done.returncode, done.stdout.encode(), done.stderr.encode())
        env = {**os.environ, **service_env, "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=REPO_ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=60,
        )

    return run

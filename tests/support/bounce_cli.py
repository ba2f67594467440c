"""The bounce tests' `newsletter` fixture: a test module takes it with pytest_plugins (never imported directly)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.cli import newsletter_process, run_newsletter


@pytest.fixture
def newsletter(service_env, settings):
    """Run the `newsletter` command with the test environment, stdin given: its entry point in-process, or (`pipe`)
    its own process fed through a pipe, as an MTA runs it."""

    def run(*args: str, stdin: bytes = b"", pipe: bool = False) -> subprocess.CompletedProcess:
        if not pipe:
            done = run_newsletter(*args, stdin=stdin)
            return subprocess.CompletedProcess(args, done.returncode, done.stdout.encode(), done.stderr.encode())
        return newsletter_process(*args, env={**os.environ, **service_env, "COLUMNS": "200"}, stdin=stdin)

    return run

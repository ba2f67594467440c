"""The `newsletter` command run through its real entry point in this process (click's CliRunner isolation).

A new interpreter costs 0.5-4 s a call and adds nothing where a test reads the output, the exit code and the
database the command changed; the command as its own process is tested where that is the point (test_cli_startup,
test_dev_run, tests/support/faults.send_edition).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from click.testing import CliRunner

from service.core.config import REPO_ROOT, get_settings

TERMINAL = {"COLUMNS", "NO_COLOR"}


@dataclass
class Ran:
    """What a finished `newsletter` run left: the same fields a subprocess.CompletedProcess has."""

    returncode: int
    stdout: str
    stderr: str


def run_newsletter(*args: str, stdin: bytes | str | None = None, env: dict[str, str] | None = None) -> Ran:
    """`newsletter ARGS` as a terminal 200 columns wide would run it: main() with these arguments, its exit code.

    Settings given in `env` (beyond the terminal's) are read by this run alone, as a new process would read them.
    """
    from service.cli import main

    configures = bool(set(env or {}) - TERMINAL)
    argv = sys.argv
    with CliRunner().isolation(input=stdin, env={"COLUMNS": "200", **(env or {})}) as (out, err, _):
        sys.argv = ["newsletter", *args]
        if configures:
            get_settings.cache_clear()
        try:
            main()
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        finally:
            sys.argv = argv
            if configures:
                get_settings.cache_clear()  # the next reader gets the test settings again
        return Ran(code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace"))


def newsletter_process(
    *args: str, env: dict[str, str], stdin: str | bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """`newsletter ARGS` as its own process in exactly this environment, where a new process is the point (an MTA's
    pipe, a password read from stdin, an operator beside a multi-host run); text in and out unless stdin is bytes."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=not isinstance(stdin, bytes),
        timeout=timeout,
    )

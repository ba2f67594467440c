"""`newsletter --help` answers at once: no subcommand module, no heavy library imported (rule in service/cli)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from service.cli import SUBCOMMANDS, app, load
from tests.conftest import POSTGRES_ADMIN
from tests.support.cli import run_newsletter

HEAVY = (
    "numpy",
    "onnxruntime",
    "celery",
    "kombu",
    "alembic",
    "fastapi",
    "starlette",
    "sqlalchemy.orm",
    "argon2",
    "zxcvbn",
    "jinja2",
    "mjml",
    "service.models",
)
PROBE = """
import json, sys
sys.argv = ["newsletter", "--help"]
from service.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.startswith("service.cli."))), file=sys.stderr)
print(json.dumps([name for name in {heavy!r} if name in sys.modules]), file=sys.stderr)
"""


def probe(argv: list[str], heavy: tuple[str, ...]) -> tuple[str, list[str], list[str]]:
    """Run `newsletter ARGV` in a fresh interpreter: its output, the subcommand modules and heavy libraries loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace('"--help"]', f"*{argv!r}]").format(heavy=heavy)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
    )
    subcommands, loaded = (json.loads(line) for line in done.stderr.strip().splitlines()[-2:])
    return done.stdout, subcommands, loaded


@pytest.mark.processes
def test_help_imports_no_subcommand_module_and_no_heavy_library():
    shown, subcommands, heavy = probe(["--help"], HEAVY)
    assert "editions" in shown and "Daily editions." in shown
    assert subcommands == [], f"`newsletter --help` imported {subcommands}: list them in SUBCOMMANDS, import on run"
    assert heavy == [], f"`newsletter --help` imported {heavy}: import them inside the functions that use them"


@pytest.mark.processes
def test_status_loads_no_clustering_library():
    """`newsletter status` is what ops run when something is wrong: the story clustering's numpy, scipy and
    onnxruntime have nothing to tell it (the clustering lock lives in stories/merging.py, not beside the model)."""
    shown, subcommands, heavy = probe(["status", "--help"], ("numpy", "scipy", "onnxruntime", "tokenizers"))
    assert "service.cli.status" in subcommands and "--json" in shown
    assert heavy == [], f"`newsletter status` imported {heavy}"


def test_the_registry_line_is_each_subcommand_own_help():
    for name, (_, _, line) in SUBCOMMANDS.items():
        command = load(name)
        assert command.name == name and (command.help or "").splitlines()[0] == line, name


def test_a_lazy_group_runs_and_shows_its_own_help():
    runner = CliRunner()
    shown = runner.invoke(app, ["ledger", "--help"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0 and "ledger [OPTIONS] COMMAND" in shown.output and "prune" in shown.output
    unknown = runner.invoke(app, ["nosuch"])
    assert unknown.exit_code == 2 and "No such command" in unknown.output
    assert isinstance(app, typer.Typer)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_database_never_migrated_is_one_line_that_names_the_upgrade(tmp_path, database):
    """`newsletter status` on a fresh clone before `make run`, or after an upgrade of the code only: one line."""
    url = (
        f"sqlite:///{tmp_path}/never-migrated.db"
        if database == "sqlite"
        else POSTGRES_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
        + "?options=-csearch_path%3Dnever_migrated"
    )
    done = run_newsletter("status", env={"DATABASE_URL": url})
    assert done.returncode == 2, done
    assert done.stderr.strip() == (
        "error: the database has no tables for this version yet: run `newsletter db upgrade` (`make run` does it)"
    ), done.stderr

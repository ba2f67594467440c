"""The `newsletter` command: thin wrappers that parse arguments and call service functions.

The rule that keeps every command quick: `newsletter --help` imports no subcommand module. SUBCOMMANDS below is
the one list of subcommands with their one-line help; a subcommand's module is imported only when it runs, and
heavy libraries (numpy, onnxruntime, celery, alembic, FastAPI, the ORM) are imported inside the functions that use
them. tests/test_cli_startup.py holds the rule.
"""

from __future__ import annotations

import importlib
import sys

import typer
from typer import _click as click  # typer 0.29 carries its own click: its groups take these types, not click's
from typer.core import TyperCommand, TyperGroup

# name -> (module, attribute: a Typer group or a command function, the one-line help `newsletter --help` shows)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "status": (
        "service.cli.status",
        "status",
        "Queues, workers, beat, each list's next send, editions in progress, stuck leases, last errors and checks.",
    ),
    "run": (
        "service.cli.serve",
        "run",
        "Run the whole service (web, worker, beat, SMTP sink) on this machine until Ctrl-C.",
    ),
    "web": (
        "service.cli.serve",
        "web",
        "Run the web server on HOST:PORT (127.0.0.1:8000 unless set), after checking the database and the broker.",
    ),
    "demo": (
        "service.cli.serve",
        "demo",
        "Load the demo list, story and today's edition (what `make run` does on start); safe to repeat.",
    ),
    "sink": ("service.cli.serve", "sink", "Run the built-in SMTP sink that saves every message under DATA_DIR/outbox."),
    "outbox": (
        "service.cli.serve",
        "outbox",
        "The latest confirmation links and other transactional mail the built-in SMTP sink received.",
    ),
    "db": ("service.cli.db", "app", "Database schema."),
    "admin": ("service.cli.admin", "app", "Admin accounts and API tokens."),
    "lists": ("service.cli.lists", "app", "Mailing lists."),
    "subscribers": ("service.cli.subscribers", "app", "Subscribers."),
    "stories": ("service.cli.stories", "app", "Stories."),
    "feeds": ("service.cli.feeds", "app", "RSS and Atom feeds that stories are taken in from."),
    "editions": ("service.cli.editions", "app", "Daily editions."),
    "bounces": ("service.cli.bounces", "app", "Bounces and complaints."),
    "ledger": ("service.cli.ledger", "app", "The delivery ledger."),
    "dkim": ("service.cli.dkim", "app", "DKIM signing keys."),
}


def load(name: str) -> click.Command:
    """Import one subcommand's module and build its click command (a group for a Typer app)."""
    module, attribute, _ = SUBCOMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)  # a group even with one command, as add_typer made
    else:
        single = typer.Typer(add_completion=False)
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The top-level group: lists subcommands from SUBCOMMANDS and imports one only to run it."""

    listing = False  # set while help is printed: a stub with the registry's line stands in for each subcommand

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Registry order, as `newsletter --help` has always shown them."""
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The real command when it runs; a stub carrying the one-line help while the list is printed."""
        if cmd_name not in SUBCOMMANDS:
            return None
        if self.listing:
            return TyperCommand(cmd_name, help=SUBCOMMANDS[cmd_name][2])
        return load(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Print the list without importing any subcommand."""
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(
    cls=LazyGroup,
    help="World News daily: a self-hosted newsletter service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    pass


def main() -> None:
    """Entry point: domain and configuration errors become one line per problem and exit code 2."""
    from service.core.config import ConfigError
    from service.core.errors import ServiceError
    from service.ops.startup import email_problem

    try:
        if problem := email_problem():
            raise ConfigError(problem)
        app()
    except (ServiceError, ConfigError) as error:
        for line in str(getattr(error, "message", error)).splitlines():
            typer.secho(f"error: {line}", fg="red", err=True)
        sys.exit(2)
    except Exception as error:
        if not schema_behind(error):
            raise
        typer.secho(
            "error: the database has no tables for this version yet: run `newsletter db upgrade` (`make run` does it)",
            fg="red",
            err=True,
        )
        sys.exit(2)


def schema_behind(error: BaseException) -> bool:
    """A database never migrated, or left behind by an older version: upgrading it is the one thing to do."""
    cause = getattr(error, "orig", None)
    text = str(cause or error)
    missing = any(words in text for words in ("no such table", "no such column"))
    missing = missing or type(cause).__name__ in ("UndefinedTable", "UndefinedColumn")
    return type(error).__module__.startswith("sqlalchemy") and missing


if __name__ == "__main__":
    main()

"""What every entry point checks before it starts: settings, a safe email package, the database, the broker."""

from __future__ import annotations

import sys

from service.core.config import ConfigError, Settings, get_settings, redact_url
from service.core.config.strength import dkim_warnings


def _first_line(error: BaseException) -> str:
    """Driver errors run to many lines; the first one says what went wrong."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def email_problem() -> str | None:
    """The email package must not let an encoded word carry a line break into a header (CVE-2024-6923)."""
    from service.mail.safety import email_package_is_safe

    if email_package_is_safe():
        return None
    return (
        f"this Python ({sys.version.split()[0]}, {sys.executable}) has an email package that lets a reader's "
        "name inject mail headers (CVE-2024-6923); use a Python with the fix (3.11.10+, 3.12.5+, Debian's 3.11.2)"
    )


def database_problem(settings: Settings) -> str | None:
    """A DATABASE_URL that does not connect is one line, not a 150-line traceback."""
    from sqlalchemy import text

    from service.core.db import engine_for

    try:
        with engine_for(settings.effective_database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any driver error means the same thing to the operator
        where = redact_url(settings.database_url) if settings.database_url else settings.effective_database_url
        return f"DATABASE_URL: cannot connect to {where}: {_first_line(error)}"
    return None


def broker_problem(settings: Settings, attempts: int = 3) -> str | None:
    """Without a broker no confirmation email can leave: better not to start than to answer every subscribe with 500."""
    from service.core.celery_app import app

    try:
        with app.connection_for_write() as connection:
            # kombu takes float seconds; celery-types types interval_start as int
            connection.ensure_connection(
                max_retries=attempts,
                interval_start=0.5,  # type: ignore[arg-type]
                interval_step=1,
                timeout=5,
            )
    except Exception as error:  # noqa: BLE001 - kombu raises several kinds for "not reachable"
        return f"BROKER_URL: cannot reach {redact_url(settings.effective_broker_url)}: {_first_line(error)}"
    return None


def clustering_problem(settings: Settings) -> str | None:
    """A chosen method that needs the embedding model, on an installation without it (loads numpy only then)."""
    if not settings.clustering_method:
        return None
    from service.stories.clustering import available_methods

    if settings.clustering_method not in available_methods():
        return f"CLUSTERING_METHOD={settings.clustering_method} cannot run here: the embedding model is not installed"
    return None


def problems(settings: Settings, *, database: bool = True, broker: bool = False) -> list[str]:
    """Everything that would stop this process from doing its job, one line each (every caller sends mail)."""
    found = [email_problem(), settings.postal_problem, clustering_problem(settings)]
    if database:
        found.append(database_problem(settings))
    if broker:
        found.append(broker_problem(settings))
    return [problem for problem in found if problem]


def sending_settings() -> Settings:
    """Settings for a CLI command that sends mail; a ConfigError (one line, exit 2) when sending is not allowed."""
    settings = get_settings()
    if problem := settings.postal_problem:
        raise ConfigError(problem)
    return settings


def ready_or_exit(role: str, *, database: bool = True, broker: bool = False) -> Settings:
    """Settings for an entry point, or exit 2 with one line per problem on stderr (never a secret value)."""
    try:
        settings = get_settings()
    except ConfigError as error:
        _exit(role, str(error).splitlines())
    for line in dkim_warnings(settings):
        print(f"newsletter {role}: warning: {line}", file=sys.stderr)
    found = problems(settings, database=database, broker=broker)
    if found:
        _exit(role, found)
    if role not in ("worker", "beat"):  # Celery sets up its own handlers; celery_app gives them LOG_FORMAT
        from service.core.logs import configure_logging

        configure_logging(settings)
    return settings


def _exit(role: str, lines: list[str]) -> None:
    """Print why we do not start, and stop."""
    for line in lines:
        print(f"newsletter {role}: error: {line}", file=sys.stderr)
    sys.exit(2)

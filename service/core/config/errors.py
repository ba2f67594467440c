"""How a wrong setting is reported: one line per problem, naming the setting, never its value."""

from __future__ import annotations

from pydantic import ValidationError


class ConfigError(ValueError):
    """A setting that cannot work, reported before anything starts (one line per problem, no secret values)."""


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, naming the setting as it is spelled in the environment, never its value."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        where = ".".join(str(part) for part in problem.get("loc", ()))
        lines.append(f"{where.upper()}: {message}" if where else message)
    return "\n".join(lines)

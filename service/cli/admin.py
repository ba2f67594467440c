"""`newsletter admin ...`: admin accounts and API tokens, for the first sign-in and for scripts."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.admin import accounts, api_tokens, audit
from service.admin.identity import CLI_ADMIN
from service.core.config import get_settings
from service.core.db import session_scope

app = typer.Typer(help="Admin accounts and API tokens.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens for the JSON admin API (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(tokens, name="tokens")


def _password() -> str:
    """From a prompt (typed twice, hidden) at a terminal, or the first line of stdin in a script."""
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@app.command()
def create(
    email: str, role: str = typer.Option("admin", help="admin (everything) or viewer (dashboards only)")
) -> None:
    """Create an account; the password is prompted for (or read from stdin) and stored as an argon2 hash."""
    chosen = accounts.role_of(role)
    password = _password()
    with session_scope(get_settings().effective_database_url) as session:
        user = accounts.create_admin(session, email=email, password=password, role=chosen)
        audit.record(
            session,
            actor=CLI_ADMIN.name,
            action="admin.create",
            object_type="admin",
            object_id=user.id,
            details={"email": user.email, "role": user.role},
        )
        typer.echo(f"created {user.role} account {user.email}; sign in at {get_settings().base_url}/admin/login")


@app.command("list")
def list_accounts() -> None:
    """Every account with its role and last sign-in."""
    table = Table("email", "role", "state", "last sign-in")
    with session_scope(get_settings().effective_database_url) as session:
        for user in accounts.all_admins(session):
            table.add_row(
                escape(user.email),
                user.role,
                "disabled" if user.disabled else "active",
                user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never",
            )
    Console().print(table)


@tokens.command("create")
def create_token(name: str, role: str = typer.Option("viewer", help="admin or viewer")) -> None:
    """Make a token and print its secret, once; only its hash is kept."""
    with session_scope(get_settings().effective_database_url) as session:
        made = api_tokens.create_token(session, name=name, role=accounts.role_of(role), created_by=CLI_ADMIN.name)
        audit.record(
            session,
            actor=CLI_ADMIN.name,
            action="token.create",
            object_type="token",
            object_id=made.row.id,
            details={"name": made.row.name, "role": made.row.role},
        )
        typer.echo(f"token {made.row.id} ({made.row.name}, {made.row.role}); copy it now, it is not shown again:")
        typer.echo(made.secret)


@tokens.command("list")
def list_tokens() -> None:
    """Every token: id, name, role, first characters, last use, revoked or not."""
    table = Table("id", "name", "role", "starts with", "created", "last used", "state")
    with session_scope(get_settings().effective_database_url) as session:
        for row in api_tokens.all_tokens(session):
            table.add_row(
                str(row.id),
                escape(row.name),
                row.role,
                f"{row.prefix}…",
                row.created_at.strftime("%Y-%m-%d"),
                row.last_used_at.strftime("%Y-%m-%d %H:%M") if row.last_used_at else "never",
                "revoked" if row.revoked_at else "active",
            )
    Console().print(table)


@tokens.command("revoke")
def revoke(token_id: int) -> None:
    """Stop a token from working at once."""
    with session_scope(get_settings().effective_database_url) as session:
        row = api_tokens.revoke_token(session, token_id)
        audit.record(
            session,
            actor=CLI_ADMIN.name,
            action="token.revoke",
            object_type="token",
            object_id=row.id,
            details={"name": row.name},
        )
        typer.echo(f"token {row.id} ({row.name}) revoked")

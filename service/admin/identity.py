"""Who is calling the admin side, however they proved it (session cookie, API token, bootstrap token, the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from service.admin.models import AdminRole

ROLE_RANK = {AdminRole.viewer: 1, AdminRole.admin: 2}


@dataclass(frozen=True)
class Admin:
    """An authenticated caller: its name for the audit log, its role, and how it signed in."""

    name: str  # "ann@example.org", "token:deploy-bot", "bootstrap ADMIN_TOKEN", "cli"
    role: AdminRole
    via: str  # "session", "token", "bootstrap" or "cli"
    admin_id: int | None = None  # the signed-in account, or the account an API token acts for
    session_id: int | None = None
    csrf_token: str | None = None  # the session's own CSRF secret; None for bearer callers (no cookie, no CSRF)

    def may(self, role: AdminRole) -> bool:
        """Admins may do what viewers may, and more."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


CLI_ADMIN = Admin(name="cli", role=AdminRole.admin, via="cli")  # whoever can run the CLI already owns the install

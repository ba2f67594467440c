"""Helpers that act like an admin's browser on the test client: an account, a sign-in, the page's CSRF token."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from service.admin import accounts, sessions
from service.admin.models import AdminRole, AdminSession, AdminUser, AuditEntry
from service.core.addresses import normalise_address

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HASHES: dict[str, str] = {}  # password -> the argon2id hash create_admin made of it (0.1-0.7 s each, so once)


def make_admin(db, email: str = "ann@example.org", role: AdminRole = AdminRole.admin, password: str = PASSWORD):
    """An account, committed, as `newsletter admin create` would leave it: create_admin the first time a password
    is used, then the same row with that password's real hash (sign-in still verifies it; only the salt repeats)."""
    if password not in _HASHES:
        user = accounts.create_admin(db, email=email, password=password, role=role)
        _HASHES[password] = user.password_hash
    else:
        assert accounts.find_admin(db, email) is None, f"an admin account for {email} already exists"
        user = AdminUser(email=normalise_address(email), password_hash=_HASHES[password], role=role.value)
        db.add(user)
        db.flush()
    db.commit()
    return user


def sign_in(client, email: str = "ann@example.org", password: str = PASSWORD):
    """Fill the login form as a browser would; returns the answer (303 to the admin side on success)."""
    form = client.get("/admin/login")
    assert form.status_code == 200, form.text
    token = CSRF.search(form.text).group(1)
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/admin"},
        follow_redirects=False,
    )


def signed_in(client, db, email: str = "ann@example.org", role: AdminRole = AdminRole.admin):
    """A client with a live session of a fresh account."""
    make_admin(db, email=email, role=role)
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client, path: str = "/admin") -> str:
    """The session's CSRF token, read from an admin page's forms."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


def session_csrf(db, email: str) -> str:
    """The CSRF secret of the newest session of an account, straight from the database."""
    db.expire_all()
    user = accounts.find_admin(db, email)
    row = db.query(AdminSession).filter_by(admin_id=user.id).order_by(AdminSession.id.desc()).first()
    db.commit()
    return row.csrf_token


def open_browser_session(db, email: str) -> str:
    """A cookie value for an account, as the login would set it (for tests that need many sessions)."""
    user = accounts.find_admin(db, email)
    token = sessions.open_session(db, user, hours=12, ip="127.0.0.1", user_agent="test")
    db.commit()
    return token


class NoMail:
    """Admin tests that mail nobody: a notifier that fails loudly if something tried."""

    def subscribe_request(self, request):
        raise AssertionError("no email expected")

    def confirmation(self, subscriber_id, list_ids):
        raise AssertionError("no email expected")

    welcome = confirmation


def audit_of(db, action: str) -> list[AuditEntry]:
    """The audit entries of one kind, oldest first."""
    db.expire_all()
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
    db.commit()
    return entries


def wait_done(client, job_id: int, timeout: float = 30.0) -> dict:
    """Poll the progress endpoint as the page's script does, until the import is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/admin/imports/{job_id}").json()
        assert 0.0 <= state["fraction"] <= 1.0 and state["label"]
        if state["done"]:
            return state
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} not done in {timeout}s: {state}")

"""Admin access screens: API tokens (shown once, work until revoked), the audit log (who, what, from where, paged),
and accounts (create, role, disable, the last admin stays, my password). Real app, SQLite and PostgreSQL."""

from __future__ import annotations

import html
import os
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.admin import accounts, audit
from service.admin.models import AdminRole, AdminUser, ApiToken, AuditEntry
from tests.support.admin import PASSWORD, NoMail, csrf_of, make_admin, sign_in, signed_in
from tests.support.apps import shared_app
from tests.support.cli import newsletter_process

SECRET = re.compile(r'id="secret">(nla_[A-Za-z0-9_-]+)<')
NEW_PASSWORD = "a much longer new passphrase"


@pytest.fixture
def app(settings, db):
    """The real app on the test databases."""
    return shared_app(settings, notifier=NoMail())


@pytest.fixture
def web(app):
    """A browser-like client that does not follow redirects."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


def browser(app) -> TestClient:
    """Another browser on the same app (its own cookies)."""
    return TestClient(app, follow_redirects=False)


def notice_after(web, answer) -> str:
    """Follow a 303 like a browser and return the page with its one-shot notice."""
    assert answer.status_code == 303, answer.text
    return html.unescape(web.get(answer.headers["location"]).text)


def account(db, email: str) -> AdminUser:
    """An account as stored now."""
    db.expire_all()
    user = accounts.find_admin(db, email)
    db.commit()
    return user


def actions(db) -> list[str]:
    """What the audit log recorded, oldest first."""
    db.expire_all()
    found = [entry.action for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    db.commit()
    return found


# --- API tokens ---------------------------------------------------------------------------------------------------


def test_a_token_made_in_the_ui_is_shown_once_works_and_stops_when_revoked(web, db):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/tokens")
    made = web.post("/admin/tokens", data={"csrf_token": csrf, "name": "deploy  bot", "role": "admin"})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    assert "set-cookie" not in made.headers  # the secret is in this answer only, never in a cookie or redirect
    secret = SECRET.search(made.text).group(1)
    assert "shown this once" in made.text
    listing = web.get("/admin/tokens").text
    assert secret not in listing and secret[:10] in listing and "deploy bot" in listing
    assert "ann@example.org" in listing and "never" in listing
    with browser(web.app) as api:
        bearer = {"Authorization": f"Bearer {secret}"}
        assert api.get("/api/admin/stories", headers=bearer).status_code == 200
        assert api.post("/api/admin/stories", headers=bearer, json=[]).status_code in (201, 422)  # admin role
        assert "never" not in re.search(r"deploy bot.*?</tr>", web.get("/admin/tokens").text, re.S).group(0)
        token_id = db.scalar(select(ApiToken.id))
        db.commit()
        page = notice_after(web, web.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf}))
        assert "revoked" in page and secret not in page
        assert api.get("/api/admin/stories", headers=bearer).status_code == 401
    entries = {e.action: e for e in db.scalars(select(AuditEntry))}
    db.commit()
    assert entries["token.create"].actor == entries["token.revoke"].actor == "ann@example.org"
    assert entries["token.create"].details == {"name": "deploy bot", "role": "admin"}
    assert entries["stories.import"].actor == "token:deploy bot"  # what the token did is on its own name


def test_a_viewer_token_reads_but_may_not_change_and_bad_names_are_refused(web, db):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/tokens")
    refused = web.post("/admin/tokens", data={"csrf_token": csrf, "name": "   ", "role": "viewer"})
    assert refused.status_code == 422 and "needs a name" in refused.text
    made = web.post("/admin/tokens", data={"csrf_token": csrf, "name": "grafana", "role": "viewer"})
    bearer = {"Authorization": f"Bearer {SECRET.search(made.text).group(1)}"}
    with browser(web.app) as api:
        assert api.get("/api/admin/feeds", headers=bearer).status_code == 200
        escalate = {"name": "escalate", "role": "admin"}
        assert api.post("/api/admin/tokens", headers=bearer, json=escalate).status_code == 403
        assert api.get("/api/admin/audit", headers=bearer).status_code == 403


def test_the_tokens_api_creates_lists_and_revokes(web, db):
    signed_in(web, db)
    csrf = {"X-CSRF-Token": csrf_of(web, "/admin/tokens")}
    made = web.post("/api/admin/tokens", json={"name": "ci", "role": "viewer"}, headers=csrf)
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    body = made.json()
    assert body["secret"].startswith(body["prefix"]) and body["created_by"] == "ann@example.org"
    listed = web.get("/api/admin/tokens").json()
    assert [row["name"] for row in listed] == ["ci"] and "secret" not in listed[0]
    revoked = web.post(f"/api/admin/tokens/{body['id']}/revoke", headers=csrf)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert web.post("/api/admin/tokens/987654/revoke", headers=csrf).status_code == 404


# --- the audit log ------------------------------------------------------------------------------------------------


def test_the_audit_page_names_the_actor_and_address_newest_first_paged_and_filtered(web, db):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/tokens")
    web.post("/admin/tokens", data={"csrf_token": csrf, "name": "watcher", "role": "viewer"})
    for number in range(60):
        audit.record(
            db,
            actor="cli",
            action="story.update",
            object_type="story",
            object_id=number,
            details={"title": f"Story {number}"},
        )
    db.commit()
    first = html.unescape(web.get("/admin/audit").text)
    rows = re.findall(r"<tr>.*?</tr>", first, re.S)[1:]
    assert len(rows) == 50 and "story 59" in rows[0] and "Story 59" in rows[0]
    older = re.search(r'href="(/admin/audit\?before=\d+)"', first).group(1)
    rest = html.unescape(web.get(older).text)
    rest_rows = re.findall(r"<tr>.*?</tr>", rest, re.S)[1:]
    assert len(rest_rows) == 12 and "story 9<" in rest_rows[0]  # 10 more updates, the token, the sign-in
    assert "token.create" in rest_rows[-2] and "ann@example.org" in rest_rows[-2] and "testclient" in rest_rows[-2]
    assert "admin.login" in rest_rows[-1]
    mine = html.unescape(web.get("/admin/audit", params={"actor": "ann@example.org"}).text)
    assert "token.create" in mine and "story.update" not in mine
    one = html.unescape(web.get("/admin/audit", params={"object_type": "story", "object_id": "7"}).text)
    assert len(re.findall(r"<tr>.*?</tr>", one, re.S)) == 2 and "Story 7" in one
    api = web.get("/api/admin/audit", params={"limit": 5}).json()
    assert [e["object_id"] for e in api["entries"]] == ["59", "58", "57", "56", "55"]
    after = web.get("/api/admin/audit", params={"limit": 5, "before": api["next_before"]}).json()
    assert after["entries"][0]["object_id"] == "54"
    assert web.get("/api/admin/audit", params={"actor": "a\x00b"}).status_code == 422


# --- accounts -----------------------------------------------------------------------------------------------------


def test_an_admin_creates_an_account_changes_its_role_and_disabling_it_ends_its_session_at_once(web, db):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/accounts")
    short = web.post(
        "/admin/accounts",
        data={"csrf_token": csrf, "email": "bo@example.org", "role": "admin", "password": "too short"},
    )
    assert short.status_code == 422 and "at least 12 characters" in short.text and "bo@example.org" in short.text
    made = web.post(
        "/admin/accounts", data={"csrf_token": csrf, "email": "Bo@Example.org", "role": "admin", "password": PASSWORD}
    )
    assert "Account bo@example.org created (admin)" in notice_after(web, made)
    bo = account(db, "bo@example.org")
    with browser(web.app) as other:
        assert sign_in(other, "bo@example.org").status_code == 303
        assert other.get("/admin/accounts").status_code == 200
        listing = web.get("/admin/accounts").text
        assert re.search(r"bo@example.org.*?role-admin.*?active", listing, re.S)
        demoted = web.post(f"/admin/accounts/{bo.id}/role", data={"csrf_token": csrf, "role": "viewer"})
        assert "bo@example.org is now viewer" in notice_after(web, demoted)
        assert other.get("/admin/accounts").headers["location"].startswith("/admin/login")  # that session ended
        assert sign_in(other, "bo@example.org").status_code == 303
        assert other.get("/admin/accounts").status_code == 403  # signed in again, as a viewer
        assert other.get("/admin/stories").status_code == 200
        disabled = web.post(f"/admin/accounts/{bo.id}/disable", data={"csrf_token": csrf})
        assert "signed out everywhere" in notice_after(web, disabled)
        assert other.get("/admin/stories").headers["location"].startswith("/admin/login")
        assert other.get("/api/admin/stories").status_code == 401
        assert sign_in(other, "bo@example.org").status_code == 401
        assert "disabled" in web.get("/admin/accounts").text
        web.post(f"/admin/accounts/{bo.id}/enable", data={"csrf_token": csrf})
        assert sign_in(other, "bo@example.org").status_code == 303
    assert account(db, "bo@example.org").role == "viewer" and not account(db, "bo@example.org").disabled
    changes = [a for a in actions(db) if a in ("admin.create", "admin.role", "admin.disable", "admin.enable")]
    assert changes == ["admin.create", "admin.role", "admin.disable", "admin.enable"]
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "admin.role")).all()
    assert entries[0].actor == "ann@example.org" and entries[0].details["to"] == "viewer"
    db.commit()


def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(web, db):
    signed_in(web, db)
    make_admin(db, "vic@example.org", AdminRole.viewer)
    make_admin(db, "old@example.org", AdminRole.admin)
    csrf = csrf_of(web, "/admin/accounts")
    old = account(db, "old@example.org")
    assert web.post(f"/admin/accounts/{old.id}/disable", data={"csrf_token": csrf}).status_code == 303
    ann = account(db, "ann@example.org")
    for path, data in (
        (f"/admin/accounts/{ann.id}/disable", {}),
        (f"/admin/accounts/{ann.id}/role", {"role": "viewer"}),
    ):
        refused = web.post(path, data={"csrf_token": csrf, **data})
        assert refused.status_code == 422 and "last active admin" in refused.text, path
    assert account(db, "ann@example.org").role == "admin" and not account(db, "ann@example.org").disabled
    assert web.get("/admin/accounts").status_code == 200  # still signed in
    web.post(f"/admin/accounts/{old.id}/enable", data={"csrf_token": csrf})
    demoted = web.post(f"/admin/accounts/{ann.id}/role", data={"csrf_token": csrf, "role": "viewer"})
    assert demoted.status_code == 303  # another active admin exists now; demoting oneself ends one's session
    assert web.get("/admin/accounts").headers["location"].startswith("/admin/login")


def test_changing_my_password_signs_out_my_other_browsers_and_keeps_this_one(web, db):
    signed_in(web, db)
    with browser(web.app) as other:
        assert sign_in(other).status_code == 303
        csrf = csrf_of(web, "/admin/accounts/password")
        wrong = web.post(
            "/admin/accounts/password",
            data={"csrf_token": csrf, "current": "not it at all", "new": NEW_PASSWORD, "again": NEW_PASSWORD},
        )
        assert wrong.status_code == 422 and "current password is not right" in wrong.text
        differ = web.post(
            "/admin/accounts/password",
            data={"csrf_token": csrf, "current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD + "!"},
        )
        assert differ.status_code == 422 and "differ" in differ.text
        changed = web.post(
            "/admin/accounts/password",
            data={"csrf_token": csrf, "current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD},
        )
        assert "Password changed" in notice_after(web, changed)
        assert web.get("/admin/accounts").status_code == 200  # this browser got a fresh session
        assert other.get("/admin/accounts").headers["location"].startswith("/admin/login")
        assert sign_in(other, password=PASSWORD).status_code == 401
        assert sign_in(other, password=NEW_PASSWORD).status_code == 303
    assert "admin.password" in actions(db)


COMMON = ["Password123!", "password1234", "qwertyuiop123", "iloveyou2024", "dragondragon", "bo@example.org1"]


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
@pytest.mark.processes
def test_common_passwords_are_refused_by_the_cli_the_account_form_and_a_password_change(web, db, service_env):
    """One check everywhere (zxcvbn's lists): a clear one-line error, and nothing created or changed."""
    for password in COMMON[:2]:
        cli = newsletter_process(
            "admin", "create", "cli@example.org", env={**os.environ, **service_env}, stdin=password + "\n"
        )
        assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
        [line] = cli.stderr.strip().splitlines()
        assert "The password is too easy to guess" in line and "common" in line, line
    assert account(db, "cli@example.org") is None

    signed_in(web, db)
    csrf = csrf_of(web, "/admin/accounts")
    for password in COMMON:
        refused = web.post(
            "/admin/accounts",
            data={"csrf_token": csrf, "email": "bo@example.org", "role": "admin", "password": password},
        )
        assert refused.status_code == 422 and "The password is too easy to guess" in refused.text, password
    assert account(db, "bo@example.org") is None

    csrf = csrf_of(web, "/admin/accounts/password")
    for password in COMMON[:3]:
        refused = web.post(
            "/admin/accounts/password",
            data={"csrf_token": csrf, "current": PASSWORD, "new": password, "again": password},
        )
        assert refused.status_code == 422 and "The new password is too easy to guess" in refused.text, password
    with browser(web.app) as other:
        assert sign_in(other, password=PASSWORD).status_code == 303, "the old password still works"
    made = newsletter_process(
        "admin", "create", "cli@example.org", env={**os.environ, **service_env}, stdin=NEW_PASSWORD + "\n"
    )
    assert made.returncode == 0, made.stderr
    assert account(db, "cli@example.org") is not None


def test_a_viewer_may_not_see_tokens_audit_or_accounts(web, db):
    signed_in(web, db, email="vic@example.org", role=AdminRole.viewer)
    make_admin(db, "ann@example.org")
    csrf = csrf_of(web, "/admin/stories")
    ann = account(db, "ann@example.org")
    for path in (
        "/admin/tokens",
        "/admin/audit",
        "/admin/accounts",
        "/admin/accounts/password",
        "/api/admin/tokens",
        "/api/admin/audit",
    ):
        assert web.get(path).status_code == 403, path
    for path, data in (
        ("/admin/tokens", {"name": "x", "role": "admin"}),
        ("/admin/tokens/1/revoke", {}),
        ("/admin/accounts", {"email": "eve@example.org", "role": "admin", "password": PASSWORD}),
        (f"/admin/accounts/{ann.id}/role", {"role": "viewer"}),
        (f"/admin/accounts/{ann.id}/disable", {}),
        ("/admin/accounts/password", {"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD}),
    ):
        assert web.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    assert account(db, "eve@example.org") is None and account(db, "ann@example.org").role == "admin"

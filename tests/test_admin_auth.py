"""Admin sign-in, sessions, CSRF, roles and API tokens, and a walk over every admin route of the app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.admin import api_tokens
from service.admin.models import AdminRole, AdminSession, AuditEntry
from service.models import utcnow
from service.web.deps import SAFE_METHODS
from tests.support.admin import PASSWORD, NoMail, make_admin, open_browser_session, session_csrf, sign_in, signed_in
from tests.support.apps import shared_app

BOOTSTRAP = "bootstrap-admin-token-0123456789abcdefghij"
PUBLIC_ADMIN_PATHS = ("/admin/login", "/admin/logout")  # the door itself (logout checks its own session)


@pytest.fixture
def app(settings, db):
    """The real app on the test databases, with a bootstrap token configured."""
    # the route walk sends hundreds of wrong tokens from one IP: lift the per-IP failure limit it would trip
    return shared_app(
        settings.model_copy(update={"admin_token": BOOTSTRAP, "admin_auth_limit": "100000/minute"}), notifier=NoMail()
    )


@pytest.fixture
def web(app):
    """A browser-like client that does not follow redirects (the tests look at them)."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


def audit_actions(db) -> list[str]:
    """What the audit log recorded, oldest first."""
    db.expire_all()
    actions = [entry.action for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    db.commit()
    return actions


# --- signing in ---------------------------------------------------------------------------------------------------


def test_sign_in_sets_a_guarded_cookie_and_opens_the_admin_side(web, db):
    make_admin(db)
    assert web.get("/admin").headers["location"] == "/admin/login?next=/admin"
    answer = sign_in(web)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("nl_admin=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # BASE_URL is http here
    assert web.get("/api/admin/stories").status_code == 200  # the same session works on the JSON API
    assert audit_actions(db) == ["admin.login"]


def test_the_cookie_is_secure_and_host_bound_when_base_url_is_https(settings, db):
    make_admin(db)
    app = shared_app(settings.model_copy(update={"base_url": "https://testserver"}), notifier=NoMail())
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        cookie = sign_in(client).headers["set-cookie"]
    assert cookie.startswith("__Host-nl_admin=") and "Secure" in cookie and "HttpOnly" in cookie


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(web, db):
    make_admin(db)
    wrong = sign_in(web, password="not the password at all")
    unknown = sign_in(web, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'role="alert">([^<]+)<')
    assert message.search(wrong.text).group(1) == message.search(unknown.text).group(1)
    assert "set-cookie" not in wrong.headers or "nl_admin=" not in wrong.headers["set-cookie"]
    assert audit_actions(db) == ["admin.login_failed", "admin.login_failed"]


def test_failed_sign_ins_are_limited_even_for_the_right_password_then(web, db):
    make_admin(db)
    for _ in range(5):  # ADMIN_LOGIN_LIMIT is 5/minute
        assert sign_in(web, password="guess guess guess").status_code == 401
    blocked = sign_in(web)  # right password, but the address is locked for the window
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in blocked.text
    for _ in range(1):  # an unknown address is limited the same way (the network's counter is spent too)
        assert sign_in(web, email="nobody@example.org").status_code == 429


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_guessers_on_many_networks_cannot_lock_the_owner_out(app, db):
    make_admin(db)
    guessers = [TestClient(app, follow_redirects=False, client=(f"198.51.100.{n}", 40000 + n)) for n in range(1, 6)]
    for guesser in guessers:  # five wrong passwords from five IPs: the address has failed its 5 a minute
        assert sign_in(guesser, password="guess guess guess").status_code == 401
    assert sign_in(guessers[0]).status_code == 429, "a network that failed at it is shut out of the address"
    owner = TestClient(app, follow_redirects=False, client=("203.0.113.7", 51000))
    assert sign_in(owner).status_code == 303, "the owner, from a network of their own, signs in"

    # a sixth guesser gets one try, and no second one while the address is under attack
    sixth = TestClient(app, follow_redirects=False, client=("2001:db8:77:1::1", 40006))
    assert sign_in(sixth, password="guess guess guess").status_code == 401
    assert sign_in(sixth, password="another guess here").status_code == 429
    same_64 = TestClient(app, follow_redirects=False, client=("2001:db8:77:1:ffff::2", 40007))
    assert sign_in(same_64, password="guess from next door").status_code == 429, "an IPv6 /64 is one network"
    assert audit_actions(db).count("admin.login") == 1


def test_the_login_link_never_sends_anyone_off_site(web, db):
    for evil in ("https://evil.example/admin", "//evil.example/admin", "/subscribe"):
        page = web.get("/admin/login", params={"next": evil})
        assert 'name="next" value="/admin"' in page.text


# --- sessions and CSRF --------------------------------------------------------------------------------------------


def test_logout_needs_the_session_token_and_ends_the_session_everywhere(web, db):
    signed_in(web, db)
    copied = dict(web.cookies)
    assert web.post("/admin/logout").status_code == 403  # no CSRF token: a forged form cannot sign you out
    answer = web.post("/admin/logout", data={"csrf_token": session_csrf(db, "ann@example.org")})
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"
    with TestClient(web.app, cookies=copied, follow_redirects=False) as other:
        assert other.get("/api/admin/stories").status_code == 401


def test_a_change_from_another_site_is_refused_even_with_the_cookie(web, db):
    signed_in(web, db)
    csrf = session_csrf(db, "ann@example.org")
    forged = web.post("/api/admin/stories", json=[], headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert web.post("/api/admin/stories", json=[], headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert web.post("/api/admin/stories", json=[], headers={"X-CSRF-Token": csrf}).status_code in (201, 422)


def test_an_expired_session_signs_nobody_in(web, db):
    signed_in(web, db)
    db.execute(update(AdminSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    assert web.get("/admin").headers["location"].startswith("/admin/login")
    assert web.get("/api/admin/stories").status_code == 401


# --- tokens and roles ---------------------------------------------------------------------------------------------


def test_api_tokens_work_until_revoked_and_keep_to_their_role(web, db):
    admin_token = api_tokens.create_token(db, name="deploy bot", role=AdminRole.admin, created_by="test")
    viewer_token = api_tokens.create_token(db, name="grafana", role=AdminRole.viewer, created_by="test")
    db.commit()
    assert admin_token.secret not in {row.token_hash for row in api_tokens.all_tokens(db)}  # only a hash is kept
    as_admin = {"Authorization": f"Bearer {admin_token.secret}"}
    as_viewer = {"Authorization": f"Bearer {viewer_token.secret}"}
    assert web.post("/api/admin/stories", json=[], headers=as_admin).status_code in (201, 422)
    refused = web.post("/api/admin/stories", json=[], headers=as_viewer)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    api_tokens.revoke_token(db, admin_token.row.id)
    db.commit()
    assert web.get("/api/admin/stories", headers=as_admin).status_code == 401


def test_the_bootstrap_token_is_an_admin(web, db):
    assert web.get("/api/admin/stories", headers={"Authorization": f"Bearer {BOOTSTRAP}"}).status_code == 200


# --- every admin route, from the router ---------------------------------------------------------------------------


def admin_routes(app) -> list[tuple[str, str, bool]]:
    """(method, path with ids filled in, readable by viewers) for every admin route the app has."""
    found = []
    for route in iter_route_contexts(app.routes):  # the app's router, included routers flattened
        if not isinstance(route.original_route, APIRoute) or not route.path.startswith(("/admin", "/api/admin")):
            continue
        if route.path in PUBLIC_ADMIN_PATHS:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            viewer_ok = method in SAFE_METHODS and getattr(route.endpoint, "readable_by_viewers", False)
            found.append((method, path, viewer_ok))
    return found


def test_every_admin_route_refuses_anonymous_wrong_token_expired_and_underprivileged_callers(app, web, db):
    routes = admin_routes(app)
    assert len(routes) >= 3, routes
    make_admin(db, "viewer@example.org", AdminRole.viewer)
    make_admin(db, "gone@example.org", AdminRole.admin)
    viewer_cookie = open_browser_session(db, "viewer@example.org")
    viewer_csrf = session_csrf(db, "viewer@example.org")
    expired_cookie = open_browser_session(db, "gone@example.org")
    db.execute(
        update(AdminSession)
        .where(AdminSession.csrf_token != viewer_csrf)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    viewer_api = api_tokens.create_token(db, name="viewer", role=AdminRole.viewer, created_by="test").secret
    db.commit()
    problems = []
    for method, path, viewer_ok in routes:
        api = path.startswith("/api/")
        callers = {
            "anonymous": ({}, {}),
            "wrong token": ({"Authorization": "Bearer nla_not-a-real-token"}, {}),
            "bootstrap-like": ({"Authorization": f"Bearer {BOOTSTRAP}x"}, {}),
            "expired session": ({}, {"nl_admin": expired_cookie}),
        }
        for who, (headers, cookies) in callers.items():
            web.cookies.clear()
            web.cookies.update(cookies)
            answer = web.request(method, path, headers=headers)
            refused = (
                answer.status_code == 401
                if (api or headers)
                else (answer.status_code == 303 and answer.headers["location"].startswith("/admin/login"))
            )
            if not refused:
                problems.append(f"{who}: {method} {path} -> {answer.status_code}")
        for who, headers, cookies in (
            ("viewer session", {"X-CSRF-Token": viewer_csrf}, {"nl_admin": viewer_cookie}),
            ("viewer token", {"Authorization": f"Bearer {viewer_api}"}, {}),
        ):
            web.cookies.clear()
            web.cookies.update(cookies)
            answer = web.request(method, path, headers=headers)
            if viewer_ok == (answer.status_code == 403):
                problems.append(f"{who}: {method} {path} -> {answer.status_code} (viewer allowed: {viewer_ok})")
    web.cookies.clear()
    assert not problems, "\n".join(problems)


def test_a_signed_in_password_is_never_stored_in_clear(db):
    user = make_admin(db)
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")


def test_the_api_reference_is_served_from_our_own_origin_under_our_csp(web):
    page = web.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts == ["/docs/static/swagger-ui-bundle.js", "/docs/init.js"]
    assert "<script>" not in page.text  # nothing inline: the CSP allows scripts from our origin only
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in (*scripts, "/docs/static/swagger-ui.css"):
        assert web.get(asset).status_code == 200, asset
    assert web.get("/api/docs").headers["location"] == "/docs"


# --- a token is worth what its owner is -----------------------------------------------------------------------------


def _token_rows(db) -> dict[str, object]:
    """Every token row by name, read fresh."""
    db.expire_all()
    rows = {row.name: row for row in api_tokens.all_tokens(db)}
    db.commit()
    return rows


def _revocations(db) -> list[dict]:
    """The details of every token.revoke entry, oldest first."""
    db.expire_all()
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke").order_by(AuditEntry.id)).all()
    db.commit()
    return [entry.details for entry in entries]


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_a_disabled_owners_tokens_stop_and_so_do_the_tokens_they_minted(web, db):
    ann = make_admin(db, "ann@example.org")
    make_admin(db, "bob@example.org")
    made = api_tokens.create_token(
        db, name="ann's bot", role=AdminRole.admin, created_by=ann.email, owner_id=ann.id
    ).secret
    db.commit()
    minted = web.post(
        "/api/admin/tokens",
        headers={"Authorization": f"Bearer {made}"},
        json={"name": "minted by the bot", "role": "admin"},
    )
    assert minted.status_code == 201
    assert _token_rows(db)["minted by the bot"].owner_id == ann.id, "a token minted by a token has the same owner"
    secrets = (made, minted.json()["secret"])
    for secret in secrets:
        assert web.get("/api/admin/tokens", headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    sign_in(web, "bob@example.org")
    disabled = web.post(f"/admin/accounts/{ann.id}/disable", data={"csrf_token": session_csrf(db, "bob@example.org")})
    assert disabled.status_code == 303
    web.cookies.clear()
    for secret in secrets:
        answer = web.post(
            "/api/admin/tokens",
            headers={"Authorization": f"Bearer {secret}"},
            json={"name": "one more", "role": "admin"},
        )
        assert answer.status_code == 401, "a disabled owner's token neither answers nor mints"
    assert all(row.revoked_at is not None for row in _token_rows(db).values())
    assert _revocations(db) == [
        {"name": name, "role": "admin", "owner": "ann@example.org", "reason": "owner disabled"}
        for name in ("ann's bot", "minted by the bot")
    ]


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_a_demoted_owner_keeps_viewer_tokens_and_loses_admin_ones(web, db):
    ann = make_admin(db, "ann@example.org")
    make_admin(db, "bob@example.org")
    admin_token = api_tokens.create_token(
        db, name="deploy", role=AdminRole.admin, created_by=ann.email, owner_id=ann.id
    ).secret
    viewer_token = api_tokens.create_token(
        db, name="grafana", role=AdminRole.viewer, created_by=ann.email, owner_id=ann.id
    ).secret
    db.commit()
    sign_in(web, "bob@example.org")
    demoted = web.post(
        f"/admin/accounts/{ann.id}/role", data={"role": "viewer", "csrf_token": session_csrf(db, "bob@example.org")}
    )
    assert demoted.status_code == 303
    web.cookies.clear()
    assert web.get("/api/admin/tokens", headers={"Authorization": f"Bearer {admin_token}"}).status_code == 401
    assert web.get("/api/admin/feeds", headers={"Authorization": f"Bearer {viewer_token}"}).status_code == 200
    [revoked] = _revocations(db)
    assert (revoked["name"], revoked["reason"]) == ("deploy", "owner is now viewer")


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_every_use_checks_the_owner_even_when_the_account_changed_behind_our_back(web, db):
    ann = make_admin(db, "ann@example.org")
    secret = api_tokens.create_token(db, name="bot", role=AdminRole.admin, created_by=ann.email, owner_id=ann.id).secret
    db.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    assert web.get("/api/admin/tokens", headers=auth).status_code == 200
    db.execute(update(type(ann)).where(type(ann).id == ann.id).values(role="viewer"))  # e.g. SQL by hand
    db.commit()
    assert web.get("/api/admin/tokens", headers=auth).status_code == 401
    db.execute(update(type(ann)).where(type(ann).id == ann.id).values(role="admin", disabled=True))
    db.commit()
    assert web.get("/api/admin/tokens", headers=auth).status_code == 401
    db.execute(update(type(ann)).where(type(ann).id == ann.id).values(disabled=False))
    db.commit()
    assert web.get("/api/admin/tokens", headers=auth).status_code == 200, "nothing was revoked: it works again"

"""Names are names everywhere: list names, the site's and senders' names go through the one check reader names use
(no CR/LF, no control characters, no encoded words), and a list slug that cannot exist is a 422, not a 500."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.branding.models import SiteBranding
from service.core.config import Settings
from service.lists.rules import get_list
from tests.support.admin import NoMail, csrf_of, signed_in
from tests.support.apps import shared_app
from tests.test_feeds import newsletter

pytestmark = pytest.mark.sqlite_twin  # issue 20: storage on both databases

TOKEN = "names-admin-token-0123456789abcdefghijklmn"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BAD_NAMES = ["API\r\nX-Injected: yes", "Bell\x07", "=?utf-8?q?Hidden?=", "Tab\tbed\u2028"]


@pytest.fixture
def web(settings, db):
    """The real app with an admin token (lists and branding send no mail)."""
    app = shared_app(settings.model_copy(update={"admin_token": TOKEN}), notifier=NoMail())
    with TestClient(app, follow_redirects=False) as client:
        yield client


def name_of(db, slug: str) -> str:
    """The list's name as stored now."""
    db.expire_all()
    name = get_list(db, slug).name
    db.commit()
    return name


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_a_list_name_that_could_reach_a_header_is_a_clear_422_in_the_api(web, db, world_news, bad):
    answer = web.patch("/api/admin/lists/world-news", headers=AUTH, json={"name": bad})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("The list name may not contain")
    created = web.post("/api/admin/lists", headers=AUTH, json={"slug": "tech", "name": bad})
    assert created.status_code == 422 and "The list name" in created.json()["detail"]
    assert name_of(db, "world-news") == "World News daily"


@pytest.mark.processes  # runs the newsletter CLI as its own process
def test_the_list_form_and_the_cli_refuse_it_too(web, db, world_news):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/lists/world-news")
    answer = web.post(
        "/admin/lists/world-news",
        data={
            "csrf_token": csrf,
            "name": "Daily\r\nBcc: all@example.org",
            "send_time": "07:00",
            "timezone": "Europe/London",
            "languages": "en",
        },
    )
    assert answer.status_code == 422 and "The list name may not contain line breaks" in answer.text
    cli = newsletter("lists", "create", "tech", "--name", "Tech\r\nX-Injected: yes")
    assert cli.returncode == 2 and "Traceback" not in cli.stderr and "The list name may not contain" in cli.stderr
    assert name_of(db, "world-news") == "World News daily"


@pytest.mark.parametrize("field", ["name", "sender_name"])
def test_site_and_sender_names_in_the_branding_form(web, db, world_news, field):
    signed_in(web, db)
    form = {
        "name": "Morning Brief",
        "about": "",
        "accent_color": "#1A5C8E",
        "sender_name": "The Desk",
        field: "Morning\rBrief",
        "csrf_token": csrf_of(web, "/admin/branding"),
    }
    answer = web.post("/admin/branding", data=form)
    assert answer.status_code == 422 and "may not contain line breaks" in answer.text
    db.expire_all()
    assert db.get(SiteBranding, 1) is None, "nothing stored"
    db.commit()
    listed = web.post(
        "/admin/branding/lists/world-news",
        data={"accent_color": "", "sender_name": "=?utf-8?b?QQ==?=", "csrf_token": csrf_of(web, "/admin/branding")},
    )
    assert listed.status_code == 422 and "The sender name may not contain &#39;=?...?=&#39; encoded text" in listed.text


@pytest.mark.parametrize("setting", ["site_name", "site_sender_name"])
def test_site_names_in_the_settings_are_refused_at_start(setting):
    with pytest.raises(ValidationError, match="may not contain line breaks"):
        Settings(_env_file=None, environment="development", **{setting: "News\nBcc: everyone@example.org"})


@pytest.mark.parametrize(
    ("mail_from", "error"),
    [
        ("News\nBcc: everyone@example.org <news@example.org>", "may not contain line breaks"),
        ("=?utf-8?q?News?= <news@example.org>", "encoded text"),
        ("Bell\x07 <news@example.org>", "may not contain line breaks"),
        ("World News daily", "must look like 'World News <news@example.org>'"),
    ],
)
def test_the_mail_from_setting_is_refused_at_start_too(mail_from, error):
    """MAIL_FROM's display name is the From name (and the site's) when SITE_* are unset: a name, like the others."""
    with pytest.raises(ValidationError, match=error):
        Settings(_env_file=None, environment="development", mail_from=mail_from)
    assert Settings(_env_file=None, environment="development", mail_from='"Ann, B." <n@example.org>').mail_from


@pytest.mark.parametrize("slugs", [["\ud800"], ["World News"], ["World-News"], ["a" * 65], ["x'; --"]])
def test_a_list_slug_that_cannot_exist_is_a_422(web, db, world_news, slugs):
    body = json.dumps({"email": "ada@example.org", "lists": slugs})  # "\ud800" stays an escape in the JSON
    answer = web.post("/api/subscriptions", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("lists.0: "), "the one-line error names the field"
    assert web.patch("/api/admin/lists/%ED%A0%80", headers=AUTH, json={"name": "X"}).status_code == 422

"""Branding set in the admin UI shows on the pages and in the emails (From name, header, accent); a bad colour or
logo gets a clear error and changes nothing; configuration gives the defaults."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from service.admin.models import AuditEntry
from service.branding.models import BrandLogo, SiteBranding
from service.core.config import Settings
from service.lists.rules import create_list
from service.readers.subscriptions.lookups import all_lists
from tests.support.admin import csrf_of, signed_in
from tests.support.web import html_part, subscribe_by_form

EMAIL = "brand.reader@example.com"
SITE = {
    "name": "Morning Brief",
    "about": "Five stories before breakfast.",
    "accent_color": "#1A5C8E",
    "sender_name": "Morning Brief Desk",
}


def png(width: int = 4, height: int = 2, padding: int = 0) -> bytes:
    """A real (tiny) PNG image, optionally padded with an ancillary chunk to make it large."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x1a\x5c\x8e" * width for _ in range(height))
    extra = chunk(b"tEXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + extra
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def save_site(client, logo: tuple[str, bytes, str] | None = None, **fields):
    """Post the site branding form (multipart, as the browser sends it)."""
    files = {"logo": logo} if logo else {"logo": ("", b"", "application/octet-stream")}
    return client.post(
        "/admin/branding",
        data={**SITE, **fields, "csrf_token": csrf_of(client, "/admin/branding")},
        files=files,
        follow_redirects=False,
    )


def stored_site(db):
    """The site branding row and logo as the database has them now."""
    db.expire_all()
    row = db.get(SiteBranding, 1)
    logo = db.scalar(select(BrandLogo).where(BrandLogo.list_id.is_(None)))
    result = (None if row is None else (row.name, row.accent_color), None if logo is None else logo.content_type)
    db.commit()
    return result


def test_site_branding_from_the_admin_shows_on_pages_and_is_audited(client, db, world_news):
    create_list(db, slug="science", name="Science weekly", categories=["Science"], languages=["en"])
    signed_in(client, db)
    answer = save_site(client, logo=("logo.png", png(), "image/png"))
    assert answer.status_code == 303
    landing = client.get("/").text  # two lists: the site's own page
    assert '<h1 id="site-name">Morning Brief</h1>' in landing and "Five stories before breakfast." in landing
    assert "--accent:#1a5c8e;" in landing and "World News daily</h1>" not in landing
    assert "<title>Morning Brief · Morning Brief</title>" in landing
    logo_url = re.search(r'<a class="home" href="/"><img src="(/brand/logo\?v=\d+)"', landing).group(1)
    logo = client.get(logo_url)
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png" and logo.content == png()
    archive = client.get("/archive").text
    assert "<span>Morning Brief</span>" in archive and "--accent:#1a5c8e;" in archive, "every page has the brand"
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "branding.update")).all()
    assert entry.details["name"] == ["", "Morning Brief"] and entry.details["logo"] == "image/png"


def test_site_branding_names_the_sender_and_colours_the_confirmation_email(client, db, world_news, mailbox):
    create_list(db, slug="science", name="Science weekly", categories=["Science"], languages=["en"])
    signed_in(client, db)
    save_site(client)
    subscribe_by_form(client, EMAIL, lists=("world-news", "science"))  # two lists: the site's brand
    message = mailbox.wait_for(EMAIL)[0].message
    assert message["From"] == "Morning Brief Desk <news@news.example.org>"
    html = html_part(message)
    assert "Morning Brief</div>" in html and "#1a5c8e" in html
    assert "/brand/logo" not in html, "no logo uploaded, none shown"
    save_site(client, logo=("logo.png", png(), "image/png"))
    subscribe_by_form(client, "second." + EMAIL, lists=("world-news", "science"))
    logo = re.search(
        r'<img[^>]+src="(http://testserver/brand/logo\?v=\d+)"',
        html_part(mailbox.wait_for("second." + EMAIL)[0].message),
    )
    assert logo and client.get(logo.group(1)).content == png(), "the email's header shows the uploaded logo"


def test_a_lists_own_branding_wins_on_its_page_and_in_its_emails(client, db, world_news, mailbox):
    signed_in(client, db)
    save_site(client)
    form = client.post(
        "/admin/branding/lists/world-news",
        data={
            "accent_color": "#0b6e4f",
            "sender_name": "World Desk",
            "csrf_token": csrf_of(client, "/admin/branding/lists/world-news"),
        },
        files={"logo": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert form.status_code == 303
    landing = client.get("/").text  # one list: the list's page
    assert '<h1 id="site-name">World News daily</h1>' in landing and "--accent:#0b6e4f;" in landing
    subscribe_by_form(client, EMAIL)
    message = mailbox.wait_for(EMAIL)[0].message
    assert message["From"] == "World Desk <news@news.example.org>"
    assert "#0b6e4f" in html_part(message) and "World News daily</div>" in html_part(message)
    assert (
        db.scalars(select(AuditEntry).where(AuditEntry.action == "branding.list_update")).one().object_id
        == "world-news"
    )


@pytest.mark.parametrize(
    ("colour", "words"), [("#ffcc00", "too light"), ("blue", "six hex digits"), ("#767676", "4.5:1")]
)
def test_an_unreadable_or_malformed_accent_is_refused_and_changes_nothing(client, db, world_news, colour, words):
    signed_in(client, db)
    answer = save_site(client, accent_color=colour, logo=("logo.png", png(), "image/png"))
    if colour == "#767676":  # 4.54:1 passes, just
        assert answer.status_code == 303
        return
    assert answer.status_code == 422 and words in answer.text
    assert f'value="{colour}"' in answer.text, "the typed value stays in the form"
    assert stored_site(db) == (None, None), "nothing stored, not even the valid logo sent with it"


@pytest.mark.parametrize(
    ("upload", "words"),
    [
        (("big.png", png(padding=300 * 1024), "image/png"), "the largest allowed is 256 KB"),
        (
            ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
            "not a PNG, JPEG, GIF or WebP image",
        ),
        (("logo.png", b"just text pretending to be an image", "image/png"), "not a PNG, JPEG, GIF or WebP image"),
    ],
)
def test_a_bad_logo_gets_a_clear_error_and_changes_nothing(client, db, world_news, upload, words):
    signed_in(client, db)
    assert save_site(client, logo=("first.png", png(), "image/png")).status_code == 303
    before = stored_site(db)
    answer = save_site(client, logo=upload, name="Another name")
    assert answer.status_code == 422 and words in answer.text
    assert stored_site(db) == before, "the name and the logo stay as they were"


def test_configuration_gives_the_defaults_and_refuses_an_unreadable_accent(db, settings, world_news):
    from service.branding.brand import list_brand, site_brand

    configured = settings.model_copy(update={"site_name": "Configured Daily", "site_accent_color": "#2d3a8c"})
    brand = site_brand(db, configured)
    assert (brand.name, brand.accent, brand.sender_name) == ("Configured Daily", "#2d3a8c", "World News daily")
    assert list_brand(db, configured, all_lists(db)[0]).accent == "#2d3a8c"
    with pytest.raises(ValidationError, match="too light"):
        Settings(site_accent_color="#f0f0f0", environment="development")

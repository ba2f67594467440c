"""Every admin page, signed in with realistic data, in a real headless Chromium at 1280 px and 375 px, light and dark
(the system's colour scheme): axe-core reports no serious or critical violation (contrast included), no page is
wider than the phone, and a screenshot of each lands in test-output/."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from playwright.sync_api import Page, expect

from service.admin import api_tokens, audit
from service.admin.models import AdminRole
from service.bounces.models import Bounce
from service.core.db import engine_for
from service.editions import build_edition
from service.lists.rules import create_list
from service.mail import suppressions
from service.models import Delivery, EditionStatus, Subscriber, utcnow
from service.readers.subscribers import jobs
from service.stories.feeds import intake as feeds
from tests.support.admin import PASSWORD, make_admin
from tests.support.axe import axe_violations, describe, install_axe
from tests.support.browser import chromium_page
from tests.support.edition_stories import long_story, store
from tests.support.live_server import live_server
from tests.support.ports import free_port
from tests.support.readers import add_readers

VIEWPORTS = {"1280": {"width": 1280, "height": 900}, "375": {"width": 375, "height": 740}}
ADMIN = "ann@example.org"
HOSTILE_CSV = (
    b"email,name,timezone\n"
    b"kept.one@example.org,Kept One,Europe/Paris\n"
    b"=cmd|' /C calc'!A0,Formula,\n"
    b"<img src=x onerror=alert(1)>@example.org,Markup,\n"
    b"kept.two@example.org,Bad Zone,Mars/Olympus\n"
    b"kept.one@example.org,Again,\n"
)


class Quiet:
    """A pre-confirmed import mails nobody."""

    def confirmations(self, subscriber_ids, list_id):
        raise AssertionError("a pre-confirmed import mails nobody")


def a_sending_edition(db, settings, mailing_list, emails: list[str]) -> int:
    """Today's edition, half sent, one refused, the rest waiting: progress bars, figures and failures to show."""
    now = utcnow()
    edition = build_edition(db, settings=settings, mailing_list=mailing_list, day=now.date(), now=now)
    assert edition is not None
    edition.send_status, edition.send_started_at = EditionStatus.sending, now - timedelta(minutes=3)
    ids = dict(db.query(Subscriber.email, Subscriber.id).filter(Subscriber.email.in_(emails)).all())
    for number, email in enumerate(emails):
        status = "sent" if number % 2 else "pending"
        failed = number == 0
        db.add(
            Delivery(
                edition_id=edition.id,
                subscriber_id=ids[email],
                status="failed" if failed else status,
                not_before=now,
                sent_at=now if status == "sent" else None,
                smtp_code=550 if failed else None,
                failure_kind="hard_bounce" if failed else None,
                smtp_reply=f"5.1.1 <{email}>: mailbox unavailable" if failed else None,
            )
        )
    db.commit()
    return edition.id


@pytest.fixture
def admin_site(settings, db):
    """Two lists with readers, an edition being sent, stories, feeds, a finished import with hostile rejected rows,
    a held bounce, suppressions, tokens, a second account and their audit trail; the app on a live server."""
    make_admin(db, ADMIN)
    make_admin(db, "vic@example.org", role=AdminRole.viewer)
    world = create_list(
        db,
        slug="world-news",
        name="World News daily",
        timezone="Europe/London",
        description="The day's most important world stories.",
        categories=["World News"],
    )
    create_list(
        db, slug="science", name="Science weekly", description="Discoveries and launches.", categories=["Science"]
    )
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world.id, 12, prefix="reader")
    add_readers(engine, world.id, 3, prefix="maybe", status="unconfirmed")
    stories = [store(db, long_story(number), datetime.now(UTC) - timedelta(hours=3)) for number in range(4)]
    store(db, long_story(9, category="Science"), datetime.now(UTC) - timedelta(hours=2))
    edition_id = a_sending_edition(db, settings, world, readers[:6])
    for url, category in (
        ("https://feeds.example.com/world.xml", "World News"),
        ("https://feeds.example.com/science.xml", "Science"),
    ):
        feeds.add_feed(db, url=url, category=category, publisher="Example News")
    suppressions.suppress(db, "bounced@example.org", "hard bounce")
    db.add(
        Bounce(
            kind="hard",
            status="5.1.1",
            diagnostic="550 5.1.1 user unknown",
            source="imap",
            message_sha256=hashlib.sha256(b"held").hexdigest(),
            raw="From: mailer-daemon\n\nno proof",
            review="no token or message-id",
        )
    )
    api_tokens.create_token(db, name="deploy bot", role=AdminRole.viewer, created_by=ADMIN)
    audit.record(db, actor=ADMIN, action="token.create", object_type="api_token", details={"name": "deploy bot"})
    db.commit()
    job = jobs.create_import_job(
        db,
        settings,
        list_slug="world-news",
        filename="readers.csv",
        source=BytesIO(HOSTILE_CSV),
        confirmed=True,
        reason="Moving from listmonk",
        created_by=ADMIN,
    )
    job = jobs.run_import_job(settings, job.id, notifier=Quiet())
    assert job.skipped >= 3, job.rejected
    reader_id = db.query(Subscriber.id).filter(Subscriber.email == readers[0]).scalar()
    feed_id = feeds.list_feeds(db)[0].id
    values = {
        "edition": edition_id,
        "story": stories[0].id,
        "reader": reader_id,
        "import": job.id,
        "feed": feed_id,
        "bounce": db.query(Bounce.id).scalar(),
    }
    port = free_port()
    public = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    from service.web.app import create_app

    with live_server(create_app(public), port) as server:
        yield server, values


def pre_confirmed_without_reason(page: Page) -> None:
    """Send the import form as a browser without its script would: pre-confirmed, no reason, no file."""
    page.get_by_label("List", exact=True).select_option("world-news")
    page.get_by_role("checkbox", name=re.compile("Pre-confirmed")).check()
    with page.expect_navigation():
        page.locator("main form").evaluate("form => form.submit()")
    expect(page.locator("#reason-error")).to_be_visible()


@dataclass(frozen=True)
class AdminPage:
    """An admin page: where it is ({name} fields come from the fixture's values) and what brings it up there."""

    name: str
    path: str
    then: object = None
    status: int = 200


# Every admin page, in one place: add a page here and every viewport and colour scheme checks it.
ADMIN_PAGES = [
    AdminPage("dashboard", "/admin"),
    AdminPage("editions", "/admin/editions"),
    AdminPage("edition", "/admin/editions/{edition}"),
    AdminPage("edition-text", "/admin/editions/{edition}/text"),
    AdminPage("edition-unbuilt", "/admin/editions/day?list=science"),
    AdminPage("lists", "/admin/lists"),
    AdminPage("list-new", "/admin/lists/new"),
    AdminPage("list-edit", "/admin/lists/world-news"),
    AdminPage("branding", "/admin/branding"),
    AdminPage("branding-list", "/admin/branding/lists/world-news"),
    AdminPage("subscribers", "/admin/subscribers?q=reader"),
    AdminPage("subscriber", "/admin/subscribers/{reader}"),
    AdminPage("imports", "/admin/imports"),
    AdminPage("import-new", "/admin/imports/new"),
    AdminPage("import-form-error", "/admin/imports/new", then=pre_confirmed_without_reason),
    AdminPage("import-report", "/admin/imports/{import}"),
    AdminPage("suppressions", "/admin/suppressions"),
    AdminPage("held-bounce", "/admin/suppressions/held/{bounce}"),
    AdminPage("stories", "/admin/stories"),
    AdminPage("story", "/admin/stories/{story}"),
    AdminPage("story-edit", "/admin/stories/{story}/edit"),
    AdminPage("story-delete", "/admin/stories/{story}/delete"),
    AdminPage("story-import", "/admin/stories/import"),
    AdminPage("feeds", "/admin/feeds"),
    AdminPage("feed-new", "/admin/feeds/new"),
    AdminPage("feed-edit", "/admin/feeds/{feed}/edit"),
    AdminPage("audit", "/admin/audit"),
    AdminPage("tokens", "/admin/tokens"),
    AdminPage("accounts", "/admin/accounts"),
    AdminPage("password", "/admin/accounts/password"),
    AdminPage("not-found", "/admin/imports/999999", status=404),
]


def sign_in(page: Page, server) -> None:
    """The sign-in form, checked too (it is the one admin page seen signed out), then the dashboard."""
    page.goto(server.url("/admin/login"))
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    page.wait_for_load_state("load")  # the heading is there before admin.css is: the colours come with the stylesheet


def ground_lightness(page: Page) -> float:
    """How light the page's background is, 0 (black) to 1 (white)."""
    rgb = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert rgb.startswith("rgb("), f"the page has no background of its own ({rgb}): was the stylesheet loaded?"
    red, green, blue = (int(part) for part in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def too_wide(page: Page) -> list[str]:
    """What sticks out past the right edge of the viewport (outside a box that scrolls), pushing the page sideways."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const clipped = (el) => {  // an absolute box escapes the overflow of boxes below its containing block
            const start = getComputedStyle(el).position === 'absolute' ? el.offsetParent : el.parentElement;
            for (let up = start; up; up = up.parentElement) {
            if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(up).overflowX) && up !== document.body
                && up !== document.documentElement) return true; } return false; };
        const out = (el) => el.getBoundingClientRect().right > width + 1 && !clipped(el);
        const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
            (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
        const found = [...document.body.querySelectorAll('*')].filter(el => out(el) && !out(el.parentElement));
        if (document.documentElement.scrollWidth <= width) return [];
        const where = (el) => name(el.parentElement) + ' > ' + name(el) + ' ends at '
            + Math.round(el.getBoundingClientRect().right) + ' px';
        return ['the page scrolls sideways to ' + document.documentElement.scrollWidth + ' px',
                ...found.slice(0, 5).map(where)];
    }""")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_admin_page_passes_axe(admin_site, output_dir, width, scheme):
    server, values = admin_site
    found: dict[str, list[dict]] = {}
    wide: dict[str, list[str]] = {}
    expected = (*{f"status of {p.status}" for p in ADMIN_PAGES if p.status != 200}, "status of 422")  # form error
    with chromium_page(server.origin, viewport=VIEWPORTS[width], expected_console=expected) as page:
        page.emulate_media(color_scheme=scheme)
        install_axe(page)
        dialogs: list[str] = []  # the import's rejected rows carry markup that would alert() if it ran
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url("/admin/login"))
        found.update({"login": violations} if (violations := axe_violations(page)) else {})
        sign_in(page, server)
        assert (ground_lightness(page) > 0.5) == (scheme == "light"), "the admin does not follow the system's scheme"
        for admin_page in ADMIN_PAGES:
            answer = page.goto(server.url(admin_page.path.format(**values)))
            assert answer is not None and answer.status == admin_page.status, f"{admin_page.name}: {answer}"
            if admin_page.then is not None:
                admin_page.then(page)
            page.screenshot(path=str(output_dir / f"a11y-admin-{admin_page.name}-{width}-{scheme}.png"), full_page=True)
            if violations := axe_violations(page):
                found[admin_page.name] = violations
            if problems := too_wide(page):
                wide[admin_page.name] = problems
    report = "\n".join(f"{name} at {width} px, {scheme}:\n{describe(violations)}" for name, violations in found.items())
    print(
        report or f"axe: 0 serious or critical violations on {len(ADMIN_PAGES) + 1} admin pages at {width} px, {scheme}"
    )
    assert not dialogs, f"a page ran a script from the data: {dialogs}"
    assert not found, f"axe found serious or critical problems:\n{report}"
    assert not wide, f"pages wider than {width} px: {wide}"

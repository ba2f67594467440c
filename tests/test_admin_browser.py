"""An admin's session in a real headless Chromium, on the real app under uvicorn with a real worker and SMTP server.

Signs in, creates a list, imports a CSV, previews today's edition, sends a test, sends the edition and follows its
progress to 100%; screenshots every admin page into test-output/admin-*.png. A viewer sees figures and no actions.
"""

from __future__ import annotations

import csv
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from service.admin.models import AdminRole
from service.core.db import engine_for
from service.editions import build_edition
from tests.support.admin import PASSWORD, make_admin
from tests.support.browser import accept_confirms, chromium_page
from tests.support.edition_stories import day_of_stories
from tests.support.live_server import live_server
from tests.support.ports import free_port
from tests.support.readers import add_readers

ADMIN = "ann@example.org"
READERS = [f"browser.reader{n:02d}@example.org" for n in range(25)]
MALFORMED = ["not an address,Nobody,", "bad.zone@example.org,Bad Zone,Mars/Olympus"]
TESTER = "tester@example.org"
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 375, "height": 800}


def readers_csv() -> bytes:
    """25 good rows with two malformed ones in between (file lines 12 and 20)."""
    rows = [f"{email},Reader {n},Europe/Paris" for n, email in enumerate(READERS)]
    rows.insert(10, MALFORMED[0])
    rows.insert(18, MALFORMED[1])
    return ("email,name,timezone\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def server(settings, celery_worker, db, mailbox):
    """The real app on a free port (its BASE_URL is the live server's origin); mail goes through the real worker."""
    from service.web.app import create_app

    port = free_port()
    with live_server(create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})), port) as running:
        yield running


@pytest.fixture
def page(server):
    """A 1280 px page in headless Chromium that may only talk to the live server; console and page errors fail."""
    with chromium_page(server.origin, viewport=WIDE, timeout_ms=15_000) as page:
        yield page


def nav(page: Page, section: str) -> None:
    """Follow a link of the side navigation, as a person would, and wait for the page's load event: the page left
    behind has a heading too, and what is read next (sizes, what is absent, admin.js's handlers) needs all of it."""
    with page.expect_navigation():
        page.get_by_role("navigation", name="Admin sections").get_by_role("link", name=section, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def shoot(page: Page, output_dir, name: str) -> None:
    """A full-page screenshot at the current width, taken with the whole page on screen (iframes paint only then)."""
    viewport = page.viewport_size
    assert viewport is not None
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    page.wait_for_timeout(300)
    page.screenshot(path=str(output_dir / f"admin-{name}.png"), full_page=True)
    page.set_viewport_size(viewport)


def sign_in(page: Page, server, email: str) -> None:
    """Open /admin, land on the sign-in page, sign in and arrive on the dashboard."""
    page.goto(server.url("/admin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")


def previews_show_a_headline(page: Page) -> None:
    """Both preview iframes (desktop, phone) render the edition's stories."""
    for kind in ("desktop", "phone"):
        frame = page.locator(f"iframe.{kind}")
        frame.scroll_into_view_if_needed()
        expect(frame.content_frame.locator("body")).to_contain_text(re.compile(r"\(part \d+\)"))


@pytest.mark.browser
def test_an_admin_session_from_sign_in_to_a_sent_edition(server, page, db, mailbox, output_dir):
    make_admin(db, ADMIN)
    day_of_stories(db, 10, hostile=False)
    # The admin says yes to every "Are you sure?" (the page asks window.confirm; see accept_confirms).
    confirms = accept_confirms(page)

    # 1. /admin asks to sign in first; the sign-in leads to the dashboard.
    page.goto(server.url("/admin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    shoot(page, output_dir, "login")
    sign_in(page, server, ADMIN)

    # 2. A new list, sent late in the day so nothing but this session sends it.
    nav(page, "Lists")
    page.get_by_role("link", name="New list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New list")
    page.get_by_label("Slug", exact=True).fill("browser-news")
    page.get_by_label("Name", exact=True).fill("Browser News daily")
    page.get_by_label("Description", exact=True).fill("The day's world news, for the browser test.")
    page.get_by_label("Send time", exact=True).fill("23:50")
    page.get_by_label("Time zone", exact=True).select_option("UTC")
    page.get_by_label("Categories", exact=True).fill("World News")
    page.get_by_label("Languages", exact=True).fill("en")
    shoot(page, output_dir, "list-form")
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("status")).to_have_text("Created the list browser-news.")
    expect(page.get_by_role("cell", name=re.compile("Browser News daily"))).to_be_visible()

    # 3. A pre-confirmed CSV import: the progress page turns into the report, which names the malformed lines.
    nav(page, "Imports")
    with page.expect_navigation():  # the reason is required by admin.js, which runs only once the form is parsed
        page.get_by_role("link", name="Import a CSV").first.click()
    page.get_by_label("List", exact=True).select_option("browser-news")
    page.get_by_label("CSV file").set_input_files(
        {"name": "readers.csv", "mimeType": "text/csv", "buffer": readers_csv()}
    )
    page.get_by_label(re.compile("Pre-confirmed")).check()
    # Forgetting the reason is caught before sending, so the chosen file stays chosen.
    page.get_by_role("button", name="Upload and import").click()
    reason = page.get_by_label(re.compile("Reason"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import subscribers")
    assert reason.evaluate("field => field.validationMessage").startswith("A pre-confirmed import needs a reason")
    assert page.get_by_label("CSV file").evaluate("input => input.files[0].name") == "readers.csv"
    reason.fill("Moving our readers from listmonk; consent collected there.")
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Import \d+: readers.csv"))
    job_id = page.url.rsplit("/", 1)[1]  # ids go on across tests: the tables are emptied, not recreated
    expect(page.get_by_role("heading", name="Report")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    rejected = page.get_by_role("table", name="Rejected rows").locator("tbody tr")
    expect(rejected).to_have_count(2)
    expect(rejected.nth(0)).to_contain_text("12")
    expect(rejected.nth(0)).to_contain_text(MALFORMED[0])  # the row as the file had it
    expect(rejected.nth(1)).to_contain_text("20")
    expect(rejected.nth(1)).to_contain_text("Mars/Olympus")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    assert download.value.suggested_filename == f"import-{job_id}-rejected.csv"
    header, *rows = csv.reader(Path(download.value.path()).read_text(encoding="utf-8").splitlines())
    assert header == ["line", "reason", "row"]
    assert [(line, row) for line, _, row in rows] == [("12", MALFORMED[0]), ("20", MALFORMED[1])]
    assert "time zone" in rows[1][1]
    shoot(page, output_dir, "import-report")

    # 4. Today's edition, from the dashboard's next sends: both previews show the stories.
    nav(page, "Dashboard")
    page.get_by_role("row", name=re.compile("Browser News daily")).get_by_role("link", name="Open today's").click()
    today = datetime.now(ZoneInfo("UTC")).date().isoformat()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Browser News daily · {today}")
    previews_show_a_headline(page)

    # 5. A test to one address arrives, marked [Test].
    page.get_by_label("Send a test to").fill(TESTER)
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_have_text(f"Test sent to {TESTER}.")
    [test] = mailbox.wait_for(TESTER)
    assert test.message["Subject"].startswith("[Test]"), test.message["Subject"]

    # 6. Send now names the audience; the edition's page follows the send to 100% and reloads; every reader got
    # exactly one copy.
    page.wait_for_load_state("load")  # the "Are you sure?" is admin.js's, added once the page after the test is parsed
    page.get_by_role("button", name="Send to 25 readers of Browser News daily").click()
    # Sending assembles and freezes the draft first, which takes seconds on a loaded machine.
    expect(page).to_have_url(re.compile(r"/admin/editions/\d+$"), timeout=60_000)
    day = datetime.now(ZoneInfo("UTC")).date()
    assert confirms() == [
        f"Send Browser News daily of {day:%A} {day.day} {day:%B %Y} to 25 readers now? This cannot be undone."
    ], confirms()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100", timeout=90_000)
    expect(page.locator(".progress .label")).to_have_text("25/25 · 25 sent · 0 failed", timeout=30_000)
    expect(page.get_by_role("heading", level=1).locator(".badge")).to_have_text("complete", timeout=30_000)
    mailbox.wait_for_each(READERS)
    time.sleep(1)  # a duplicate would come right after
    copies = {address: len(mailbox.messages_to(address)) for address in READERS}
    assert copies == dict.fromkeys(READERS, 1), copies
    assert mailbox.messages_to("bad.zone@example.org") == []
    assert len(mailbox.messages_to(TESTER)) == 1
    previews_show_a_headline(page)
    shoot(page, output_dir, "edition")
    edition_url = page.url

    # 7. Every other admin page, at 1280 px; the dashboard and the edition also at 375 px.
    nav(page, "Dashboard")
    shoot(page, output_dir, "dashboard")
    nav(page, "Editions")
    expect(page.get_by_role("link", name=today)).to_be_visible()
    shoot(page, output_dir, "editions")
    nav(page, "Lists")
    shoot(page, output_dir, "lists")
    nav(page, "Subscribers")
    page.get_by_label("Address or name").fill("browser.reader")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=READERS[0])).to_be_visible()
    shoot(page, output_dir, "subscribers")
    page.get_by_role("link", name=READERS[0]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(READERS[0])
    shoot(page, output_dir, "subscriber")
    nav(page, "Imports")
    expect(page.get_by_role("link", name="readers.csv")).to_be_visible()
    shoot(page, output_dir, "imports")
    nav(page, "Suppressions")
    page.get_by_label("Address", exact=True).nth(1).fill("bounced@example.org")
    page.get_by_label("Reason", exact=True).first.fill("Hard bounce reported by the old provider")
    page.get_by_role("button", name="Suppress").click()
    expect(page.get_by_role("status")).to_be_visible()
    shoot(page, output_dir, "suppressions")
    nav(page, "Stories")
    shoot(page, output_dir, "stories")
    page.locator("table.data tbody a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("(part")
    shoot(page, output_dir, "story")
    nav(page, "Feeds")
    page.get_by_role("link", name="Add a feed").click()
    page.get_by_label(re.compile("Feed URL")).fill("https://feeds.example.com/world.xml")
    page.get_by_label(re.compile("Category")).fill("World News")
    page.get_by_role("button", name="Add feed").click()
    expect(page.get_by_role("status")).to_be_visible()
    shoot(page, output_dir, "feeds")
    nav(page, "Audit log")
    expect(page.locator("main")).to_contain_text("list.create")
    shoot(page, output_dir, "audit")
    nav(page, "API tokens")
    page.get_by_label(re.compile("Name")).fill("deploy bot")
    page.get_by_role("button", name="Create token").click()
    nav(page, "API tokens")
    expect(page.get_by_role("cell", name="deploy bot")).to_be_visible()
    shoot(page, output_dir, "tokens")
    nav(page, "Accounts")
    expect(page.get_by_role("cell", name=ADMIN)).to_be_visible()
    shoot(page, output_dir, "accounts")

    page.set_viewport_size(NARROW)
    nav(page, "Dashboard")
    shoot(page, output_dir, "dashboard-375")
    page.goto(edition_url)
    previews_show_a_headline(page)
    shoot(page, output_dir, "edition-375")


@pytest.mark.browser
def test_a_viewer_sees_dashboards_and_figures_but_no_actions(
    server, page, db, mailbox, world_news, settings, output_dir
):
    make_admin(db, "vic@example.org", role=AdminRole.viewer)
    add_readers(engine_for(settings.effective_database_url), world_news.id, 3)
    day_of_stories(db, 5, hostile=False)
    edition = build_edition(
        db,
        settings=settings,
        mailing_list=world_news,
        day=(datetime.now(ZoneInfo(world_news.timezone)) + timedelta(days=1)).date(),
    )
    db.commit()

    sign_in(page, server, "vic@example.org")
    expect(page.locator(".side .who")).to_contain_text("viewer")
    sections = page.get_by_role("navigation", name="Admin sections")
    for hidden in ("Subscribers", "Imports", "Suppressions", "Audit log", "API tokens", "Accounts"):
        expect(sections.get_by_role("link", name=hidden, exact=True)).to_have_count(0)

    nav(page, "Editions")
    with page.expect_navigation():  # the whole page, not the part parsed so far, is what offers no button
        page.get_by_role("link", name=str(edition.edition_date)).click()
    expect(page.locator(".cards .stat").first).to_contain_text("planned")
    expect(page.get_by_role("button")).to_have_text(["Sign out"])  # no send, test, pause or cancel
    previews_show_a_headline(page)
    shoot(page, output_dir, "viewer-edition")
    nav(page, "Lists")
    expect(page.get_by_role("link", name="New list")).to_have_count(0)
    expect(page.get_by_role("button", name="Archive")).to_have_count(0)
    nav(page, "Stories")
    expect(page.get_by_role("link", name="Import stories")).to_have_count(0)
    nav(page, "Feeds")
    expect(page.get_by_role("link", name="Add a feed")).to_have_count(0)

    # What is not offered is refused too, with a page that says why.
    token = page.locator("input[name=csrf_token]").first.input_value()
    answer = page.request.post(
        server.url(f"/admin/editions/{edition.id}/cancel"), form={"csrf_token": token}, max_redirects=0
    )
    assert answer.status == 403 and "read dashboards and figures only" in answer.text()
    assert page.request.get(server.url("/admin/subscribers"), max_redirects=0).status == 403

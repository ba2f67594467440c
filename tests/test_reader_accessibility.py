"""Every reader page in a real headless Chromium at 1280 px and 375 px, light and dark: a screenshot of each in
test-output/, and axe-core reporting no serious or critical violation (contrast included, in both schemes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from service.editions import build_edition
from service.lists.rules import create_list
from service.mail import links
from service.models import EditionStatus, Subscriber, Subscription, SubscriptionStatus
from tests.support.axe import axe_violations, describe, install_axe
from tests.support.browser import chromium_page
from tests.support.edition_stories import add_story, long_story, store
from tests.support.live_server import live_server
from tests.support.ports import free_port

DAY1, DAY2 = date(2026, 3, 9), date(2026, 3, 10)
T2 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
VIEWPORTS = {"1280": {"width": 1280, "height": 900}, "375": {"width": 375, "height": 740}}


def submit_first_form(page) -> None:
    """Press the form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()


def subscribe_by_form(page) -> None:
    """Type an address into the subscribe form and send it (the list is preselected by the URL)."""
    page.get_by_label("Email address").first.fill("a11y.new.reader@example.com")
    submit_first_form(page)


@dataclass(frozen=True)
class ReaderPage:
    """A page readers see: where it is ({name} fields come from the `site` fixture) and what brings it up there."""

    name: str
    path: str
    then: object = None  # a function of the page, for a page that comes after a form (check inbox, confirmed)
    status: int = 200


# Every reader page, in one place: add a page here and every viewport and colour scheme checks it.
READER_PAGES = [
    ReaderPage("landing", "/"),
    ReaderPage("subscribe", "/subscribe"),
    ReaderPage("check-inbox", "/subscribe?list=world-news", then=subscribe_by_form),
    ReaderPage("confirm", "{confirm}"),
    ReaderPage("confirmed", "{confirm}", then=submit_first_form),
    ReaderPage("preferences", "{preferences}"),
    ReaderPage("unsubscribe", "{unsubscribe}"),
    ReaderPage("my-data", "{data}"),
    ReaderPage("archive-index", "/archive"),
    ReaderPage("list-archive", "/archive/world-news"),
    ReaderPage("web-edition", "/archive/world-news/{edition}"),
    ReaderPage("story", "/stories/{story}"),
    ReaderPage("not-found", "/no-such-page", status=404),
]


class NoMail:
    """The pages hand requests and emails on to a worker; here nobody needs them."""

    def subscribe_request(self, request):
        """Dropped: the page after the form is what is checked."""

    def confirmation(self, subscriber_id, list_ids):
        """Dropped."""

    welcome = confirmation


@pytest.fixture
def site(settings, db):
    """Two lists, two published editions of seed-sized stories, a reader with links: what the pages need to show."""
    world = create_list(
        db,
        slug="world-news",
        name="World News daily",
        timezone="Europe/London",
        description="The day's most important world stories, in key points, with their sources.",
        categories=["World News"],
    )
    create_list(
        db, slug="science", name="Science weekly", description="Discoveries and launches.", categories=["Science"]
    )
    add_story(db, "Summit in Tokyo", sources=8, received_at=T2 - timedelta(days=1, hours=2))
    build_edition(
        db, settings=settings, mailing_list=world, day=DAY1, now=T2 - timedelta(days=1)
    ).send_status = EditionStatus.complete  # gone out before the next is built, so its story is not sent twice
    db.commit()
    stories = [store(db, long_story(number), T2 - timedelta(hours=3)) for number in range(4)]
    build_edition(db, settings=settings, mailing_list=world, day=DAY2, now=T2).send_status = EditionStatus.complete
    reader = Subscriber(email="a11y.reader@example.com", name="Ada Lovelace", timezone="Europe/London")
    db.add(reader)
    db.flush()
    db.add(
        Subscription(
            subscriber_id=reader.id,
            list_id=world.id,
            status=SubscriptionStatus.unconfirmed,
            source="form",
            consent_text_version="test",
        )
    )
    db.commit()
    port = free_port()
    public = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    paths = {
        "confirm": links.confirm_url(public, reader.id, [world.id]),
        "preferences": links.preferences_url(public, reader.id),
        "data": links.data_url(public, reader.id),
        "unsubscribe": links.unsubscribe_url(public, reader.id, world.id),
    }
    values = {
        **{key: urlsplit(url).path for key, url in paths.items()},
        "edition": DAY2.isoformat(),
        "story": str(stories[0].id),
    }
    from service.web.app import create_app

    with live_server(create_app(public, notifier=NoMail()), port) as server:
        yield server, values


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_reader_page_passes_axe(site, output_dir, width, scheme):
    server, values = site
    found: dict[str, list[dict]] = {}
    expected = tuple(f"status of {p.status}" for p in READER_PAGES if p.status != 200)  # Chromium logs them
    with chromium_page(server.origin, viewport=VIEWPORTS[width], expected_console=expected) as page:
        page.emulate_media(color_scheme=scheme)
        install_axe(page)
        for reader_page in READER_PAGES:
            answer = page.goto(server.url(reader_page.path.format(**values)))
            if reader_page.then is None:
                assert answer.status == reader_page.status, f"{reader_page.name}: {answer.status}"
            else:
                reader_page.then(page)
            page.screenshot(path=str(output_dir / f"a11y-{reader_page.name}-{width}-{scheme}.png"), full_page=True)
            violations = axe_violations(page)
            if violations:
                found[reader_page.name] = violations
    report = "\n".join(f"{name} at {width} px, {scheme}:\n{describe(violations)}" for name, violations in found.items())
    print(report or f"axe: 0 serious or critical violations on {len(READER_PAGES)} pages at {width} px, {scheme}")
    assert not found, f"axe found serious or critical problems:\n{report}"


@pytest.mark.browser
def test_the_harness_sees_a_contrast_failure(site):
    server, _ = site
    with chromium_page(server.origin, viewport=VIEWPORTS["1280"]) as page:
        install_axe(page)
        page.goto(server.url("/archive/world-news"))
        page.add_style_tag(content="main p, main a { color:#c8c8c8 !important; }")  # faint grey on white

        found = {violation["id"] for violation in axe_violations(page)}

    assert "color-contrast" in found

"""The edition email as a reader's mail client sees it: parsed back with Python's email package."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from html import escape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from service.cli import app as cli_app
from service.core.tokens import Purpose, read_token
from service.editions import build_edition
from service.editions.rendering import edition_message
from service.models import Edition, Subscriber
from tests.support.edition_stories import add_story, long_story, seed_story, store

DAY = date(2026, 3, 10)
T0 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
BASE = "https://news.example.org"
MAILTO = "unsubscribe@news.example.org"
HOSTILE = {
    "template": "{{ 7*7 }} {% if true %}evaluated{% endif %} ${7*7} #{7*7}",
    "markup": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "ampersand": "Marks & Spencer &amp; AT&T",
    "placeholders": "%% %%unsubscribe_url%% %%deadbeefdeadbeef:unsubscribe_url%% %%0123456789abcdef:recipient_email%%",
}
HOSTILE_TEXT = " | ".join(HOSTILE.values())


@pytest.fixture
def mail_settings(settings):
    """This service on its public HTTPS address, with a mailto unsubscribe, editions of up to 12 stories."""
    return settings.model_copy(update={"base_url": BASE, "mail_unsubscribe_mailto": MAILTO, "edition_max_stories": 12})


def reader(db, email: str, name: str = "") -> Subscriber:
    """A stored subscriber (the message needs only their id, address and name)."""
    subscriber = Subscriber(email=email, name=name)
    db.add(subscriber)
    db.commit()
    return subscriber


def twelve_story_edition(db, mail_settings, mailing_list):
    """Twelve seed-sized stories (12 key points, 11 sources each), built into the day's edition."""
    stories = [store(db, long_story(number), T0 - timedelta(minutes=10 + number)) for number in range(1, 13)]
    edition = build_edition(db, settings=mail_settings, mailing_list=mailing_list, day=DAY, now=T0)
    assert len(edition.story_ids) == 12
    return edition, stories


def parsed(message):
    """The message as the receiving side parses its bytes."""
    raw = message.as_bytes()
    return raw, message_from_bytes(raw, policy=policy.default)


def parts(message) -> tuple[str, str]:
    """(text, html) bodies, decoded."""
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


def test_twelve_long_stories_stay_under_100_kb_of_html(db, mail_settings, world_news, capsys):
    edition, _ = twelve_story_edition(db, mail_settings, world_news)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)

    html_bytes = len(html.encode("utf-8"))
    with capsys.disabled():
        print(f"\n12 seed-sized stories: HTML part {html_bytes} bytes, text part {len(text.encode())} bytes")
    assert html_bytes < 100_000, f"HTML part is {html_bytes} bytes; Gmail clips messages near 102 KB"


def test_message_structure_and_headers(db, mail_settings, world_news):
    edition, _ = twelve_story_edition(db, mail_settings, world_news)
    ada = reader(db, "ada@example.com", "Ada Lovelace")
    raw, message = parsed(edition_message(mail_settings, edition, world_news, ada))

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    for part in message.iter_parts():
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
    assert max(len(line) for line in raw.splitlines()) <= 998
    assert not re.search(rb"[^\x00-\x7f]", raw), "everything outside ASCII is encoded"

    assert message["Subject"] == "World News daily: Tuesday 10 March 2026"
    assert message["From"] == mail_settings.mail_from
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    assert message["To"].addresses[0].display_name == "Ada Lovelace"
    assert abs(parsedate_to_datetime(message["Date"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert message["Message-ID"].startswith(f"<edition-{edition.id}.reader-{ada.id}.")
    assert message["Message-ID"].endswith("@news.example.org>"), "signed: a complaint quoting it names its reader"
    assert message["List-Id"] == "World News daily <world-news.news.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk"
    assert message["Feedback-ID"] == f"edition-{edition.id}:world-news:newsletter:news.example.org"

    https, mailto = [target.strip().strip("<>") for target in message["List-Unsubscribe"].split(",")]
    assert https.startswith(f"{BASE}/unsubscribe/")
    assert read_token(mail_settings.secret_key, Purpose.unsubscribe, https.rsplit("/", 1)[1]) == {
        "s": ada.id,
        "l": world_news.id,
    }
    assert mailto == f"mailto:{MAILTO}?subject=unsubscribe"
    header = re.search(rb"^List-Unsubscribe:(.*?)\n(?! )", raw, re.MULTILINE | re.DOTALL).group(1)
    assert b"=?" not in header, "URLs in List-Unsubscribe must never be RFC 2047 encoded words"
    assert https.encode() in header


def test_without_a_mailto_list_unsubscribe_holds_only_the_https_link(db, mail_settings, world_news):
    add_story(db, "Summit", received_at=T0 - timedelta(hours=1))
    edition = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0)
    only_https = mail_settings.model_copy(update={"mail_unsubscribe_mailto": None})
    _, message = parsed(edition_message(only_https, edition, world_news, reader(db, "ada@example.com")))

    assert re.fullmatch(rf"<{re.escape(BASE)}/unsubscribe/[\w.-]+>", message["List-Unsubscribe"])


def test_message_id_is_stable_per_edition_and_subscriber(db, mail_settings, world_news):
    add_story(db, "Summit", received_at=T0 - timedelta(hours=1))
    edition = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0)
    ada, bob = reader(db, "ada@example.com"), reader(db, "bob@example.com")
    rebuilt = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0 + timedelta(hours=1))

    first = edition_message(mail_settings, edition, world_news, ada)["Message-ID"]
    assert edition_message(mail_settings, edition, world_news, ada)["Message-ID"] == first
    assert edition_message(mail_settings, rebuilt, world_news, ada)["Message-ID"] == first, "a resend is recognisable"
    assert edition_message(mail_settings, edition, world_news, bob)["Message-ID"] != first


def test_hostile_story_text_comes_out_literally_never_evaluated_or_substituted(db, mail_settings, world_news):
    add_story(
        db,
        f"Title {HOSTILE_TEXT}",
        sources=2,
        received_at=T0 - timedelta(hours=1),
        key_points=[f"Point {HOSTILE_TEXT}"],
        link="javascript:alert(3)",
        source_list=[
            {
                "publisher": f"Publisher {HOSTILE['ampersand']} {HOSTILE['markup']}",
                "title": f"Article {HOSTILE['placeholders']}",
                "url": "javascript:alert(4)",
            }
        ],
    )
    edition = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)

    for kind, value in HOSTILE.items():
        assert value in text, f"{kind} text must reach the text part as written"
        assert escape(value, quote=False) in html, f"{kind} text must reach the HTML part escaped, as text"
    assert "<script" not in html and "<img" not in html
    assert "Marks &amp; Spencer &amp;amp; AT&amp;T" in html
    assert "javascript:" not in html.lower() and "javascript:" not in text.lower(), "only http(s) links are linked"
    assert f"%%{edition.placeholder_key}:" not in text + html, "every real placeholder is filled"
    assert "ada@example.com" in text and "ada@example.com" in html


def test_per_recipient_links_are_this_services_and_differ_per_subscriber(db, mail_settings, world_news):
    add_story(db, "Summit", received_at=T0 - timedelta(hours=1))
    edition = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0)
    seen = {}
    for subscriber in (reader(db, "ada@example.com"), reader(db, "o'brien+news@example.com", "Bob <O'Brien>")):
        _, message = parsed(edition_message(mail_settings, edition, world_news, subscriber))
        text, html = parts(message)
        unsubscribe = re.findall(rf'href="({re.escape(BASE)}/unsubscribe/[^"]+)"', html)
        preferences = re.findall(rf'href="({re.escape(BASE)}/preferences/[^"]+)"', html)
        assert len(unsubscribe) == 1 and len(preferences) == 1, html[-3000:]
        assert f"Unsubscribe: {unsubscribe[0]}" in text and f"Manage preferences: {preferences[0]}" in text
        assert read_token(mail_settings.secret_key, Purpose.unsubscribe, unsubscribe[0].rsplit("/", 1)[1]) == {
            "s": subscriber.id,
            "l": world_news.id,
        }
        assert read_token(mail_settings.secret_key, Purpose.preferences, preferences[0].rsplit("/", 1)[1]) == {
            "s": subscriber.id
        }
        because = f"You receive this email at {escape(subscriber.email)} because you subscribed to World News daily"
        assert because in html
        assert f"You receive this email at {subscriber.email} because you subscribed to World News daily" in text
        seen[subscriber.id] = (unsubscribe[0], preferences[0])
    (ada_unsub, ada_prefs), (bob_unsub, bob_prefs) = seen.values()
    assert ada_unsub != bob_unsub and ada_prefs != bob_prefs


def test_header_footer_and_preheader(db, mail_settings, world_news):
    edition, stories = twelve_story_edition(db, mail_settings, world_news)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)

    assert "World News daily" in html and "Tuesday 10 March 2026 · 12 stories from 11 sources" in html
    assert text.startswith("World News daily\nTuesday 10 March 2026: 12 stories from 11 sources\n")
    assert html.count("Based on 11 sources: Reuters, Associated Press, The Japan Times and 8 more") == 12
    assert escape(mail_settings.postal_address) in html and mail_settings.postal_address in text
    assert "because you subscribed to World News daily" in html

    first_title = escape(stories[0].title, quote=False)  # all have 11 sources: the most recent arrival leads
    assert edition.preheader.startswith(stories[0].title) and len(edition.preheader) <= 140
    preheader = re.search(r'<div style="display:none;[^"]*">([^<]*)</div>', html)
    assert preheader and preheader.group(1).startswith(first_title), "hidden preheader right after <body>"
    assert html.index(preheader.group(0)) < html.index(f">{first_title}<")


def test_styles_are_inline_on_the_content(db, mail_settings, world_news):
    edition, _ = twelve_story_edition(db, mail_settings, world_news)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    _, html = parts(message)

    for tag in ("a", "h2", "p", "ul", "li", "td"):
        elements = re.findall(rf"<{tag}\b[^>]*>", html)
        assert elements, tag
        unstyled = [element for element in elements if "style=" not in element]
        assert unstyled == [], f"<{tag}> without inline style: {unstyled[:3]}"
    assert re.search(r'<body[^>]*style="[^"]*background-color: ?#f2efe9', html)
    assert len(re.findall(r'<h2 style="[^"]*font-size:21px;[^"]*font-weight:bold', html)) == 12, "headlines styled"


def test_text_part_carries_every_story(db, mail_settings, world_news):
    edition, stories = twelve_story_edition(db, mail_settings, world_news)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)

    for story in stories:
        assert story.title in text and escape(story.title, quote=False) in html
        for point in story.key_points[:6]:
            assert f"  * {point}" in text and escape(point, quote=False) in html
        for point in story.key_points[6:]:
            assert point not in text and escape(point, quote=False) not in html, "the rest is on the story's page"
        assert f"Read more: {BASE}/stories/{story.id}\n" in text
    assert text.count("Based on 11 sources: Reuters, Associated Press, The Japan Times and 8 more\n") == 12
    assert "<li" not in text and "&amp;" not in text


def test_the_edition_reads_like_a_briefing(db, mail_settings, world_news):
    edition, stories = twelve_story_edition(db, mail_settings, world_news)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)
    ordered = [next(s for s in stories if s.id == story_id) for story_id in edition.story_ids]

    listed = re.search(r"In today’s email</p>\s*<ol[^>]*>(.*?)</ol>", html, re.DOTALL)
    assert listed, "the briefing opens with the headlines"
    assert re.findall(r"<li[^>]*>([^<]*)</li>", listed.group(1)) == [escape(s.title, quote=False) for s in ordered]
    assert html.index("In today’s email") < html.index("<h2")
    contents = text.split("In today’s email:\n", 1)[1].split("\n\n", 1)[0]
    assert contents.splitlines() == [f"  {n}. {s.title}" for n, s in enumerate(ordered, 1)]
    assert re.findall(r"<ul[^>]*>(.*?)</ul>", html, re.DOTALL) and all(
        len(re.findall(r"<li\b", points)) == 6 for points in re.findall(r"<ul[^>]*>(.*?)</ul>", html, re.DOTALL)
    )
    read_more = re.findall(r'<a href="([^"]+)"[^>]*>Read more</a>', html)
    assert read_more == [f"{BASE}/stories/{s.id}" for s in ordered]


def test_a_story_with_fewer_sources_names_them_all(db, mail_settings, world_news):
    add_story(db, "Summit", sources=2, received_at=T0 - timedelta(hours=1))
    add_story(
        db,
        "Budget",
        sources=1,
        received_at=T0 - timedelta(hours=2),
        key_points=["One.", "Two."],
        source_list=[{"publisher": "Reuters", "title": "Budget", "url": None}],
    )
    edition = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)

    assert "Based on 2 sources: Reuters and Associated Press\n" in text
    assert "Based on 1 source: Reuters\n" in text
    assert "Tuesday 10 March 2026: 2 stories from 2 sources\n" in text, "distinct publishers across the edition"
    assert "2 stories from 2 sources" in html


def test_the_seed_story_alone(db, mail_settings, world_news, capsys):
    seed = store(db, seed_story(), T0 - timedelta(hours=1))
    edition = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)

    with capsys.disabled():
        print(f"\nthe seed story alone: HTML part {len(html.encode())} bytes, text part {len(text.encode())} bytes")
    assert "Based on 11 sources: Ministry of Foreign Affairs of Japan and 10 more" in text
    assert "Based on 11 sources: Ministry of Foreign Affairs of Japan and 10 more" in html
    assert "Modi’s congratulatory message" in text and "Modi’s congratulatory message" in html
    assert len(seed.key_points) == 12, "the seed is hand-written with twelve points"
    assert all(point in text for point in seed.key_points[:6])
    assert not any(point in text or point in html for point in seed.key_points[6:]), "never more than six"
    assert f"Read more: {BASE}/stories/{seed.id}" in text and f'href="{BASE}/stories/{seed.id}"' in html


def london_today() -> date:
    """The CLI's default day: today where the list lives."""
    return datetime.now(ZoneInfo("Europe/London")).date()


def test_preview_writes_the_message_a_sample_subscriber_would_receive(db, settings, world_news, tmp_path, output_dir):
    stories = [store(db, long_story(number)) for number in range(1, 4)]
    out = tmp_path / "edition.eml"

    result = CliRunner().invoke(
        cli_app,
        ["editions", "preview", "--list", "world-news", "--date", london_today().isoformat(), "--out", str(out)],
    )

    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "HTML part" in result.output
    raw = out.read_bytes()
    (output_dir / "edition-preview.eml").write_bytes(raw)
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"].addresses[0].addr_spec == "reader@example.com"
    assert message["Subject"].startswith("World News daily: ")
    assert message["List-Unsubscribe"].startswith(f"<{settings.base_url}/unsubscribe/")
    text, html = parts(message)
    assert all(story.title in text and escape(story.title, quote=False) in html for story in stories)
    assert f"{settings.base_url}/archive/world-news/{london_today().isoformat()}" in html
    assert db.scalar(select(Edition.id)) is None, "a preview does not freeze the day's edition before its time"


def test_preview_of_a_day_without_stories_fails_clearly(db, settings, world_news, tmp_path):
    result = CliRunner().invoke(
        cli_app,
        ["editions", "preview", "--list", "world-news", "--date", "2026-03-10", "--out", str(tmp_path / "none.eml")],
    )

    assert result.exit_code == 1
    assert "nothing to preview" in result.output
    assert not (tmp_path / "none.eml").exists()


def test_per_recipient_work_is_plain_token_replacement(db, mail_settings, world_news, monkeypatch):
    """MJML, Jinja2 and the CSS inliner run once, at build; a recipient's message only fills placeholders."""
    from service.editions import rendering
    from service.mail import emails

    add_story(db, "Summit {{ ph.unsubscribe_url }}", received_at=T0 - timedelta(hours=1))
    edition = build_edition(db, settings=mail_settings, mailing_list=world_news, day=DAY, now=T0)

    def not_per_recipient(*args, **kwargs):
        raise AssertionError("templates must not be rendered again for a recipient")

    monkeypatch.setattr(emails, "mjml2html", not_per_recipient)
    monkeypatch.setattr(emails, "template_env", not_per_recipient)
    monkeypatch.setattr(rendering, "_INLINER", None)
    _, message = parsed(edition_message(mail_settings, edition, world_news, reader(db, "ada@example.com")))
    text, html = parts(message)

    assert "Summit {{ ph.unsubscribe_url }}" in text and "Summit {{ ph.unsubscribe_url }}" in html
    assert html.replace(f"{BASE}/unsubscribe/", "").count("/unsubscribe/") == 0

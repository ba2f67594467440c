"""Every list in its own language: a Ukrainian list's emails and pages speak Ukrainian, dates included, while an
English list next to it stays English; the catalogs hold every text the templates and the code use."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from gettext import GNUTranslations

import pytest
from babel.messages.pofile import read_po
from markupsafe import escape

from service.core.db import engine_for
from service.delivery.schedule import send_now
from service.editions import build_edition
from service.editions.rendering import edition_message
from service.i18n.formats import long_date
from service.i18n.locales import DEFAULT, LANGUAGES, translations
from service.lists.rules import create_list
from service.models import utcnow
from service.ops import catalogs
from service.tasks import start_drains
from tests.support.edition_stories import HEADLINES, add_story, day_of_stories
from tests.support.readers import add_readers, wait_until_complete
from tests.support.web import csrf_from, html_part, link_path, text_part

UKRAINIAN = {
    "slug": "svit",
    "name": "Світ за день",
    "send_time": time(7, 0),
    "timezone": "Europe/Kyiv",
    "categories": ["World News"],
    "languages": ["uk"],
}  # no language set: its story language decides
DAY = date(2026, 11, 24)  # a Tuesday
MORNING = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


@pytest.fixture
def ukrainian(db):
    return create_list(db, **UKRAINIAN)


def test_every_catalog_translates_every_text_the_templates_and_code_use():
    assert catalogs.missing() == {}, "texts without a translation: run `make catalogs` and translate them"
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        with catalogs.po_path(language).open("rb") as source:
            po = read_po(source, locale=language)
        for message in po:
            if message.id:
                english = message.id if isinstance(message.id, tuple) else (message.id,)
                translated = message.string if isinstance(message.string, tuple) else (message.string,)
                wanted = {part for text in english for part in _placeholders(text)}
                for form in translated:
                    assert set(_placeholders(form)) == wanted, f"{language}: {form!r} fills other values"
        compiled = catalogs.po_path(language).with_suffix(".mo")
        assert compiled.exists(), f"{compiled} is missing: run make"
        with compiled.open("rb") as binary:
            mo = GNUTranslations(binary)  # what the service reads, through the standard library
        stale = [m.id for m in po if m.id and _compiled_text(mo, m.id) != (m.string[0] if m.pluralizable else m.string)]
        assert not stale, f"{compiled} is older than its .po: run make ({stale[:3]})"


def _compiled_text(mo: GNUTranslations, message_id) -> str:
    """The compiled translation of a message (a counted one's singular)."""
    return mo.ngettext(message_id[0], message_id[1], 1) if isinstance(message_id, tuple) else mo.gettext(message_id)


def _placeholders(text: str) -> list[str]:
    """The %(name)s values a message fills."""
    import re

    return re.findall(r"%\((\w+)\)s", text)


def test_a_ukrainian_lists_edition_is_ukrainian_and_an_english_list_stays_english(db, settings, ukrainian, world_news):
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    for number in range(3):
        add_story(db, HEADLINES[number], received_at=evening + timedelta(minutes=number), story_date=DAY)
    reader = create_reader(db)
    edition = build_edition(db, settings=settings, mailing_list=ukrainian, day=DAY, now=MORNING)
    message = edition_message(settings, edition, ukrainian, reader)
    html, text = html_part(message), text_part(message)

    assert message["Subject"] == "Світ за день: вівторок, 24 листопада 2026\u202fр."
    assert '<html lang="uk" dir="ltr"' in html
    for part in (html, text):
        assert "3 новини з " in part and "У сьогоднішньому листі" in part and "Читати далі" in part
        assert "За даними " in part and "Відписатися" in part and "Налаштування" in part
        assert "Ви отримуєте цей лист на reader@example.com, бо підписалися на Світ за день." in part
        assert "In today" not in part and "Read more" not in part and "Based on" not in part
    assert " і " in html, "the publishers are joined the Ukrainian way"

    assert "За даними 3 джерел: Reuters, Associated Press і The Japan Times" in text
    assert "Перший" not in text and "24 листопада 2026\u202fр." in text, "story dates the Ukrainian way"
    english = edition_message(
        settings,
        build_edition(db, settings=settings, mailing_list=world_news, day=DAY, now=MORNING),
        world_news,
        reader,
    )
    assert english["Subject"] == "World News daily: Tuesday 24 November 2026"
    assert "In today’s email" in html_part(english) and "Read more" in text_part(english)
    assert "Based on 3 sources: Reuters, Associated Press and The Japan Times" in text_part(english)


def create_reader(db):
    """One confirmed reader, as an import leaves them."""
    from service.models import Subscriber

    reader = Subscriber(email="reader@example.com", name="Олена", timezone="Europe/Kyiv")
    db.add(reader)
    db.commit()
    return reader


def test_a_ukrainian_reader_subscribes_confirms_and_reads_in_ukrainian(client, db, ukrainian, mailbox, settings):
    landing = client.get("/")
    assert '<html lang="uk" dir="ltr">' in landing.text and "Отримуйте поштою" in landing.text
    assert "Підписатися" in landing.text and "Get it by email" not in landing.text

    form = {
        "csrf_token": csrf_from(client, "/subscribe"),
        "email": "olena@example.com",
        "list": ["svit"],
        "timezone": "Europe/Kyiv",
    }
    refused = client.post("/subscribe", data={**form, "email": "  "})
    assert refused.status_code == 422 and "Виправте позначене нижче поле." in refused.text
    assert "Введіть адресу електронної пошти." in refused.text, "the field's error in the list's language"
    inbox = client.post("/subscribe", data=form)
    assert inbox.status_code == 200 and "Перевірте пошту" in inbox.text and "olena@example.com" in inbox.text

    confirmation = mailbox.wait_for("olena@example.com")[-1].message  # sent by the worker over SMTP
    assert confirmation["Subject"] == "Підтвердьте підписку на Світ за день"
    assert "Будь ласка, підтвердьте підписку" in text_part(confirmation)
    assert '<html lang="uk"' in html_part(confirmation) and "Підтвердити підписку" in html_part(confirmation)

    confirm = link_path(confirmation, "confirm")
    page = client.get(confirm)
    assert "Підтвердьте підписку" in page.text and "Confirm" not in page.text
    done = client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    assert "Ви підписані" in done.text and "Наступний випуск" in done.text
    assert any(day in done.text for day in ("сьогодні о 07:00", "завтра о 07:00")), done.text

    welcome = mailbox.wait_for("olena@example.com", count=2)[-1].message
    assert welcome["Subject"] == "Ласкаво просимо до Світ за день"
    assert "Щодня о 07:00 (Europe/Kyiv)" in text_part(welcome) and "Відписатися" in html_part(welcome)

    preferences_path = link_path(welcome, "preferences")
    preferences = client.get(preferences_path)
    assert "Ваші налаштування" in preferences.text and "Зберегти налаштування" in preferences.text
    asked = client.post(f"{preferences_path}/data-link", data={"csrf_token": csrf_from(client, preferences_path)})
    assert "Ми надіслали посилання на olena@example.com" in asked.text
    data_link = mailbox.wait_for("olena@example.com", count=3)[-1].message
    assert data_link["Subject"].startswith("Ваші дані в ") and "Відкрити мої дані" in html_part(data_link)
    assert "Видалити мої дані назавжди" in client.get(link_path(data_link, "my-data")).text
    unsubscribe = client.get(link_path(welcome, "unsubscribe"))
    assert "Натисніть кнопку, щоб більше не отримувати" in unsubscribe.text and "Або призупиніть" in unsubscribe.text
    missing = client.get("/no-such-page")
    assert (
        missing.status_code == 404
        and "Не знайдено" in missing.text
        and "За цією адресою сторінки немає." in missing.text
    )


def test_a_ukrainian_edition_goes_out_over_smtp_and_its_archive_speaks_ukrainian(
    client, db, settings, ukrainian, celery_worker, mailbox
):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, ukrainian.id, 3)
    stories = day_of_stories(db, 3, hostile=False)
    edition, planned = send_now(settings, db, ukrainian, utcnow().date(), utcnow())
    assert planned == 3
    start_drains(edition.id, 1)
    wait_until_complete(engine, edition.id)

    got = mailbox.wait_for(readers[0])[-1].message
    assert got["Subject"].startswith("Світ за день: ") and got["Subject"].endswith("\u202fр.")
    assert "У сьогоднішньому листі" in html_part(got) and "Читати далі" in text_part(got)
    assert "Ви отримуєте цей лист на " in text_part(got)

    web = client.get(f"/archive/svit/{edition.edition_date.isoformat()}")
    assert web.status_code == 200 and '<html lang="uk"' in web.text
    assert "3 новини з " in web.text and "Читати далі" in web.text and "Отримуйте Світ за день поштою" in web.text
    archive = client.get("/archive/svit")
    assert (
        "Старіші" not in archive.text and "3 новини" in archive.text and "Читати в програмі для стрічок" in archive.text
    )
    story = client.get(f"/stories/{stories[0].id}")
    assert '<html lang="uk"' in story.text and "Підсумок за " in story.text and "Sources" not in story.text


def test_site_wide_pages_follow_the_browser_among_the_lists_languages(client, db, ukrainian, world_news):
    assert "Отримуйте поштою" in client.get("/", headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"}).text
    assert "Get it by email" in client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert "Get it by email" in client.get("/", headers={"Accept-Language": "fr-FR"}).text, (
        "a language no list speaks: the oldest list's"
    )
    archive = client.get("/archive", headers={"Accept-Language": "uk"})
    assert '<html lang="uk"' in archive.text and "Архів" in archive.text
    missing = client.get("/nowhere", headers={"Accept-Language": "de, uk;q=0.5"})
    assert missing.status_code == 404 and "Не знайдено" in missing.text
    assert (
        "Subscribe to World News daily"
        not in client.get("/subscribe?list=svit", headers={"Accept-Language": "uk"}).text
    )


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != DEFAULT])
def test_every_language_has_its_own_edition_without_english_labels(db, settings, language):
    mailing_list = create_list(
        db, slug=f"daily-{language}", name="Daily", languages=[language], categories=["World News"]
    )
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    for number in range(2):
        add_story(db, HEADLINES[number], received_at=evening + timedelta(minutes=number), story_date=DAY)
    edition = build_edition(db, settings=settings, mailing_list=mailing_list, day=DAY, now=MORNING)
    message = edition_message(settings, edition, mailing_list, create_reader(db))
    html, text = html_part(message), text_part(message)
    assert f'lang="{language}"' in html and edition.subject != "Daily: Tuesday 24 November 2026"
    for english in ("In today’s email", "Read more", "Manage preferences", "View in browser", "Based on"):
        assert english not in html and english not in text, f"{language}: {english!r} left in English"
    for label in ("In today’s email", "Read more", "Manage preferences", "View in browser"):
        assert str(escape(translations(language).gettext(label))) in html
    assert "Tuesday" not in text and long_date(DAY, language) in text, f"{language}: the dates are in {language}"


def test_an_urdu_list_writes_right_to_left(client, db, settings):
    urdu = create_list(db, slug="duniya", name="دنیا آج", languages=["ur"], categories=["World News"])
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    add_story(db, HEADLINES[0], received_at=evening, story_date=DAY)
    edition = build_edition(db, settings=settings, mailing_list=urdu, day=DAY, now=MORNING)
    html = html_part(edition_message(settings, edition, urdu, create_reader(db)))
    assert '<html lang="ur" dir="rtl"' in html and 'dir="rtl"' in html.split("<body", 1)[1]
    assert "text-align:right" in html.replace(" ", "") and "border-right:3px" in html.replace(" ", ""), (
        "the email's text and the briefing's rule start on the right"
    )
    assert "مزید پڑھیں" in html and "آج کی ای میل میں" in html

    landing = client.get("/")
    assert '<html lang="ur" dir="rtl">' in landing.text and "ای میل پر حاصل کریں" in landing.text
    assert "margin-left" not in landing.text and "padding-left" not in landing.text, "logical properties only"

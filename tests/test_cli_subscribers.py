"""`newsletter subscribers ...` run as an admin runs them (the real entry point, in-process), real worker, real SMTP."""

import re

import pytest
from sqlalchemy import func, select

from service.lists.rules import create_list
from service.mail import suppressions
from service.models import Subscriber, Subscription
from service.readers.subscribers.csv_rows import utf8_lines
from service.readers.subscribers.importer import BATCH, import_csv
from service.readers.tasks import CeleryNotifier
from tests.support.cli import run_newsletter
from tests.support.csv_samples import BAD_LINES, GOOD
from tests.support.csv_samples import EXCEL_CSV as CSV
from tests.support.db import row_counts
from tests.support.web import confirmed_reader, statuses, subscribe_by_form

NEVER_STORED = ["not-an-address", "crlf@example.com", "bounced@example.com", "badzone@example.com"]


@pytest.fixture
def newsletter(settings):
    """Run the `newsletter` command (its real entry point, in this process) with the test settings."""
    return run_newsletter


@pytest.fixture
def people(tmp_path):
    """The CSV above, as the file an admin was handed."""
    path = tmp_path / "people.csv"
    path.write_bytes(CSV.encode("utf-8"))
    return path


@pytest.fixture
def history(client, db, world_news, mailbox):
    """Addresses the service already knows: confirmed, awaiting confirmation, unsubscribed, suppressed."""
    confirmed_reader(client, mailbox, "confirmed-before@example.com", name="Kept Name")
    subscribe_by_form(client, "pending-before@example.com")
    _, welcome = confirmed_reader(client, mailbox, "left-before@example.com")
    path = welcome["List-Unsubscribe"].split(",")[0].strip("<> ").replace("http://testserver", "")
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    suppressions.suppress(db, "bounced@example.com", "hard bounce")
    db.commit()
    mailbox.wait_for("pending-before@example.com")
    return {
        address: len(mailbox.messages_to(address))
        for address in ("confirmed-before@example.com", "pending-before@example.com", "left-before@example.com")
    }


def figure(output: str, label: str) -> int:
    """A number from the import's summary table."""
    row = next((line for line in output.splitlines() if label in line), None)
    assert row, f"no {label!r} in:\n{output}"
    return int(re.findall(r"\d+", row)[-1])


def assert_reported(output: str) -> None:
    """Every bad row is named by the line it starts on, and no good row is."""
    reported = {int(n): reason for n, reason in re.findall(r"line (\d+): (.*)", output)}
    assert set(reported) == set(BAD_LINES), output
    for line, words in BAD_LINES.items():
        assert words in reported[line], reported[line]


def subscriber_count(db) -> int:
    """How many addresses are stored."""
    return row_counts(db)["subscribers"]


def test_show_prints_each_list_with_its_status(newsletter, client, db, world_news, mailbox):
    create_list(db, slug="science", name="Science weekly")
    confirmed_reader(client, mailbox, "reader@example.com", name="Ada Reader", lists=("world-news", "science"))
    shown = newsletter("subscribers", "show", "  Reader@Example.COM ")
    assert shown.returncode == 0, shown.stderr
    assert "reader@example.com" in shown.stdout and "name=Ada Reader" in shown.stdout
    assert "science: confirmed\nworld-news: confirmed" in shown.stdout


def test_show_says_paused_for_a_reader_who_paused(newsletter, client, db, world_news, mailbox):
    from datetime import timedelta

    from service.models import utcnow

    confirmed_reader(client, mailbox, "pauser@example.com")
    reader = db.scalar(select(Subscriber).where(Subscriber.email == "pauser@example.com"))
    reader.paused_until = utcnow() + timedelta(weeks=1)
    db.commit()
    shown = newsletter("subscribers", "show", "pauser@example.com")
    assert f"world-news: paused until {(utcnow() + timedelta(weeks=1)):%Y-%m-%d}" in shown.stdout, shown.stdout
    reader.paused_until = utcnow() - timedelta(days=1)  # the pause is over
    db.commit()
    assert "world-news: confirmed" in newsletter("subscribers", "show", "pauser@example.com").stdout


def test_lists_list_shows_every_list_with_its_confirmed_readers(newsletter, client, db, world_news, mailbox):
    create_list(db, slug="science", name="Science weekly", categories=["Science"], languages=["en", "de"])
    confirmed_reader(client, mailbox, "counted@example.com")
    subscribe_by_form(client, "pending@example.com")
    listed = newsletter("lists", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {
        line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
        for line in listed.stdout.splitlines()
        if line.startswith("│")
    }
    assert rows["science"] == ["Science weekly", "07:00 UTC", "Science", "en, de", "0"]
    assert rows["world-news"] == ["World News daily", "07:00 Europe/London", "World News", "en", "1"]


def test_show_explains_an_unknown_or_invalid_address(newsletter, db, world_news):
    unknown = newsletter("subscribers", "show", "nobody@example.com")
    assert unknown.returncode == 1 and "no subscriber with address nobody@example.com" in unknown.stderr
    invalid = newsletter("subscribers", "show", "not-an-address")
    assert invalid.returncode == 2 and "error: That email address is not valid" in invalid.stderr
    assert "Traceback" not in unknown.stderr + invalid.stderr


def test_import_without_confirmed_asks_each_new_address_to_confirm(newsletter, people, history, db, mailbox):
    done = newsletter("subscribers", "import", str(people), "--list", "world-news")
    assert done.returncode == 0, done.stderr
    assert_reported(done.stdout)
    assert (figure(done.stdout, "rows read"), figure(done.stdout, "added")) == (11, 3)
    assert figure(done.stdout, "already on the list") == 2 and figure(done.stdout, "suppressed") == 1
    assert figure(done.stdout, "unsubscribed earlier") == 1

    for address in GOOD:
        [confirmation] = mailbox.wait_for(address)
        assert confirmation.message["Subject"].startswith("Please confirm"), "imported without consent: confirm first"
        assert statuses(db, address) == {"world-news": "unconfirmed"}
    assert statuses(db, "confirmed-before@example.com") == {"world-news": "confirmed"}
    assert statuses(db, "left-before@example.com") == {"world-news": "unsubscribed"}, "an unsubscribe stands"
    assert db.scalar(select(Subscriber.name).where(Subscriber.email == "confirmed-before@example.com")) == "Kept Name"
    assert db.scalar(select(Subscriber.timezone).where(Subscriber.email == "good2@example.com")) == "Europe/London"
    for address in NEVER_STORED:
        assert statuses(db, address) == {}
    mailbox.assert_nothing_for("bounced@example.com")
    for address, seen in history.items():
        assert len(mailbox.messages_to(address)) == seen, f"{address} must not be mailed again"
    assert len(mailbox.messages_to("good1@example.com")) == 1, "a repeated row must not mean a second email"

    stored = subscriber_count(db)
    again = newsletter("subscribers", "import", str(people), "--list", "world-news")
    assert again.returncode == 0 and figure(again.stdout, "added") == 0
    assert subscriber_count(db) == stored, "importing the same file twice duplicates nobody"
    mailbox.assert_nothing_for("nobody@example.com")
    assert all(len(mailbox.messages_to(address)) == 1 for address in GOOD), "nor mails anybody twice"


def test_import_confirmed_emails_nobody(newsletter, people, history, db, mailbox):
    sent_before = len(mailbox.received)
    done = newsletter(
        "subscribers",
        "import",
        str(people),
        "--list",
        "world-news",
        "--confirmed",
        "--reason",
        "moved from our old provider, consent records kept there",
    )
    assert done.returncode == 0, done.stderr
    assert_reported(done.stdout)
    assert figure(done.stdout, "added") == 4, "three new addresses, and the one awaiting confirmation"
    for address in [*GOOD, "pending-before@example.com", "confirmed-before@example.com"]:
        assert statuses(db, address) == {"world-news": "confirmed"}
    assert statuses(db, "left-before@example.com") == {"world-news": "unsubscribed"}, "an unsubscribe stands"
    for address in NEVER_STORED:
        assert statuses(db, address) == {}
    mailbox.assert_nothing_for("good1@example.com")
    assert len(mailbox.received) == sent_before, "--confirmed sends no confirmation (nor any other) email"


def test_help_says_when_to_use_confirmed(newsletter):
    shown = newsletter("subscribers", "import", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.replace("│", " ").split())
    assert "already agreed" in text and "email nobody" in text and "confirmation email" in text


def test_a_line_that_is_not_utf8_is_reported_and_the_rest_imported(newsletter, tmp_path, db, world_news, mailbox):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(
        "email,name\nfirst@example.com,First\nrenee@example.com,Renée\nlast@example.com,Last\n".encode("latin-1")
    )
    done = newsletter("subscribers", "import", str(latin), "--list", "world-news", "--confirmed", "--reason", "moved")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "line 3: not UTF-8 text: save the file as UTF-8" in done.stdout
    assert statuses(db, "first@example.com") == statuses(db, "last@example.com") == {"world-news": "confirmed"}
    assert statuses(db, "renee@example.com") == {}


def test_missing_email_column_or_unknown_list(newsletter, tmp_path, db, world_news):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("mail,name\nreader@example.com,Reader\n")
    done = newsletter("subscribers", "import", str(wrong), "--list", "world-news")
    assert done.returncode == 2 and "needs a header row with an 'email' column" in done.stderr
    elsewhere = newsletter("subscribers", "import", str(wrong), "--list", "no-such-list")
    assert elsewhere.returncode == 2 and "There is no list called 'no-such-list'" in elsewhere.stderr


def test_import_streams_and_commits_in_batches(settings, db, world_news):
    """A big file is read line by line: rows are stored while later lines have not been read yet."""
    seen_while_reading = []

    def lines():
        yield b"email,name\n"
        for number in range(1, BATCH + 301):
            if number == BATCH + 201:  # the file is still being read here
                with db.bind.connect() as other:
                    seen_while_reading.append(other.scalar(select(func.count()).select_from(Subscription)))
            yield f"bulk{number}@example.com,Reader {number}\n".encode()

    report = import_csv(db, utf8_lines(lines()), mailing_list=world_news, confirmed=True, notifier=CeleryNotifier())
    assert report.added == BATCH + 300
    assert seen_while_reading[0] >= BATCH, "earlier batches are committed before the whole file is read"


def test_search_export_and_delete_from_the_command_line(newsletter, people, history, db, tmp_path):
    done = newsletter(
        "subscribers",
        "import",
        str(people),
        "--list",
        "world-news",
        "--confirmed",
        "--reason",
        "moved from our old provider",
    )
    assert done.returncode == 0, done.stderr
    found = newsletter("subscribers", "search", "GOOD", "--list", "world-news", "--status", "confirmed")
    assert found.returncode == 0, found.stderr
    assert "good1@example.com" in found.stdout and "good2@example.com" in found.stdout
    assert "spaced@example.com" not in found.stdout and "confirmed" in found.stdout
    bad = newsletter("subscribers", "search", "--status", "bounced")
    assert bad.returncode == 2 and "Unknown status" in bad.stderr

    out = tmp_path / "left.csv"
    exported = newsletter("subscribers", "export", "world-news", "--status", "unsubscribed", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert out.read_text().splitlines()[0] == "email,name,status,subscribed_at,confirmed_at,timezone"
    assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == ["left-before@example.com"]

    refused = newsletter("subscribers", "delete", "good1@example.com")
    assert refused.returncode == 2 and "--yes" in refused.stderr and statuses(db, "good1@example.com")
    deleted = newsletter("subscribers", "delete", "good1@example.com", "--yes")
    assert deleted.returncode == 0 and "deleted good1@example.com" in deleted.stdout, deleted.stderr
    assert statuses(db, "good1@example.com") == {} and statuses(db, "good2@example.com") == {"world-news": "confirmed"}

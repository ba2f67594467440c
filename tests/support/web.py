"""Helpers that act like a reader's browser and mail client on the test client."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

from sqlalchemy import select

from service.models import Subscriber, Subscription

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(client, path: str) -> str:
    """Open a page as a browser would and read the form's CSRF token."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


def subscribe_by_form(client, email: str, lists=("world-news",), name: str = "", timezone: str = "Europe/London"):
    """Fill and submit the subscribe form."""
    data = {
        "csrf_token": csrf_from(client, "/subscribe"),
        "email": email,
        "name": name,
        "list": list(lists),
        "timezone": timezone,
    }
    return client.post("/subscribe", data=data)


def text_part(message: EmailMessage) -> str:
    """The plain-text body."""
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    """The HTML body."""
    return message.get_body(preferencelist=("html",)).get_content()


def link_path(message: EmailMessage, kind: str) -> str:
    """The path of the first /KIND/... link in the text part (confirm, unsubscribe, preferences)."""
    match = re.search(rf"https?://\S+/{kind}/\S+", text_part(message))
    assert match, f"no {kind} link in:\n{text_part(message)}"
    return urlsplit(match.group(0)).path


def statuses(session, email: str) -> dict[str, str]:
    """Each list slug the address is on, with its status, straight from the database."""
    session.expire_all()
    rows = session.execute(select(Subscription).join(Subscriber).where(Subscriber.email == email.lower())).scalars()
    return {s.mailing_list.slug: s.status.value for s in rows}


def confirmed_reader(client, mailbox, email: str, **form) -> tuple[EmailMessage, EmailMessage]:
    """Subscribe by form and press Confirm in the email; return (confirmation, welcome) as the reader got them."""
    answer = subscribe_by_form(client, email, **form)
    assert answer.status_code == 200, answer.text
    confirmation = mailbox.wait_for(email)[-1].message
    confirm = link_path(confirmation, "confirm")
    seen = len(mailbox.messages_to(email))
    done = client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    assert done.status_code == 200, done.text
    welcome = mailbox.wait_for(email, count=seen + 1)[-1].message
    assert welcome["Subject"].startswith("Welcome to"), welcome["Subject"]
    return confirmation, welcome

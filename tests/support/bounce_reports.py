"""Bounce reports for the bounce tests: DSN and ARF messages, the proven VERP sender of a reader, a reader."""

from __future__ import annotations

from sqlalchemy import select

from service.bounces.verp import Verp
from service.core.config import REPO_ROOT
from service.models import Subscriber

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "bounces"


def dsn(
    recipient: str, status: str, *, to: str = "bounces@news.example.org", action: str = "failed", diagnostic: str = ""
) -> bytes:
    """A Postfix-shaped RFC 3464 report about one recipient."""
    diagnostic = diagnostic or f"smtp; 550 {status} <{recipient}>: Recipient address rejected"
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@news.example.org\r\n"
        f"To: {recipient}\r\nSubject: World News daily\r\n\r\n--B--\r\n"
    ).encode()


def arf(*recipients: str, message_id: str, feedback: str = "abuse") -> bytes:
    """A mailbox provider's feedback-loop report (RFC 5965) quoting the original message's headers."""
    rcpt = "".join(f"Original-Rcpt-To: <{r}>\r\n" for r in recipients)
    return (
        "From: fbl@isp.example\r\nTo: abuse@news.example.org\r\nSubject: FW: complaint\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n\r\n'
        "--F\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n"
        f"--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: {feedback}\r\nVersion: 1\r\n"
        f"{rcpt}Reporting-MTA: dns; fbl.isp.example\r\n\r\n"
        "--F\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@news.example.org\r\n"
        f"To: {recipients[0] if recipients else 'redacted@isp.example'}\r\nSubject: World News daily\r\n"
        f"Message-ID: {message_id}\r\n\r\n--F--\r\n"
    ).encode()


def proven(settings, reader) -> str:
    """The VERP envelope sender of a transactional mail to this reader: where a real bounce for it comes back."""
    return Verp(settings).for_subscriber(reader.id, "other")


def _reader(db, world_news, email: str) -> Subscriber:
    """A confirmed reader of the demo list."""
    from service.readers.subscriptions.consent import ConsentContext
    from service.readers.subscriptions.joining import add_subscriptions

    add_subscriptions(db, email=email, lists=[world_news], consent=ConsentContext(source="import"), confirmed=True)
    db.commit()
    return db.scalar(select(Subscriber).where(Subscriber.email == email))

"""Reading bounce messages: which recipient a DSN or a plain-text bounce names, and what kind of failure it is."""

from __future__ import annotations

from service.bounces.parse import parse
from service.bounces.policy import BounceKind


def test_a_dsn_without_a_diagnostic_code_is_read_by_its_text_part():
    """RFC 3464's human-readable part says why when the status block does not (CommuniGate Pro)."""
    raw = (
        b"From: MAILER-DAEMON@apollo.example\r\nTo: <bounces@news.example.org>\r\nSubject: Undeliverable mail\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type="delivery-status"; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nFailed to deliver to '<reader@apollo.example>'\r\n"
        b"Messages without To: fields are not accepted here\r\n\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; apollo.example\r\n\r\n"
        b"Original-Recipient: rfc822;<reader@apollo.example>\r\nFinal-Recipient: system;<>\r\nAction: failed\r\n"
        b"Status: 5.0.0\r\n\r\n--B--\r\n"
    )
    assert [(r.recipient, r.verdict.bounce) for r in parse(raw).reports] == [
        ("reader@apollo.example", BounceKind.policy)
    ]


def status_report(
    rcpt_fields: str, *, status_type: str = "message/delivery-status", boundary: str = 'boundary="B"'
) -> bytes:
    """The smallest real-shaped DSN: a text part, then the status part (RFC 6522's second part)."""
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: <bounces@news.example.org>\r\nSubject: Undelivered Mail\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\t{boundary}\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
        f"--B\r\nContent-Type: {status_type}\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        f"{rcpt_fields}Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n--B--\r\n"
    ).encode()


def test_a_dsn_names_its_recipient_by_any_valid_address():
    """RFC 3464's Final-Recipient names the recipient by definition: a redacted `a@b.c` is an address there."""
    got = parse(status_report("Final-Recipient: rfc822; a@b.c\r\n")).reports
    assert [(r.recipient, r.verdict.bounce) for r in got] == [("a@b.c", BounceKind.hard)]
    twice = parse(status_report("Final-Recipient: rfc822; x@y.z\r\nOriginal-Recipient: rfc822; rfc822;Reader@B.C\r\n"))
    assert [r.recipient for r in twice.reports] == ["reader@b.c"]
    # must not change: a field that holds no address names nobody
    assert [r.recipient for r in parse(status_report("Final-Recipient: system; <>\r\n")).reports] == [None]


def test_the_second_part_of_a_delivery_status_report_is_read_whatever_its_type():
    """RFC 6522: XWall types its status part `message/xdelivery-status`; a broken boundary header is repaired."""
    got = parse(status_report("Final-Recipient: rfc822; reader@x.example\r\n", status_type="message/xdelivery-status"))
    assert [(r.recipient, r.verdict.bounce) for r in got.reports] == [("reader@x.example", BounceKind.hard)]
    broken = status_report(
        "Final-Recipient: rfc822; reader@x.example\r\n", boundary='boundary="B" Message-Id: <1@mx.example>'
    )
    assert [r.recipient for r in parse(broken).reports] == ["reader@x.example"]
    # must not change: a second part that is text is not a status part, and names nobody
    text_second = status_report("Final-Recipient: rfc822; reader@x.example\r\n", status_type="text/plain")
    assert [r.recipient for r in parse(text_second).reports if r.recipient == "reader@x.example"] == []


def test_plain_text_bounces_name_their_recipients_the_way_mtas_introduce_them():
    exchange_mta = (  # Exchange 5.5's MTA names the recipient by display name only: the VERP token says who
        b"From: System Administrator <postmaster@leta.example>\r\nTo: bounces@news.example.org\r\n"
        b"Subject: Undeliverable: World News daily\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
        b"Your message\r\n\r\n  To:      reader@news-readers.example\r\n  Subject: World News daily\r\n\r\n"
        b"did not reach the following recipient(s):\r\n\r\n"
        b"Marta Reader on Fri, 14 Sep 2007 18:52:54 +0300\r\n"
        b"    The recipient was unavailable to take delivery of the message\r\n"
        b"    MSEXCH:MSExchangeMTA:LETA:LETAEXC\r\n"
    )
    assert [(r.recipient, r.verdict.bounce) for r in parse(exchange_mta).reports] == [(None, BounceKind.hard)]
    full = (
        b"From: Postmaster@trading.example\r\nTo: bounces@news.example.org\r\nSubject: Mail Delivery Failure\r\n\r\n"
        b'Delivery of email to this address\r\n\r\n"reader@trading.example"\r\n\r\n'
        b"has failed due to a full mailbox.  We have already made numerous\r\nattempts to deliver this message.\r\n"
        b"\r\nThe first 50 lines of your original message follow:\r\n> To: other@trading.example\r\n"
    )
    assert [(r.recipient, r.verdict.bounce) for r in parse(full).reports] == [
        ("reader@trading.example", BounceKind.soft)
    ]
    groupwise = (  # Novell GroupWise: "undeliverable to the following:", one recipient a line
        b"From: Mailer-Daemon@k12.example\r\nTo: bounces@news.example.org\r\n"
        b"Subject: Message status - undeliverable\r\n"
        b"\r\nThe message that you sent was undeliverable to the following:\r\n\r\n"
        b"\treader@k12.example (user not found)\r\n\r\n"
    )
    assert [(r.recipient, r.verdict.bounce) for r in parse(groupwise).reports] == [
        ("reader@k12.example", BounceKind.hard)
    ]
    reply = b"From: reader@trading.example\r\nTo: news@news.example.org\r\nSubject: Re: World News\r\n\r\nThanks!\r\n"
    assert parse(reply).reports == [], "a reader's reply is no bounce"

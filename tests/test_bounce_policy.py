"""The one bounce policy: reports and SMTP replies classified by whose fault, soft scores decaying, VERP tokens."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from service.bounces.policy import Action, BounceKind, FailureKind, classify_reply, classify_report, soft_score
from service.bounces.verp import Verp


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "kind"),
    [
        (
            "failed",
            "4.7.0",
            "421 4.7.0 [TSS04] Messages from 203.0.113.25 temporarily deferred due to user complaints",
            BounceKind.policy,
        ),
        ("failed", "4.7.1", "451 4.7.1 Greylisting in action, please come back later", BounceKind.soft),
        (
            "failed",
            "5.0.0",
            "554 Service unavailable; Client host [203.0.113.25] blocked using zen.spamhaus.org",
            BounceKind.policy,
        ),
        ("failed", "5.3.0", "554 4.4.7 Message expired: unable to deliver in 840 minutes", BounceKind.soft),
        ("failed", "5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable", BounceKind.hard),
        ("failed", "5.4.1", "550 5.4.1 Recipient address rejected: Access denied", BounceKind.hard),
        ("failed", "5.1.8", "553 5.1.8 Sender address rejected: Domain not found", BounceKind.policy),
        ("failed", "5.0.0", "550 Rejected: no reverse DNS (PTR) record; use your ISP's mail server", BounceKind.policy),
        ("failed", "5.3.4", "552 5.3.4 Message size exceeds fixed limit", BounceKind.soft),
        # the words decide over a generic or contradictory status when they name the cause unambiguously
        (
            "failed",
            "5.7.1",
            "554 5.7.1 <a@inbox.example>: Recipient address rejected: Nonexistent user",
            BounceKind.hard,
        ),
        ("failed", "5.7.17", "550 sorry, no mailbox here by that name. (#5.7.17)", BounceKind.hard),
        ("failed", "5.7.1", "550 5.7.1 Sender address rejected: domain does not exist", BounceKind.policy),
        ("failed", "5.7.1", "550 5.7.1 No such user; client host blocked using zen.spamhaus.org", BounceKind.policy),
        ("failed", "5.0.0", "552 Account(s) <a@one.example> does not have enough space", BounceKind.soft),
        ("failed", None, "Message rejected. Not enough storage space in user's mailbox", BounceKind.soft),
        (
            "failed",
            None,
            "Technical details of permanent failure: TEMP_FAILURE: Could not initiate SMTP conversation with any hosts",
            BounceKind.soft,
        ),
        (
            "failed",
            None,
            "Technical details of permanent failure: Connection was dropped by remote host",
            BounceKind.soft,
        ),
        ("failed", "5.4.7", "5.4.7 Delivery time expired", BounceKind.soft),
        ("failed", "5.0.0", "Messages without To: fields are not accepted here", BounceKind.policy),
        ("failed", "5.6.0", "554 5.6.0 Message headers are malformed", BounceKind.policy),
        ("failed", None, "Failed to deliver: host not found, connection timed out; user unknown", BounceKind.hard),
        # a refusal of our sending host or of relaying for us is about us (RFC 3463 X.7.1), not the mailbox
        ("failed", "5.0.0", "554 <a@x.example>: Relay access denied (in reply to RCPT TO command)", BounceKind.policy),
        ("failed", "5.0.0", "550 <a@x.example>... Relaying denied", BounceKind.policy),
        ("failed", "5.0.0", "550 203.0.113.25 is not allowed to send mail from news.example.org", BounceKind.policy),
        ("failed", "5.0.0", "550 Your server requires confirmation. Visit the URL to confirm it", BounceKind.policy),
        ("failed", "5.0.0", "554 email rejected due to security policies - MCSpamSignature.sa.5.6", BounceKind.policy),
        (
            "failed",
            None,
            "could not be delivered because they are not accepting mail with attachments or embedded images: reader",
            BounceKind.policy,
        ),
        # a dead mailbox however it is spelt, under 5.7.x too
        ("failed", "5.7.1", "550 5.7.1 No mailbox found", BounceKind.hard),
        ("failed", "5.7.1", "553 sorry, badrcptto(user mail-box not found) (#5.7.1)", BounceKind.hard),
        # a full mailbox or a message too large (X.2.2, X.2.3, X.3.4) in other words or under another code
        ("failed", "5.0.0", "550 <a@x.example> User has too many messages on the server.", BounceKind.soft),
        ("failed", "5.7.0", "x-unix; The recipient mailbox has exceeded its disk space limit.", BounceKind.soft),
        ("failed", "5.0.0", "534 SIZE=Message too big. (in reply to MAIL FROM command)", BounceKind.soft),
        ("failed", "5.7.1", "554 5.7.1 Message Rejected Class=size limit=15728640 Subclass=reject", BounceKind.soft),
        ("failed", "5.1.1", "550 RCPT TO:<a@x.example> max message size exceeded", BounceKind.soft),  # 5.1.1 guessed
        # Exim's retry timeout: given up after retries, a temporary cause (X.4.7)
        (
            "failed",
            None,
            "a@x.example all hosts have been failing for a long time and were last tried",
            BounceKind.soft,
        ),
        # must not change: the server's own 5.1.1, a policy word next to the mailbox or size words
        ("failed", "5.1.1", "550 5.1.1 User unknown; message size limit is 10 MB", BounceKind.hard),
        (
            "failed",
            "5.7.1",
            "550 5.7.1 mailbox not found; client host blocked using zen.spamhaus.org",
            BounceKind.policy,
        ),
        ("failed", "5.7.1", "554 5.7.1 Message rejected as spam: size limit for bulk mail", BounceKind.policy),
        (
            "failed",
            "5.0.0",
            "550 Requested action not taken: mailbox unavailable (relay host said so)",
            BounceKind.hard,
        ),
    ],
)
def test_reports_are_classified_by_whose_fault_it_is(action, status, diagnostic, kind):
    assert classify_report(action, status, diagnostic).bounce == kind


@pytest.mark.parametrize(
    ("code", "text", "action", "kind"),
    [
        (250, "2.0.0 Ok: queued", Action.deliver, None),
        (451, "4.3.0 Try again later", Action.retry, None),
        (550, "5.1.1 No such user here", Action.suppress, FailureKind.no_such_user),
        (550, "5.7.1 Rejected by policy: sender not authorised", Action.fail, FailureKind.policy),
        (
            554,
            "5.7.26 Unauthenticated email from example.org is not accepted due to DMARC",
            Action.fail,
            FailureKind.policy,
        ),
        (552, "5.2.2 Mailbox full", Action.score, FailureKind.rejected),
        (550, "Message blocked: listed on a spam blocklist", Action.fail, FailureKind.policy),
        (553, "5.1.3 Bad recipient address syntax", Action.suppress, FailureKind.no_such_user),
        (550, "User unknown", Action.suppress, FailureKind.no_such_user),  # said in words: the mailbox does not exist
    ],
)
def test_one_policy_for_smtp_replies(code, text, action, kind):
    verdict = classify_reply(code, text)
    assert (verdict.action, verdict.failure_kind) == (action, kind)


def test_reports_hard_soft_delay_and_the_suppression_reason():
    assert classify_report("failed", "5.1.1").reason == "hard bounce 5.1.1"
    assert classify_report("failed", "4.4.7").bounce == BounceKind.soft, "delayed, then failed: soft"
    assert classify_report("delayed", "4.4.1").action == Action.nothing, "a delay-only DSN changes nothing"
    assert classify_report("failed", "5.7.1").action == Action.fail, "5.7.x is our setup, not the reader"
    assert str(FailureKind.no_such_user) == "no_such_user", "stored strings stay what they were"


def test_soft_score_counts_days_and_decays():
    day = date(2026, 12, 1)
    every_other_day = [day + timedelta(days=2 * n) for n in range(5)]
    assert soft_score(every_other_day, today=every_other_day[-1], decay_days=7) == 5
    assert soft_score([day, day, day], today=day, decay_days=7) == 1, "at most one point a day"
    assert soft_score(every_other_day, today=every_other_day[-1] + timedelta(days=8), decay_days=7) == 0
    gap = [day, day + timedelta(days=1), day + timedelta(days=20)]
    assert soft_score(gap, today=gap[-1], decay_days=7) == 1, "a quiet week starts the count again"


def test_verp_tokens_are_short_and_tamper_evident(settings):
    verp = Verp(settings)
    address = verp.for_delivery(123456789)
    local, domain = address.split("@")
    assert domain == "news.example.org" and local.startswith("bounces+") and len(local) <= 30
    token = local.split("+", 1)[1]
    assert verp.read(token).delivery_id == 123456789 and verp.read(token.upper()).delivery_id == 123456789
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert verp.read(forged) is None
    transactional = verp.find(verp.for_subscriber(42, "confirmation"))
    assert (transactional.subscriber_id, transactional.kind) == (42, "confirmation")
    other_key = Verp(settings.model_copy(update={"secret_key": "another-secret-key-0123456789"}))
    assert other_key.read(token) is None

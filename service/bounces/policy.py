"""One policy for SMTP replies, bounces and complaints: what each outcome does to the address.

The bulk sender, the transactional tasks and the bounce processor all ask this module, so a 5.1.1
means the same thing whether the server said it at once or a DSN said it an hour later. Classes are by
whose fault a failure is (the README's table):
  hard: the recipient's (5.1.x, 5.2.1, 5.4.4, "no such user"   -> suppress the address now
        even under 5.7.x, any other permanent failure that
        names no other cause)
  policy: ours (5.7.x, 5.6.x, 5.1.7/8, 4.7.x blocks, SPF/DKIM/  -> fail this message, never suppress; counted
          DMARC, rDNS, block lists, a refused message form,        per edition and receiving domain for ops
          a refusal to relay for us or of our sending host)
  soft: temporary (4.x.x, a full mailbox in any words, a final  -> add to a decaying score; suppress at the
        failure after retries or for a temporary reason,            threshold
        a message too large in any words)
  complaint (ARF, RFC 5965)                                      -> unsubscribe from every list and suppress now
  delay (a report of a delay only)                               -> nothing
BounceKind.policy (FailureKind.policy on a ledger row) is the one "receivers refuse our setup" class.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
FULL_MAILBOX = re.compile(
    r"quota|mail-?box (is )?full|mail ?folder is full|full mailbox|mail-?box size limit|disk space limit|"
    r"too many (messages|mails|e-?mails) (on|in) (the |your |this )?(server|mail-?box|account|folder)|"
    r"mail-?box (exceeds|has exceeded|is over)|"
    r"(insufficient|not enough|n[o']t have enough|no (more )?|out of) (free )?(disk |storage |mailbox )?"
    r"(space|storage)|"
    r"(storage|size) (limit|allocation) (has been |was )?exceeded|exceeded (its |the |their )?(disk |storage|mailbox) ",
    re.I,
)  # RFC 3463 X.2.2: "a persistent transient error", however the server words it ("does not have enough space")
POLICY_WORDS = re.compile(  # the receiver refuses our sending setup or reputation, not the reader's mailbox
    r"\b(spam\w*|blocked|black ?list\w*|block ?list\w*|deny ?list\w*|white ?list\w*|reputation|polic(y|ies)|"
    r"dmarc|spf|dkim|rbl|dnsbl|"
    r"spamhaus|spamcop|barracuda|sorbs|listed (on|in|at)|rdns|reverse (dns|hostname|lookup)|ptr( record)?|"
    r"sender policy framework|unauthenticated|not authenticated|(isp|provider)'?s? (mail |smtp )?(server|relay)|"
    r"dynamic ip|dial-?up|banned sending ip|unsolicited|sender address rejected|complaints?|"
    r"unexpected volume|temporarily deferred|relay(ing)? (access )?(denied|not permitted|not allowed|prohibited)|"
    r"(unable|not permitted|not allowed) to relay|we do not relay|not (allowed|authori[sz]ed|permitted) to send|"
    r"your (e-?mail |mail |smtp |sending )?(server|ip|host))\b",
    re.I,
)
RECIPIENT_GONE = re.compile(  # the mailbox does not exist (any more): the recipient's fault, whatever the code
    r"user unknown|unknown user|no such (user|mail-?box|recipient|account|address)|(does not|doesn't|not) exist|"
    r"no (user|mail-?box|recipient|account)( was)? found|"
    r"invalid (recipient|mailbox|address|user)|recipient (address )?rejected: (user unknown|access denied|"
    r"undeliverable)|unknown (local[- ]part|recipient|mailbox|address)|no mailbox here|(user|recipient|address|"
    r"mail-?box) not found|mail-?box (is )?(unavailable|disabled|inactive|not available)|account (is |has been )?"
    r"(disabled|deactivated|closed|inactive|suspended)|is inactive|addressee unknown|unrouteable address|"
    r"doesn't have an? [\w.-]+ account|not a valid (mailbox|recipient|user)|recip(ient)?notfound|"
    r"no longer (active|valid|in use)|non-?existent (user|mailbox|recipient|account|address)",
    re.I,
)
SENDER_SIDE = re.compile(r"\bsender\b|mail from|envelope.from|\bhelo\b|\bclient\b|relay", re.I)
TRANSIENT = re.compile(  # RFC 3463 X.4.1/X.4.2/X.4.7: no answer, a bad connection, retried until it expired
    r"temp_failure|temporary (failure|error|problem)|could not (initiate|establish|connect)|"
    r"(unable|failed) to connect|connection (was )?(timed out|refused|dropped|reset|lost|closed)|timed out|"
    r"dropped by (the )?remote host|(message|delivery time) expired|retry (time(out)?|limit) (exceeded|reached)|"
    r"(numerous|repeated|too many) (delivery )?(attempts|retries)|gave up|giving up|been failing for a long time",
    re.I,
)
MESSAGE_FORMAT = re.compile(  # RFC 3463 X.6.x and RFC 5322 refusals: our message's form, not the reader's mailbox
    r"without (a |an )?(to|from|date|subject|message-id):? (header|field)|"
    r"missing (required |mandatory )?(to|from|date|message-id|header)|(header|field)s? (is |are )?(missing|malformed)|"
    r"malformed (message|header|mime)|not rfc ?(2|5)?(822|322)|bare (lf|linefeed|line feed|cr)\b|"
    r"(line|header) (is )?too long|invalid (mime|header|message format)|duplicate (header|message-id)|"
    r"not accept(ing)? (mail|messages|e-?mail) with (attachments|embedded images|images|links)",
    re.I,
)
TOO_LARGE = re.compile(  # RFC 3463 X.2.3/X.3.4: our message is over a size limit, however the server words it
    r"message (is )?too (big|large)|message size (limit )?exceed|max(imum)? message size|"
    r"exceeds? (the )?(maximum |max )?(message |allowed )?size|(message )?size limit|size=message too big",
    re.I,
)
GREYLIST = re.compile(r"grey ?list|gray ?list|try again later|temporar", re.I)
TOO_BIG = ("5.2.3", "5.3.4")  # our message is too large: not the reader's fault, and not a refusal of our setup


class FailureKind(enum.StrEnum):
    """Why a delivery row failed for good (stored on deliveries.failure_kind as these strings)."""

    no_such_user = "no_such_user"  # 5.1.x: the mailbox does not exist
    rejected = "rejected"  # any other permanent 5.x.x about the recipient (full, disabled...)
    policy = "policy"  # 5.7.x: the receiver refuses our sending setup, not the reader
    expired = "expired"  # temporary failures until the edition expired
    bad_address = "bad_address"  # cannot be written on the wire at all
    unsupported_address = "unsupported_address"  # needs SMTPUTF8, the server lacks it
    bad_message = "bad_message"  # this reader's message could not be built
    send_error = "send_error"  # the connection broke in an unexpected way


NEVER_RETRIED = (
    FailureKind.no_such_user.value,
    FailureKind.rejected.value,
    FailureKind.bad_address.value,
    FailureKind.unsupported_address.value,
)  # an admin's "retry failed" cannot end differently


class BounceKind(enum.StrEnum):
    """The class of a stored bounce report (bounces.kind)."""

    hard = "hard"
    soft = "soft"
    policy = "policy"
    complaint = "complaint"
    delay = "delay"
    unparsed = "unparsed"


class Action(enum.StrEnum):
    """What to do about the address."""

    deliver = "deliver"  # 2xx: nothing to do
    retry = "retry"  # a 4xx at send time: try this message again later
    suppress = "suppress"
    fail = "fail"  # final for this message, the address stays mailable
    score = "score"  # a soft bounce: count it
    unsubscribe = "unsubscribe"  # complaint: unsubscribe everywhere and suppress
    nothing = "nothing"


@dataclass(frozen=True)
class Verdict:
    """The policy's answer: the action, the row's failure kind, the bounce class and the suppression reason."""

    action: Action
    bounce: BounceKind
    failure_kind: FailureKind | None = None
    status: str | None = None  # RFC 3463 enhanced status, e.g. 5.1.1 (or the basic code, 550)

    @property
    def reason(self) -> str:
        """How a suppression is explained, e.g. `hard bounce 5.1.1` (shown by `subscribers show`)."""
        label = {BounceKind.complaint: "complaint", BounceKind.soft: "repeated soft bounces"}.get(
            self.bounce, "hard bounce"
        )
        return f"{label} {self.status}" if self.status else label


def enhanced_status(text: str | None) -> str | None:
    """The first RFC 3463 status code in a reply or diagnostic, e.g. '5.1.1'."""
    found = ENHANCED.search(text or "")
    return ".".join(found.groups()) if found else None


def _specific(status: str | None, diagnostic: str) -> str | None:
    """The report's status, or the server's own enhanced code when the report's is generic (X.0.0) or missing."""
    said = enhanced_status(diagnostic)
    generic = status is None or status.endswith(".0.0") or status == "5.3.0"  # 5.3.0: SES's "other mail system"
    return said if generic and said else status


def _permanent(status: str | None, code: int | None, text: str) -> Verdict:
    """A permanent failure, by whose fault it is: ours (policy), a full mailbox (soft), else the recipient's (hard)."""
    shown = status or (str(code) if code else None)
    soft = Verdict(Action.score, BounceKind.soft, FailureKind.rejected, shown)
    policy = Verdict(Action.fail, BounceKind.policy, FailureKind.policy, shown)
    gone = RECIPIENT_GONE.search(text) and not (POLICY_WORDS.search(text) or SENDER_SIDE.search(text))
    sized = (FULL_MAILBOX.search(text) or TOO_LARGE.search(text)) and not POLICY_WORDS.search(text)
    if status and (status.startswith("5.7.") or status not in text) and sized:  # the words name the cause
        return soft  # a full mailbox or a message too large under a policy code or the reporter's guess of one
    if status and status.startswith("5.7.") and gone:  # "5.7.1 ...: Nonexistent user": the words name the cause
        return Verdict(Action.suppress, BounceKind.hard, FailureKind.no_such_user, shown)
    if status and (status.startswith("5.7.") or status.startswith("5.6.") or status in ("5.1.7", "5.1.8")):
        return policy
    if status == "5.2.2" or status == "5.4.7" or status in TOO_BIG:  # 5.4.7: delivery time expired, retried
        return soft
    if status and (status.startswith("5.1.") or status in ("5.2.1", "5.4.4")):
        return Verdict(Action.suppress, BounceKind.hard, FailureKind.no_such_user, shown)
    if FULL_MAILBOX.search(text) or TOO_LARGE.search(text):
        return soft
    if RECIPIENT_GONE.search(text):  # said in words, it decides even next to a policy word
        return Verdict(Action.suppress, BounceKind.hard, FailureKind.no_such_user, shown)
    if POLICY_WORDS.search(text) or MESSAGE_FORMAT.search(text):
        return policy
    if TRANSIENT.search(text):  # a "permanent" failure whose reason is a temporary one: given up after retries
        return soft
    return Verdict(Action.suppress, BounceKind.hard, FailureKind.rejected, shown)  # RFC 5321: do not retry it


def classify_reply(code: int, text: str) -> Verdict:
    """An SMTP reply at send time (RFC 5321 reply code, RFC 3463 enhanced code in the text)."""
    status = enhanced_status(text)
    if 200 <= code < 300:
        return Verdict(Action.deliver, BounceKind.delay, None, status)
    if code < 500:
        return Verdict(Action.retry, BounceKind.soft, None, status or str(code))
    return _permanent(status if status and status[0] == "5" else None, code, text)


def classify_report(action: str | None, status: str | None, diagnostic: str = "") -> Verdict:
    """One recipient of a bounce report: its DSN Action (RFC 3464) and Status, or what a non-DSN bounce said."""
    action = (action or "failed").lower()
    status = _specific(status or None, diagnostic)
    if action in ("delayed", "delivered", "relayed", "expanded"):
        return Verdict(Action.nothing, BounceKind.delay, None, status)
    code = re.search(r"\b([45]\d\d)\b", diagnostic)
    if (status and status.startswith("4.")) or (not status and code and code.group(1).startswith("4")):
        shown = status or (code.group(1) if code else None)
        if ((status or "").startswith("4.7.") or POLICY_WORDS.search(diagnostic)) and not GREYLIST.search(
            diagnostic.replace("temporarily deferred", "")
        ):
            return Verdict(Action.fail, BounceKind.policy, FailureKind.policy, shown)  # a policy deferral, given up
        return Verdict(Action.score, BounceKind.soft, None, shown)
    return _permanent(
        status if status and status.startswith("5.") else None, int(code.group(1)) if code else None, diagnostic
    )


def classify_complaint(feedback_type: str | None = None) -> Verdict:
    """An abuse report (ARF): the reader does not want this mail; `not-spam` reports change nothing."""
    if (feedback_type or "").lower() == "not-spam":
        return Verdict(Action.nothing, BounceKind.delay)
    return Verdict(Action.unsubscribe, BounceKind.complaint, None, (feedback_type or "abuse").lower())


def soft_score(days: Iterable[date], *, today: date, decay_days: int) -> int:
    """Mailman's score: one point per day with a soft bounce; a gap of decay_days without one starts again."""
    score, last = 0, None
    for day in sorted(set(days)):
        score = 1 if last is None or (day - last).days > decay_days else score + 1
        last = day
    if last is None or (today - last).days > decay_days:
        return 0
    return score


def over_threshold(score: float, threshold: float) -> bool:
    """Whether repeated soft bounces disable the address."""
    return score >= threshold


def day_of(moment: datetime) -> date:
    """The UTC day a bounce counts for."""
    return moment.date()

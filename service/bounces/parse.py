"""Read a bounce or complaint: RFC 3464 DSNs, RFC 5965 ARF reports, and other MTAs' bounces (flufl.bounce).

No database here: raw bytes in, one Report per recipient out (an empty list means "could not parse").
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from service.bounces.plain import failed_recipients, named_address
from service.bounces.policy import Verdict, classify_complaint, classify_report, enhanced_status

ADDRESS = re.compile(r"[^\s<>\"';:,()\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ORIGINAL_TYPES = (
    "message/rfc822",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global",
    "message/global-headers",
)
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")  # RFC 3464, RFC 6533 (SMTPUTF8)
QUOTE_MARKERS = re.compile(  # where a text bounce starts quoting the original: its To/Cc there did not fail
    r"^\s*-+ ?(Below this line is a copy of the message|This is a copy of the message|Original message)|"
    r"^Original message headers:|^\s*-+ ?(The )?(original|returned) message",
    re.I | re.M,
)


@dataclass(frozen=True)
class Report:
    """One recipient's part of a report: who, the policy's verdict and what the server said."""

    recipient: str | None
    verdict: Verdict
    diagnostic: str = ""


@dataclass
class Parsed:
    """A whole report: its recipients, and the headers that may carry a VERP token or the original Message-ID."""

    reports: list[Report] = field(default_factory=list)
    verp_texts: list[str] = field(default_factory=list)
    message_id: str | None = None
    text: str = ""  # the whole message, every part decoded: where a quoted token or Message-ID of ours may be


def _address(value: str | None) -> str | None:
    """`rfc822; user@example.org` (or a bare address) as a plain address."""
    if not value:
        return None
    value = value.split(";", 1)[-1].strip()
    found = ADDRESS.search(value)
    return found.group(0).strip(".").lower() if found else None


def _original(message: Message) -> Message | None:
    """The returned original message (or its headers) inside a report, if any."""
    for part in message.walk():
        if part.get_content_type() in ORIGINAL_TYPES and part is not message:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return message_from_bytes(payload.encode("utf-8", "replace"))
    return None


def _verp_texts(message: Message, original: Message | None) -> list[str]:
    """Where a VERP address may show: the report's own recipient headers, then the original's envelope sender."""
    texts = [str(message.get(name, "")) for name in ("X-Original-To", "Delivered-To", "Envelope-To", "To")]
    if original is not None:
        texts += [str(original.get(name, "")) for name in ("Return-Path", "Sender", "X-Envelope-From")]
    return [text for text in texts if text]


def _status_blocks(part: Message, encoding: str) -> list[Message]:
    """The header groups of a delivery-status part that the email package could not split (an encoded one)."""
    body = part.as_string().replace("\r\n", "\n").split("\n\n", 1)[-1]
    if encoding == "base64":
        try:
            body = base64.b64decode(re.sub(r"[^A-Za-z0-9+/=]", "", body) + "==").decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return []
    elif encoding == "quoted-printable":
        body = quopri.decodestring(body.encode("latin-1", "replace")).decode("utf-8", "replace")
    return [
        message_from_bytes(block.strip().encode("utf-8", "replace"))
        for block in re.split(r"\n[ \t]*\n", body)
        if block.strip()
    ]


def _status_parts(message: Message) -> list[Message]:
    """The delivery-status parts: by their type, or (RFC 6522) the second part of a delivery-status report."""
    found = []
    for part in message.walk():
        if part.get_content_type() in STATUS_TYPES:
            found.append(part)
        elif part.get_content_type() == "multipart/report" and str(part.get_param("report-type", "")).lower() in (
            "delivery-status",
            "global-delivery-status",
        ):
            subparts = part.get_payload()
            second = subparts[1] if isinstance(subparts, list) and len(subparts) > 1 else None
            if (
                isinstance(second, Message)
                and second.get_content_maintype() == "message"
                and second.get_content_type() not in STATUS_TYPES + ORIGINAL_TYPES
            ):
                found.append(second)  # e.g. XWall's message/xdelivery-status
    return found


def _dsn(message: Message) -> list[Report] | None:
    """RFC 3464: one report per per-recipient block of the message/delivery-status part."""
    for part in _status_parts(message):
        blocks = part.get_payload()
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        standard = part.get_content_type() in STATUS_TYPES
        if encoding in ("base64", "quoted-printable") or not isinstance(blocks, list) or not standard:
            blocks = _status_blocks(part, encoding)
        reports, said = [], None
        for block in blocks[1:] or blocks:
            if not isinstance(block, Message):
                continue
            recipient = named_address(block.get("Original-Recipient")) or named_address(block.get("Final-Recipient"))
            if recipient is None and block.get("Action") is None:
                continue
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            if not diagnostic and recipient:  # RFC 3464 s.2: the human-readable part says why when no code does
                said = _body_text(message) if said is None else said
                diagnostic = _diagnostic_near(said, recipient, whole=len(blocks) <= 2)
            status = enhanced_status(str(block.get("Status", ""))) or None
            reports.append(Report(recipient, classify_report(block.get("Action"), status, diagnostic), diagnostic))
        if reports:
            return reports
    return None


def _arf(message: Message) -> list[Report] | None:
    """RFC 5965: a feedback report is a complaint about the original message, by its recipient."""
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        fields = (
            payload[0]
            if isinstance(payload, list) and payload and isinstance(payload[0], Message)
            else (message_from_bytes(str(payload).encode("utf-8", "replace")))
        )
        original = _original(message)
        named = [named_address(str(value)) for value in fields.get_all("Original-Rcpt-To") or []]
        recipients: list[str | None] = [address for address in named if address] or [
            _address(str(original.get("To", ""))) if original is not None else None
        ]
        feedback = str(fields.get("Feedback-Type", "abuse")).strip()
        verdict = classify_complaint(feedback)
        return [Report(recipient, verdict, f"feedback report: {feedback}") for recipient in dict.fromkeys(recipients)]
    return None


def _all_text(raw: bytes, message: Message) -> str:
    """The raw message and every part decoded (a quoted original may be base64 or quoted-printable)."""
    chunks = [raw.decode("latin-1")]
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                chunks.append(payload.decode("latin-1"))
    return "\n".join(chunks)


def _body_text(message: Message) -> str:
    """The human-readable text of a bounce, for its status code and diagnostic."""
    chunks = []
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_content_type() != "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                chunks.append(_decoded(payload, part.get_content_charset()))
        if part.get_content_type() in ORIGINAL_TYPES:
            break
    text = "\n".join(chunks)
    quoted = QUOTE_MARKERS.search(text)
    return text[: quoted.start()] if quoted else text


def _decoded(payload: bytes, charset: str | None) -> str:
    """Text in its declared charset, or Latin-1 when the charset is unknown (old MTAs name odd ones)."""
    try:
        return payload.decode(charset or "latin-1", "replace")
    except LookupError:
        return payload.decode("latin-1")


def _diagnostic_near(text: str, recipient: str, *, whole: bool = True) -> str:
    """The lines of the bounce text around a recipient: where an MTA says why (else all of it, when `whole`)."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if recipient.lower() in line.lower():
            return " ".join(" ".join(lines[max(0, number - 1) : number + 4]).split())[:1000]
    return " ".join(text.split())[:1000] if whole else ""


BOUNCE_SIGNS = re.compile(r"undeliver|not (been )?delivered|delivery (status|failure|notification)|failure", re.I)
EXIM_WARNING = re.compile(r"has not yet been delivered to one or more of its\s+recipients", re.I)
EXIM_PENDING = re.compile(
    r"The address(?:es)? to which the message has not yet been delivered (?:is|are):\s*\n"
    r"((?:[ \t]*\n|[ \t]+\S.*\n)+)",
    re.I,
)


def _exim_warning(message: Message) -> list[Report] | None:
    """Exim's delay warning (its warn_message_file): the addresses still queued, listed two spaces in."""
    text = _body_text(message).replace("\r\n", "\n")
    if not EXIM_WARNING.search(text) or not (found := EXIM_PENDING.search(text + "\n")):
        return None
    reports = []
    for line in found.group(1).splitlines():
        address = _address(line) if line.startswith("  ") and not line.startswith("   ") else None
        if address:
            diagnostic = _diagnostic_near(text, address)
            reports.append(Report(address, classify_report("delayed", None, diagnostic), diagnostic))
    return reports or None


def _heuristic(message: Message) -> list[Report] | None:
    """Other MTAs' bounces by flufl.bounce's detectors: permanent failures, or warnings (delays)."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # noqa: BLE001 - a detector choking on odd input means "not recognised", not a crash
        return None
    text = _body_text(message)
    reports = []
    for raw in sorted(permanent):
        recipient = named_address(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))
        if recipient:
            diagnostic = _diagnostic_near(text, recipient)
            reports.append(
                Report(recipient, classify_report("failed", enhanced_status(diagnostic), diagnostic), diagnostic)
            )
    for raw in sorted(set(temporary) - set(permanent)):
        recipient = named_address(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))
        if recipient:
            diagnostic = _diagnostic_near(text, recipient)
            reports.append(Report(recipient, classify_report("delayed", None, diagnostic), diagnostic))
    return reports or None


def _plain(message: Message) -> list[Report] | None:
    """A plain-text bounce no detector knows: its recipients found by how MTAs introduce them, a final failure."""
    said_bounce = BOUNCE_SIGNS.search(str(message.get("Subject", ""))) or message.get("Final-Recipient")
    if not said_bounce:  # only what says it is a bounce: a reply or an auto-responder names nobody failed
        return None
    found = failed_recipients(_body_text(message), message)
    return [Report(who, classify_report("failed", enhanced_status(why), why), why) for who, why in found] or None


def _repaired(message: Message) -> Message:
    """A multipart whose boundary parameter has junk after its quoted value (RFC 2045: a quoted-string) reparsed."""
    quoted = re.search(r'boundary="([^"]+)"[ \t]*[^\s;]', str(message.get("Content-Type", "")), re.I)
    if message.get_content_maintype() != "multipart" or message.is_multipart() or not quoted:
        return message
    message.set_boundary(quoted.group(1))
    return message_from_bytes(message.as_bytes())


def parse(raw: bytes) -> Parsed:
    """Everything a report says; Parsed.reports is empty when it is not a bounce we can read."""
    message = _repaired(message_from_bytes(raw))
    original = _original(message)
    parsed = Parsed(verp_texts=_verp_texts(message, original), text=_all_text(raw, message))
    if original is not None and original.get("Message-ID"):
        parsed.message_id = str(original.get("Message-ID")).strip()
    for reader in (_arf, _dsn, _exim_warning, _heuristic, _plain):
        found = reader(message)
        if found:
            parsed.reports = list({(r.recipient, r.verdict.bounce): r for r in found}.values())  # once each
            break
    return parsed


def addresses_in(value: str) -> list[str]:
    """Plain addresses in a header value (for an MTA's envelope recipient given on the command line)."""
    return [address for _, address in getaddresses([value]) if address]

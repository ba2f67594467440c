"""Find the failed recipients of a plain-text bounce by the phrases MTAs introduce them with (no DSN part).

Pure text in, (recipient, diagnostic) pairs out; a recipient is None when the MTA names it by display name only
(Exchange's MTA): the VERP token still tells whose bounce it is.
"""

from __future__ import annotations

import re
from email.message import Message

ADDRESS = re.compile(r"[^\s<>\"';:,()\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")  # an address found in free text
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
ADDR_SPEC = re.compile(rf"(?:{ATEXT}(?:\.{ATEXT})*|\"[^\"\r\n]*\")@{ATEXT}(?:\.{ATEXT})*")  # RFC 5322 s.3.4.1
EXCHANGE_MTA = re.compile(  # Exchange 5.5/2000: "did not reach the following recipient(s):" then "WHO on DATE"
    r"did not reach the following recipient\(?s?\)?:?[ \t]*\n((?:[ \t]*\n)*(?:.*\S.*\n)+)", re.I
)
EXCHANGE_ENTRY = re.compile(r"^\s*(?P<who>\S.*?) on \w{3}, \d{1,2} \w{3} \d{4} [\d:]+.*$", re.M)
TO_THE_FOLLOWING = re.compile(  # GroupWise and others: "... was undeliverable to the following:" then one per line
    r"(?:undeliverable|could not be delivered|was not delivered) to the following(?: recipients?| addresses)?:"
    r"[ \t]*\n((?:[ \t]*\n)*(?:[ \t]*\S.*\n)+)",
    re.I,
)
ADDRESS_FAILED = re.compile(  # "Delivery of email to this address "x" has failed due to ..." (and similar wordings)
    r"deliver(?:y|ing)? (?:of (?:your |e-?)?(?:mail|message) )?to (?:this|the following) address(?:es)?\W*"
    r"(?P<who>[^\s<>\"]+@[A-Za-z0-9.-]+)\W*(?:has|have) failed",
    re.I,
)


def named_address(value: str | None) -> str | None:
    """A field that names the recipient by definition (RFC 3464's Final-Recipient): any valid addr-spec, any TLD."""
    if not value:
        return None
    value = value.rsplit(";", 1)[-1].strip().strip("<>").strip()  # `rfc822; x`, even `rfc822; rfc822;x`
    if ADDR_SPEC.fullmatch(value):
        return value.lower()
    found = ADDRESS.search(value)
    return found.group(0).strip(".").lower() if found else None


def _lines_after(text: str, start: int, count: int = 4) -> str:
    """The reason an MTA gives under a recipient: the next few lines, on one line."""
    return " ".join(" ".join(text[start:].splitlines()[:count]).split())[:1000]


def _listed(block: str) -> list[tuple[str | None, str]]:
    """One recipient a line, its reason beside it: `reader@example.org (user not found)`."""
    lines = [line.split() for line in block.splitlines() if line.strip()]
    return [(who, " ".join(words)) for words in lines if (who := named_address(words[0])) is not None]


def failed_recipients(text: str, message: Message) -> list[tuple[str | None, str]]:
    """Each failed recipient a plain-text bounce names, with the words near it."""
    text = text.replace("\r\n", "\n")
    if (block := EXCHANGE_MTA.search(text)) is not None:
        found = []
        for entry in EXCHANGE_ENTRY.finditer(block.group(1)):
            address = ADDRESS.search(entry.group("who"))
            found.append((address.group(0).lower() if address else None, _lines_after(block.group(1), entry.start())))
        if found:
            return found
    if (block := TO_THE_FOLLOWING.search(text + "\n")) is not None and (listed := _listed(block.group(1))):
        return listed
    if (said := ADDRESS_FAILED.search(text)) is not None:
        return [(said.group("who").strip(".").lower(), _lines_after(text, said.start(), 6))]
    named = message.get("Final-Recipient") or message.get("Original-Recipient")  # DSN fields among the headers
    if named and (who := named_address(str(named))) is not None:
        return [(who, " ".join(text.split())[:1000])]
    return []

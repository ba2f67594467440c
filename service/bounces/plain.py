"""Find the failed recipients of a plain-text bounce by the phrases MTAs introduce them with (no DSN part).

Pure text in, (recipient, diagnostic) pairs out; a recipient is None when the MTA names it by display name only
(Exchange's MTA): the VERP token still tells whose bounce it is.
"""

from __future__ import annotations

import re
from email.message import Message

ADDRESS = re.compile(r"[^\s<>\"';:,()\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
EXCHANGE_MTA = re.compile(  # Exchange 5.5/2000: "did not reach the following recipient(s):" then "WHO on DATE"
    r"did not reach the following recipient\(?s?\)?:?[ \t]*\n((?:[ \t]*\n)*(?:.*\S.*\n)+)", re.I
)
EXCHANGE_ENTRY = re.compile(r"^\s*(?P<who>\S.*?) on \w{3}, \d{1,2} \w{3} \d{4} [\d:]+.*$", re.M)
ADDRESS_FAILED = re.compile(  # "Delivery of email to this address "x" has failed due to ..." (and similar wordings)
    r"deliver(?:y|ing)? (?:of (?:your |e-?)?(?:mail|message) )?to (?:this|the following) address(?:es)?\W*"
    r"(?P<who>[^\s<>\"]+@[A-Za-z0-9.-]+)\W*(?:has|have) failed",
    re.I,
)


def _lines_after(text: str, start: int, count: int = 4) -> str:
    """The reason an MTA gives under a recipient: the next few lines, on one line."""
    return " ".join(" ".join(text[start:].splitlines()[:count]).split())[:1000]


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
    if (said := ADDRESS_FAILED.search(text)) is not None:
        return [(said.group("who").strip(".").lower(), _lines_after(text, said.start(), 6))]
    named = message.get("Final-Recipient") or message.get("Original-Recipient")  # DSN fields among the headers
    if named and (address := ADDRESS.search(str(named))) is not None:
        return [(address.group(0).lower(), " ".join(text.split())[:1000])]
    return []

"""Whom a report may change: only a reader named by a valid VERP token or a signed Message-ID of ours.

Anyone can send mail to the bounce address, so an address written in a report proves nothing: a report
that names a reader without such proof is stored and held for review, never applied (issue 20).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.bounces import store
from service.bounces.parse import Parsed
from service.bounces.verp import Verp
from service.core.config import Settings


class Held(enum.StrEnum):
    """Why a report (or one recipient of it) was held for review instead of applied (bounces.review)."""

    no_proof = "no token or message-id"  # neither a VERP token nor a signed Message-ID of ours
    bad_token = "bad verp token"  # shaped like ours, but its MAC is wrong: forged, or signed with another key
    other_reader = "names another reader"  # proven for some reader, but this recipient is not that reader
    pruned = "delivery no longer kept"  # a valid token whose ledger row retention has deleted
    unparsed = "unparsed"  # nothing a parser can read; kept whole


@dataclass(frozen=True)
class Proof:
    """The readers a report is proven to be about, and what to say for a recipient that is none of them."""

    readers: list[store.Match]
    otherwise: Held


def prove(session: Session, settings: Settings, parsed: Parsed, envelope_to: str | None) -> Proof:
    """Read the VERP token (envelope, report headers, quoted original) and every signed Message-ID quoted."""
    verp = Verp(settings)
    texts = [envelope_to, *parsed.verp_texts, parsed.text]
    readers: list[store.Match] = []
    otherwise = Held.no_proof
    target = verp.find(*texts)
    if target is not None:
        found = (
            store.by_delivery(session, target.delivery_id)
            if target.delivery_id is not None
            else store.by_subscriber(session, target.subscriber_id or 0)
        )
        if found is not None:
            readers.append(found)
        else:
            otherwise = Held.pruned
    elif verp.shaped(*texts):
        otherwise = Held.bad_token
    for quoted in verp.message_ids(parsed.text):
        found = store.by_message_id(
            session, quoted.message_id, edition_id=quoted.edition_id, subscriber_id=quoted.subscriber_id
        )
        if found is not None and found.subscriber_id not in {r.subscriber_id for r in readers}:
            readers.append(found)
    return Proof(readers, Held.other_reader if readers else otherwise)


def reader_for(proof: Proof, recipient: str | None, *, only_recipient: bool) -> store.Match | None:
    """The proven reader a recipient is: the one with that address, or the only one for a report's only recipient."""
    # the second case is a forwarded mailbox (the report names where it was forwarded to): it still acts only on
    # the reader the token or Message-ID names, never on the address the report writes
    wanted = (recipient or "").lower()
    for reader in proof.readers:
        if wanted and reader.email and reader.email.lower() == wanted:
            return reader
    if only_recipient and len(proof.readers) == 1:
        return proof.readers[0]
    return None

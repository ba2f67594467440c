"""Erasure on request: a reader's personal data goes; a hashed suppression stays so nobody mails them by accident.

What is removed: the subscriber row (address, name, time zone, pause), every subscription with its
consent record (IP, user agent, source) and consent history, and in the delivery ledger whatever could
name the reader (the link to them, the SMTP reply and error text, which often quote the address, and
the Message-ID, which carries the reader's id). Deliveries not sent yet are skipped. Bounce reports
about the reader lose their diagnostic and raw text, and keep kind and status, as the ledger does.

What is kept, and why:
- the ledger rows themselves, anonymous (subscriber_id NULL, status, SMTP code, failure kind, sent_at):
  edition figures are counted from the ledger, so an edition's planned/sent/failed stay what they were;
  "unsubscribed since" counts subscriptions, and an erased reader's are gone, so it does not count them;
- one suppression entry, the SHA-256 of the normalised address with the reason "erased": the address
  cannot be read back from it, yet every send path (editions, confirmations, imports, the subscribe
  form) checks it, so a later CSV import or a re-subscription never mails the address again, unless an
  admin removes the suppression;
- an audit entry "subscriber.erase" with the id, the lists and who asked, never the address.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from service.admin import audit
from service.bounces.models import Bounce
from service.core.addresses import address_hash
from service.core.errors import UnknownPage
from service.delivery import ledger
from service.mail.suppressions import suppress_because
from service.models import Subscriber

ERASED_REASON = "erased"


@dataclass(frozen=True)
class Erased:
    """What an erasure did, without anything that names the reader."""

    subscriber_id: int
    lists: list[str]
    deliveries_kept: int  # anonymous ledger rows kept so the editions' figures do not change


def erase_subscriber(session: Session, subscriber_id: int, *, actor: str, ip: str | None = None) -> Erased:
    """Erase one reader in one transaction with its audit entry; UnknownPage when the id names nobody."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise UnknownPage(f"There is no subscriber {subscriber_id}.")
    address = subscriber.email
    lists = sorted(s.mailing_list.slug for s in subscriber.subscriptions)
    suppress_because(session, address, ERASED_REASON)  # first: a send reading the reader now finds them blocked
    kept = ledger.forget_reader(session.connection(), subscriber_id)  # the same transaction
    _forget_bounces(session, subscriber_id, address)
    session.delete(subscriber)  # subscriptions and consent events cascade; ledger rows are unlinked
    audit.record(
        session,
        actor=actor,
        action="subscriber.erase",
        object_type="subscriber",
        object_id=subscriber_id,
        details={"lists": lists, "deliveries_kept": kept},
        ip=ip,
    )
    session.commit()
    return Erased(subscriber_id=subscriber_id, lists=lists, deliveries_kept=kept)


def _forget_bounces(session: Session, subscriber_id: int, address: str) -> None:
    """The reader's bounce reports keep their kind and status (figures) and lose the text, which quotes the address."""
    mine = or_(Bounce.subscriber_id == subscriber_id, Bounce.recipient_hash == address_hash(address))
    session.execute(update(Bounce).where(mine).values(diagnostic=None, raw=None))

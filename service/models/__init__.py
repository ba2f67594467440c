"""SQLAlchemy 2.0 models shared by every concept; a concept's own tables live in its package (service.ops.schema)."""

from __future__ import annotations

# in the order the tables were declared when this was one module, which Base.metadata.tables keeps
# isort: off
from service.models.base import Base, as_utc, utcnow
from service.models.lists import ListCategory, MailingList
from service.models.subscribers import ConsentEvent, Subscriber, Subscription, SubscriptionStatus, Suppression
from service.models.stories import Feed, Item, Story
from service.models.editions import Delivery, DeliveryStatus, Edition, EditionStatus
# isort: on

__all__ = [
    "Base",
    "ConsentEvent",
    "Delivery",
    "DeliveryStatus",
    "Edition",
    "EditionStatus",
    "Feed",
    "Item",
    "ListCategory",
    "MailingList",
    "Story",
    "Subscriber",
    "Subscription",
    "SubscriptionStatus",
    "Suppression",
    "as_utc",
    "utcnow",
]

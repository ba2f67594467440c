"""SQLAlchemy 2.0 models; the one import path callers use, whichever module of the package declares a name."""

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

# Last, once every name above is bound: these modules import from service.models themselves.
import service.admin.models  # noqa: F401 - registers the admin tables on Base.metadata (migrations, tests)
from service.bounces import models as _bounce_models  # noqa: F401 - registers the bounces table
from service.branding import models as _branding_models  # noqa: F401 - registers the branding tables
from service.delivery import leases as _leases  # noqa: F401 - registers delivery_leases
from service.delivery import reply_counts as _reply_counts  # noqa: F401 - registers edition_reply_counts
from service.delivery import rollup as _rollup  # noqa: F401 - registers edition_rollups

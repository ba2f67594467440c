"""The signed links every email carries: confirm, unsubscribe (one list or all), preferences."""

from __future__ import annotations

from collections.abc import Sequence

from service.core.config import Settings
from service.core.tokens import Purpose, make_token


def confirm_url(settings: Settings, subscriber_id: int, list_ids: Sequence[int]) -> str:
    """Link to the page whose button confirms these subscriptions."""
    token = make_token(settings.secret_key, Purpose.confirm, {"s": subscriber_id, "l": list(list_ids)})
    return f"{settings.base_url}/confirm/{token}"


def unsubscribe_url(settings: Settings, subscriber_id: int, list_id: int | None) -> str:
    """One-click unsubscribe link (RFC 8058) for one list, or every list when list_id is None."""
    token = make_token(settings.secret_key, Purpose.unsubscribe, {"s": subscriber_id, "l": list_id})
    return f"{settings.base_url}/unsubscribe/{token}"


DATA_LINK_SECONDS = 3600  # a data link is for now: a forwarded email must not open a reader's data later


def data_url(settings: Settings, subscriber_id: int) -> str:
    """Link to the reader's data page (download, delete), mailed on request; read with max_age=DATA_LINK_SECONDS."""
    token = make_token(settings.secret_key, Purpose.data, {"s": subscriber_id})
    return f"{settings.base_url}/my-data/{token}"


def preferences_url(settings: Settings, subscriber_id: int) -> str:
    """Link to the no-login preferences page."""
    token = make_token(settings.secret_key, Purpose.preferences, {"s": subscriber_id})
    return f"{settings.base_url}/preferences/{token}"

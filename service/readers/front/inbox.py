"""The check-your-inbox step: what was just submitted, carried in a short-lived signed cookie (never in the URL)."""

from __future__ import annotations

from dataclasses import dataclass

from service.core.errors import ServiceError
from service.core.tokens import Purpose, make_token, read_signed

INBOX_COOKIE = "nl_inbox"
INBOX_MAX_AGE = 2 * 3600  # long enough to find the email; a stale page asks to subscribe again


@dataclass(frozen=True)
class PendingRequest:
    """The request a resend repeats, and how the last resend went ('sent', or the seconds to wait)."""

    address: str
    lists: list[str]
    name: str = ""
    timezone: str = ""
    resent: str = ""
    wait: int = 0

    def sign(self, secret_key: str) -> str:
        """The cookie's value."""
        return make_token(
            secret_key,
            Purpose.inbox,
            {"a": self.address, "l": self.lists, "n": self.name, "z": self.timezone, "r": self.resent, "w": self.wait},
        )


def read_pending(secret_key: str, token: str | None) -> PendingRequest | None:
    """The request a cookie carries, or None when it is missing, forged or older than INBOX_MAX_AGE."""
    if not token:
        return None
    try:
        data = read_signed(secret_key, Purpose.inbox, token, max_age=INBOX_MAX_AGE)
    except ServiceError:  # a forged or stale cookie is simply no cookie
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), str) or not isinstance(data.get("l"), list):
        return None
    return PendingRequest(
        address=data["a"],
        lists=[str(s) for s in data["l"]],
        name=str(data.get("n") or ""),
        timezone=str(data.get("z") or ""),
        resent=str(data.get("r") or ""),
        wait=int(data.get("w") or 0),
    )

"""Domain errors: plain exceptions, mapped to HTTP statuses in one place (service.web.errors)."""


class ServiceError(Exception):
    """Base of every error a user can cause; `code` is stable for the JSON API."""

    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    """A field that cannot be accepted as it is."""

    code = "invalid_input"


class InvalidAddress(InvalidInput):
    """An email address that email-validator rejects."""

    code = "invalid_address"


class UnknownList(ServiceError):
    """A list slug that does not exist."""

    code = "unknown_list"


class UnknownPage(ServiceError):
    """A URL that names nothing we serve."""

    code = "not_found"


class InvalidToken(ServiceError):
    """A link token that was tampered with, or made for another purpose."""

    code = "invalid_token"


class ExpiredToken(ServiceError):
    """A link token that was genuine but is too old."""

    code = "expired_token"


class RateLimited(ServiceError):
    """Too many requests from one IP or for one address."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after  # seconds until the window resets, for the Retry-After header


class ServiceUnavailable(ServiceError):
    """A collaborator (the broker, the database) is down: the request was not taken, it may be retried."""

    code = "service_unavailable"


class NotAuthorised(ServiceError):
    """A missing, wrong or revoked admin token, or an ended admin session."""

    code = "not_authorised"


class SignInRequired(NotAuthorised):
    """A browser without a live admin session: the UI sends it to the login page, the API answers 401."""


class Forbidden(ServiceError):
    """Signed in, but the role does not allow this (a viewer asking to change something)."""

    code = "forbidden"


class Conflict(ServiceError):
    """Someone else changed the thing since the caller read it (an edition two editors saved at once)."""

    code = "conflict"

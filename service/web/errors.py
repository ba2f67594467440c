"""Domain errors to HTTP, in one place: a JSON body under /api, a friendly page elsewhere."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse

from service.errors import (
    ExpiredToken,
    Forbidden,
    InvalidInput,
    InvalidToken,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    SignInRequired,
    UnknownList,
    UnknownPage,
)
from service.web.middleware import BodyTooLarge, RequestTimeout
from service.web.security import CsrfFailed

STATUS = [
    (InvalidInput, 422),
    (UnknownList, 404),
    (UnknownPage, 404),
    (ExpiredToken, 410),
    (InvalidToken, 400),
    (RateLimited, 429),
    (CsrfFailed, 403),
    (Forbidden, 403),
    (BodyTooLarge, 413),
    (RequestTimeout, 408),
    (ServiceUnavailable, 503),
]
STATUS_BY_CODE = {"not_authorised": 401}
TITLES = {400: "This link is not valid", 403: "Please reload the form", 404: "Not found", 408: "Too slow",
          410: "This link has expired", 413: "Too much data", 422: "Please check your input", 429: "Slow down",
          503: "Please try again later"}


def status_for(error: ServiceError) -> int:
    """The HTTP status for a domain error."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    return next((status for kind, status in STATUS if isinstance(error, kind)), 400)


def render_service_error(request: Request, error: ServiceError, status: int | None = None):
    """JSON for API clients, an HTML page for people."""
    status = status or status_for(error)
    headers = _headers_for(error, status)
    if isinstance(error, SignInRequired) and not request.url.path.startswith("/api/"):
        return RedirectResponse(f"/admin/login?next={quote(request.url.path)}", status_code=303)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": error.code, "detail": error.message}, status_code=status, headers=headers)
    templates = request.app.state.templates
    title = "Not allowed" if isinstance(error, Forbidden) else TITLES.get(status, "Something went wrong")
    context = {"title": title, "message": error.message, "error": True}
    return templates.TemplateResponse(request, "message.html", context, status_code=status, headers=headers)


def validation_error_response(request: Request, error: RequestValidationError):
    """FastAPI's own 422 echoes the input back and fails on what JSON cannot carry (NaN, lone surrogates)."""
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path"))
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    text = "; ".join(problems).encode("utf-8", "replace").decode("utf-8")
    return render_service_error(request, InvalidInput(text or "The request is not valid."))


def _headers_for(error: ServiceError, status: int) -> dict[str, str]:
    """What HTTP says must come with a 401 (the scheme) and should come with a 429 (when to retry)."""
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="newsletter admin"'}
    if isinstance(error, RateLimited) and error.retry_after:
        return {"Retry-After": str(error.retry_after)}
    return {}

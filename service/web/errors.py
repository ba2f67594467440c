"""Domain errors to HTTP, in one place: a JSON body under /api and for clients that ask for JSON, a page otherwise."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from service.core.errors import (
    Conflict,
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
from service.i18n.locales import N_
from service.web.deps import page_templates
from service.web.language import tr
from service.web.security import CONTENT_SECURITY_POLICY, BodyTooLarge, CsrfFailed, RequestTimeout

STATUS = [
    (InvalidInput, 422),
    (Conflict, 409),
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
TITLES = {
    400: N_("This link is not valid"),
    403: N_("Please reload the form"),
    404: N_("Not found"),
    408: N_("Too slow"),
    409: N_("Changed since you opened it"),
    410: N_("This link has expired"),
    413: N_("Too much data"),
    422: N_("Please check your input"),
    429: N_("Slow down"),
    500: N_("Something went wrong"),
    503: N_("Please try again later"),
}
HTML_TYPES = ("text/html", "application/xhtml+xml")
log = logging.getLogger(__name__)


def status_for(error: ServiceError) -> int:
    """The HTTP status for a domain error."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    return next((status for kind, status in STATUS if isinstance(error, kind)), 400)


def _quality(accept: str, wanted) -> float:
    """The highest q the Accept header gives any of the wanted types (exactly, as type/*, or as */*)."""
    best = 0.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        q = next((p.split("=", 1)[1] for p in params if p.lower().startswith("q=")), "1")
        try:
            weight = float(q)
        except ValueError:
            weight = 0.0
        kinds = {"*/*", *wanted, *(w.split("/")[0] + "/*" for w in wanted)}
        if media in kinds or (media.endswith("+json") and "application/json" in wanted):
            best = max(best, weight * (1.0 if media != "*/*" else 0.5))  # a named type beats a wildcard
    return best


def wants_json(request: Request) -> bool:
    """JSON under /api, and elsewhere for a client whose Accept prefers JSON to HTML (browsers name HTML)."""
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    if not accept:
        return False
    return _quality(accept, ("application/json",)) > _quality(accept, HTML_TYPES)


def render_service_error(request: Request, error: ServiceError, status: int | None = None):
    """JSON for API clients, an HTML page for people."""
    status = status or status_for(error)
    headers = _headers_for(error, status)
    json = wants_json(request)
    if isinstance(error, SignInRequired) and not json:
        return RedirectResponse(f"/admin/login?next={quote(request.url.path)}", status_code=303)
    if json:
        return JSONResponse({"error": error.code, "detail": error.message}, status_code=status, headers=headers)
    templates = page_templates(request)
    title = N_("Not allowed") if isinstance(error, Forbidden) else TITLES.get(status, TITLES[500])
    # Messages raised already translated pass through unchanged; the fixed ones are in the catalogs.
    context = {"title": tr(request, title), "message": tr(request, error.message), "error": True, "status": status}
    return templates.TemplateResponse(request, "error.html", context, status_code=status, headers=headers)


def server_error_response(request: Request, error: Exception):
    """A bug's answer: logged with its traceback here, and only a plain apology to the client, in its format."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    message = N_("Something went wrong on our side. It has been logged; please try again in a little while.")
    # Starlette answers from outside every middleware here, so the page brings its own security headers.
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
    if wants_json(request):
        return JSONResponse({"error": "internal_error", "detail": message}, status_code=500, headers=headers)
    try:
        page = render_service_error(request, ServiceError(message), status=500)
        page.headers.update(headers)
        return page
    except Exception:  # noqa: BLE001  (a broken page must not hide the first error behind a second one)
        return HTMLResponse(
            f"<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1><p>{message}</p>",
            status_code=500,
            headers=headers,
        )


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

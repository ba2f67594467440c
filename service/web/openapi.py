"""The OpenAPI document tells the truth: every error status a route can answer, our error body, the admin auth."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from service.core.addresses import MAX_ADDRESS_LENGTH
from service.lists.rules import LANGUAGE, SLUG
from service.stories import StoryIn

# The rules a field is checked by, stated in the document, so that a request the schema allows is not a 422.
SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")  # email-validator refuses these domains
_ANY_CASE = "|".join("".join(f"[{c}{c.upper()}]" for c in name) for name in SPECIAL_USE)
EmailAddress = Annotated[
    str,
    Field(
        min_length=3,
        max_length=MAX_ADDRESS_LENGTH,
        json_schema_extra={
            "format": "email",
            "pattern": f"^(?!.*[.@]({_ANY_CASE})\\.?$)",
        },  # in the schema only; the app runs email-validator
        description="An email address (checked with email-validator; no special-use domain such as .test)",
    ),
]
ListSlug = Annotated[
    str,
    Field(
        max_length=64,
        pattern=SLUG.pattern,
        description="A list's slug: lower-case letters, digits and dashes, e.g. world-news",
    ),
]
LanguageCode = Annotated[str, Field(max_length=3, pattern=LANGUAGE.pattern, description="ISO 639-1 code, e.g. en")]


class ErrorBody(BaseModel):
    """Every JSON error: a stable code for programs and a sentence for people."""

    error: str
    detail: str


class StoriesStored(BaseModel):
    """What POST /api/admin/stories did."""

    created: int
    updated: int


REASONS = {
    400: "Bad request: a tampered or unknown link token, or a body that is not JSON",
    401: "Missing or wrong bearer token",
    403: "Not allowed: the caller's role may not do this, or a form not sent from our own page (CSRF, Origin)",
    404: "Unknown list, edition or page",
    408: "The request body did not arrive in time",
    410: "The link has expired",
    413: "The request body is too large",
    422: "A field that cannot be accepted (the detail names it)",
    429: "Too many requests; see Retry-After",
    409: "Changed since you opened it: someone else saved first; reload and try again",
    503: "The service cannot take requests right now; try again later",
}
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": REASONS[code]} for code in (400, 401, 403, 408, 413, 422, 429)
}


def _codes(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from what it takes and where it lives."""
    codes: set[int] = set()
    if operation.get("parameters") or operation.get("requestBody"):
        codes.add(422)
    if method == "post":
        codes |= {408, 413}
    if "{token}" in path:
        codes |= {400, 410}
    if path.startswith(("/archive/", "/subscribe", "/api/subscriptions", "/preferences/")):
        codes.add(404)
    if method == "post" and not path.startswith("/api/") and path != "/unsubscribe/{token}":
        codes.add(403)
    if method == "post" and path in ("/subscribe", "/subscribe/resend", "/api/subscriptions"):
        codes |= {429, 503}
    if path.startswith("/api/admin/"):
        # 403: a viewer asking to change something, or a cookie without CSRF; 404: an id, or a list named in a
        # filter or body, that names nothing
        codes |= {400, 401, 403, 404, 429}
    return codes


# (method, path): (code, description, whether the redirect is the only success answer)
REDIRECTS = {
    ("post", "/subscribe"): ("303", "Taken: on to the check-your-inbox page (errors: the form again)", True),
    ("post", "/subscribe/resend"): ("303", "Back to the check-your-inbox page, which says what happened", True),
    ("post", "/preferences/{token}"): ("303", "Saved: back to the preferences page", False),
}


def _document_pages(schema: dict[str, Any]) -> None:
    """Pages answer HTML (the feed Atom), and some of them redirect; FastAPI would call them all JSON."""
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/api/") or path == "/healthz":
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if (method, path) in REDIRECTS:
                code, description, only = REDIRECTS[(method, path)]
                responses[code] = {"description": description}
                if only:
                    responses.pop("200", None)
            media = "application/atom+xml" if path.endswith(".xml") else "text/html"
            for code, response in responses.items():
                if code.startswith("2"):
                    response["content"] = {media: {"schema": {"type": "string"}}}


def _document_errors(schema: dict[str, Any]) -> None:
    """Add the error responses to every operation: JSON bodies under /api, pages elsewhere."""
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own HTTPValidationError shape is not what we answer
            for code in sorted(_codes(method, path, operation)):
                content = (
                    {"application/json": {"schema": error_ref}}
                    if path.startswith("/api/")
                    else {"text/html": {"schema": {"type": "string"}}}
                )
                responses.setdefault(str(code), {"description": REASONS[code], "content": content})
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def describe(app: FastAPI) -> None:
    """Replace the app's OpenAPI builder with one that documents our errors and the admin story schema."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version="1",
                routes=app.routes,
                description="Subscribe, confirm, preferences and unsubscribe pages and their JSON "
                "twin; the admin API takes `Authorization: Bearer <token>` (an API "
                "token or ADMIN_TOKEN), or a signed-in admin's session cookie with "
                "its CSRF token in `X-CSRF-Token` on changes.",
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["ErrorBody"] = ErrorBody.model_json_schema()
            components["StoryIn"] = StoryIn.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in components["StoryIn"].pop("$defs", {}).items():
                components.setdefault(name, definition)
            _document_pages(schema)
            _document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]

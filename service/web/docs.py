"""The API reference at /docs: Swagger UI from our own origin (swagger-ui-bundle), so no CDN and a strict CSP."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(include_in_schema=False)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>"""
INIT = """window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: false, presets: [SwaggerUIBundle.presets.apis]});"""


@router.get("/docs")
def docs() -> HTMLResponse:
    """The interactive reference; "Authorize" takes an API token or ADMIN_TOKEN for the admin operations."""
    return HTMLResponse(PAGE.format(title="Newsletter"))


@router.get("/docs/init.js")
def docs_script() -> Response:
    """Swagger UI's start-up, as a file: the CSP allows scripts from our origin only, none inline."""
    return Response(INIT, media_type="text/javascript")


@router.get("/api/docs")
def old_docs_address() -> RedirectResponse:
    """Where the reference used to live."""
    return RedirectResponse("/docs", status_code=308)


def mount(app: FastAPI) -> None:
    """The reference page, its script and Swagger UI's own files."""
    app.mount("/docs/static", StaticFiles(directory=swagger_ui_path), name="docs-static")
    app.include_router(router)

"""The admin side: sign-in, the server-rendered UI under /admin and the JSON API under /api/admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from service.core.config import Settings
from service.web.admin import (
    accounts,
    audit_log,
    branding,
    dashboard,
    drafts,
    edition_previews,
    editions,
    feeds,
    imports,
    lists,
    login,
    stories,
    subscribers,
    suppressions,
    tokens,
)
from service.web.admin.api import audit as api_audit
from service.web.admin.api import bounces as api_bounces
from service.web.admin.api import dashboard as api_dashboard
from service.web.admin.api import drafts as api_drafts
from service.web.admin.api import editions as api_editions
from service.web.admin.api import feeds as api_feeds
from service.web.admin.api import imports as api_imports
from service.web.admin.api import lists as api_lists
from service.web.admin.api import stories as api_stories
from service.web.admin.api import subscribers as api_subscribers
from service.web.admin.api import suppressions as api_suppressions
from service.web.admin.api import tokens as api_tokens
from service.web.deps import current_admin

UI_MODULES = (
    dashboard,
    lists,
    subscribers,
    imports,
    stories,
    feeds,
    drafts,
    editions,
    edition_previews,
    suppressions,
    tokens,
    audit_log,
    accounts,
    branding,
)
API_MODULES = (
    api_dashboard,
    api_drafts,
    api_editions,
    api_lists,
    api_subscribers,
    api_imports,
    api_suppressions,
    api_stories,
    api_feeds,
    api_tokens,
    api_audit,
    api_bounces,
)


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the admin routes, every one of them behind current_admin, and the admin's templates and assets."""
    app.state.admin_templates = Jinja2Templates(directory=str(settings.templates_dir / "admin"))
    app.mount(
        "/admin/static", StaticFiles(directory=str(settings.templates_dir / "admin" / "static")), name="admin-static"
    )
    app.include_router(login.router)
    ui = APIRouter(dependencies=[Depends(current_admin)], include_in_schema=False)  # modules carry "/admin"
    for module in UI_MODULES:
        ui.include_router(module.router)
    app.include_router(ui)
    api = APIRouter(prefix="/api/admin", dependencies=[Depends(current_admin)], tags=["admin"])
    for module in API_MODULES:
        api.include_router(module.router)
    app.include_router(api)

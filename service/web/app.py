"""The FastAPI application factory: wiring only (settings, templates, middleware, error mapping)."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates

from service.config import Settings, get_settings
from service.errors import ServiceError
from service.ratelimit import SubscribeLimiter
from service.subscriptions import Notifier
from service.web import admin_api, api, archive, pages
from service.web.errors import render_service_error
from service.web.security import BodySizeLimit


def create_app(settings: Settings | None = None, notifier: Notifier | None = None) -> FastAPI:
    """Build the web app for these settings; the notifier defaults to Celery tasks."""
    settings = settings or get_settings()
    if notifier is None:
        from service.tasks import CeleryNotifier

        notifier = CeleryNotifier()
    app = FastAPI(title="World News daily", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.settings = settings
    app.state.notifier = notifier
    app.state.templates = Jinja2Templates(directory=str(settings.templates_dir / "pages"))
    app.state.limiter = SubscribeLimiter(
        settings.effective_rate_limit_storage_url,
        settings.subscribe_limit_per_ip,
        settings.subscribe_limit_per_address,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       path_limits={"/api/admin/": settings.max_admin_body_bytes})

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, error: ServiceError):
        return render_service_error(request, error)

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(archive.router)
    app.include_router(admin_api.router)
    return app

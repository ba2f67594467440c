"""The FastAPI application factory: wiring only (settings, templates, middleware, error mapping)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.core.config import Settings, get_settings
from service.core.errors import ServiceError, UnknownPage
from service.core.ratelimit import FailureThrottle, LoginThrottle, SubscribeLimiter
from service.i18n.locales import N_
from service.readers.subscriptions.joining import Notifier
from service.web import admin, api, archive, bounces, branding, docs, front, my_data, openapi, pages, story_pages
from service.web.errors import render_service_error, server_error_response, validation_error_response
from service.web.language import PageTemplates
from service.web.methods import AllowedMethods
from service.web.middleware import GuardedBody, SecurityHeaders
from service.web.monitoring import router as monitoring_router
from service.web.page_render import brand_context


def create_app(settings: Settings | None = None, notifier: Notifier | None = None) -> FastAPI:
    """Build the web app for these settings; the notifier defaults to Celery tasks."""
    settings = settings or get_settings()
    if notifier is None:
        from service.readers.tasks import CeleryNotifier

        notifier = CeleryNotifier()
    app = FastAPI(title="World News daily", docs_url=None, openapi_url="/api/openapi.json", redoc_url=None)
    app.state.settings = settings
    app.state.notifier = notifier
    app.state.templates = PageTemplates(settings.templates_dir / "pages", context_processors=[brand_context])
    app.state.limiter = SubscribeLimiter(
        settings.effective_rate_limit_storage_url,
        settings.subscribe_limit_per_ip,
        settings.subscribe_limit_per_address,
        namespace=settings.task_queue,
        resend=settings.subscribe_resend_limit,
    )
    app.state.admin_throttle = FailureThrottle(
        settings.effective_rate_limit_storage_url, settings.admin_auth_limit, namespace=settings.task_queue
    )
    app.state.login_throttle = LoginThrottle(
        settings.effective_rate_limit_storage_url, settings.admin_login_limit, namespace=settings.task_queue
    )
    app.add_middleware(
        GuardedBody,
        max_bytes=settings.max_body_bytes,
        timeout=settings.request_timeout_seconds,
        path_limits={
            "/api/admin/": settings.max_admin_body_bytes,
            "/admin/": settings.max_admin_body_bytes,
            "/admin/subscribers/import": settings.import_max_bytes,
            "/api/admin/imports": settings.import_max_bytes,
            "/api/bounces": settings.max_admin_body_bytes,
        },
    )  # a bounce quotes its message
    app.add_middleware(AllowedMethods)
    app.add_middleware(SecurityHeaders, hsts=settings.base_url.lower().startswith("https://"))

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, error: ServiceError):
        return render_service_error(request, error)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError):
        return validation_error_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException):
        """Unknown URLs and wrong methods answer in our shape too: a page for people, JSON under /api."""
        if error.status_code == 404:
            return render_service_error(request, UnknownPage(N_("There is no page at this address.")))
        response = render_service_error(request, ServiceError(str(error.detail)), status=error.status_code)
        response.headers.update(error.headers or {})
        return response

    app.include_router(front.router)
    app.add_exception_handler(Exception, server_error_response)  # a bug: a page or JSON, never a traceback
    app.include_router(pages.router)
    app.include_router(my_data.router)
    app.include_router(branding.router)
    app.mount("/static", StaticFiles(directory=str(settings.templates_dir / "pages" / "static")), name="static")
    app.include_router(api.router)
    app.include_router(bounces.router)
    app.include_router(monitoring_router)
    app.include_router(archive.router)
    app.include_router(story_pages.router)
    admin.mount(app, settings)
    docs.mount(app)
    openapi.describe(app)
    return app

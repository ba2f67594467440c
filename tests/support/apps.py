"""One web app per configuration for the whole session: create_app costs 0.3 s (FastAPI builds every route)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.core.config import Settings
from service.web.app import create_app

_BUILT: dict[tuple[str, type], tuple[FastAPI, dict[str, Any]]] = {}


def shared_app(settings: Settings, notifier: object | None = None) -> FastAPI:
    """The app for these settings, as create_app left it (what a test put on app.state is undone).

    A notifier with state of its own (one that records) gets an app of its own; the stateless ones (the tests'
    NoMail classes, the default Celery notifier) are shared by class.
    """
    if notifier is not None and vars(notifier):
        return create_app(settings, notifier=notifier)  # type: ignore[arg-type]
    key = (settings.model_dump_json(), type(notifier))
    if key not in _BUILT:
        app = create_app(settings, notifier=notifier)  # type: ignore[arg-type]
        _BUILT[key] = (app, dict(app.state._state))
    app, pristine = _BUILT[key]
    app.state._state.clear()
    app.state._state.update(pristine)
    return app

"""Admin screen: the dashboard, where today's sends, queues, workers and what needs a person are seen at once."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from fastapi import APIRouter, Request

from service.admin.models import AdminRole
from service.models import utcnow
from service.ops.monitoring import failures, figures, upcoming
from service.web.admin.auth import readable_by_viewers
from service.web.admin.edition_actions import progress_state
from service.web.admin.render import masked, page
from service.web.admin.status import current_status
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")


@router.get("")
@readable_by_viewers
def dashboard(request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Today's and upcoming editions with live progress, queues, workers, beat, failures and audience change."""
    now = utcnow()
    status = current_status(request, settings)  # network probes, shared for a few seconds; the ledger figures are fresh
    catchup = timedelta(hours=settings.dispatch_catchup_hours)  # a list just created shows at once
    status = dataclasses.replace(status, next_sends=upcoming.next_sends(session, now=now, catchup=catchup))
    return page(
        request,
        "dashboard.html",
        title="Dashboard",
        status=status,
        editions=figures.active_editions(session, now=now),
        failures=failures.recent_failures(session, limit=10),
        audience=upcoming.audience_change(session, days=7, now=now),
        progress_state=progress_state,
        email_of=(lambda email: email) if admin.may(AdminRole.admin) else masked,
    )

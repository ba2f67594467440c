"""Admin screen: the dashboard (being built)."""
from fastapi import APIRouter, Request

from service.web.admin.auth import CurrentAdmin, readable_by_viewers
from service.web.admin.render import page

router = APIRouter(prefix="/admin")


@router.get("")
@readable_by_viewers
def dashboard(request: Request, admin: CurrentAdmin):
    """Today's editions, queues and workers at a glance."""
    return page(request, "dashboard.html", title="Dashboard")

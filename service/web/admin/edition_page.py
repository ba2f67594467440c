"""One edition's admin page, rendered by the editions screen and the draft editor alike."""

from __future__ import annotations

from datetime import date

from fastapi import Request
from sqlalchemy.orm import Session

from service.admin.models import AdminRole
from service.core.config import Settings
from service.delivery.audience import send_facts
from service.editions import send_moment
from service.editions.drafts import SEND_MODES, is_held
from service.editions.view import draft_view
from service.models import Edition, EditionStatus, MailingList, utcnow
from service.ops.monitoring.failures import recent_failures
from service.ops.monitoring.figures import EditionFigures, edition_figures
from service.web.admin.edition_actions import day_query, progress_state
from service.web.admin.render import masked, page
from service.web.deps import CurrentAdmin


def edition_page(
    request: Request,
    admin: CurrentAdmin,
    session: Session,
    settings: Settings,
    mailing_list: MailingList,
    day: date,
    edition: Edition | None,
    *,
    test_error: str | None = None,
    test_address: str | None = None,
    edit_error: str | None = None,
    status_code: int = 200,
):
    """One edition's page: a draft's editor, or a sent one's figures; any unsent one can be tested or sent."""
    started = edition is not None and edition.send_status != EditionStatus.draft
    frozen = edition is not None and not edition.is_draft  # sending, sent, or approved: its figures mean something
    figures: EditionFigures | None = edition_figures(session, edition.id) if frozen and edition else None
    failures = recent_failures(session, edition_id=edition.id, limit=100) if edition else []
    status = edition.send_status if edition else "not built"
    is_admin = admin.may(AdminRole.admin)
    base = f"/admin/editions/{edition.id}" if edition else "/admin/editions/day"
    suffix = "" if edition else f"?{day_query(mailing_list, day)}"
    return page(
        request,
        "editions/edition.html",
        status_code=status_code,
        title=edition.subject if edition else f"{mailing_list.name} · {day}",
        mailing_list=mailing_list,
        day=day,
        edition=edition,
        figures=figures,
        status=status,
        progress=progress_state(figures) if figures else None,
        failures=failures,
        is_admin=is_admin,
        email_of=(lambda email: email) if is_admin else masked,
        preview_url=f"{base}/preview.html{suffix}",
        text_url=f"{base}/text{suffix}",
        can_send=edition is None or status == EditionStatus.draft,
        draft=draft_view(session, settings, edition) if edition else None,
        edit_error=edit_error,
        facts=send_facts(session, settings, mailing_list, day) if not started else None,
        held=is_held(mailing_list, edition),
        send_modes=SEND_MODES,
        due_at=send_moment(mailing_list, day),
        now_utc=utcnow(),
        can_pause=status == EditionStatus.sending,
        can_resume=status == EditionStatus.paused,
        can_cancel=status in (EditionStatus.draft, EditionStatus.sending, EditionStatus.paused),
        can_retry=bool(figures and figures.failed)
        and status in (EditionStatus.sending, EditionStatus.paused, EditionStatus.complete),
        test_error=test_error,
        test_address=test_address if test_address is not None else (admin.name if "@" in admin.name else ""),
    )

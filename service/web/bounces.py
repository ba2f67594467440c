"""POST /api/bounces: an MTA or a mail provider's webhook hands over one raw bounce or complaint.

Left out of the OpenAPI document on purpose: its body is a raw message/rfc822, not JSON, and its
callers are mail servers configured once by an operator (see README, "Bounces and complaints").
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.core.config import Settings
from service.core.errors import InvalidInput, NotAuthorised
from service.web.deps import SessionDep, SettingsDep

router = APIRouter()


def _check_token(request: Request, settings: Settings) -> None:
    """Bearer BOUNCE_API_TOKEN, compared in constant time; without a configured token nobody gets in."""
    expected = settings.bounce_api_token
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise NotAuthorised("POST /api/bounces needs `Authorization: Bearer <BOUNCE_API_TOKEN>`.")


@router.post("/api/bounces", status_code=202, include_in_schema=False)
async def take_bounce(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Store and apply one raw message (Content-Type message/rfc822); 202 with what it did."""
    from service.bounce_intake.process import ingest

    _check_token(request, settings)
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput("The body must be one raw bounce or complaint message (message/rfc822).")
    envelope_to = request.headers.get("x-envelope-to")

    def take() -> list:
        """The database work, off the event loop."""
        found = ingest(session, raw, settings=settings, source="api", envelope_to=envelope_to)
        session.commit()
        return found

    taken = await run_in_threadpool(take)
    return JSONResponse(
        {
            "status": "accepted",
            "reports": [
                {
                    "kind": item.kind,
                    "recipient": item.recipient,
                    "status": item.status,
                    "matched_by": item.matched_by,
                    "action": item.action,
                }
                for item in taken
            ],
        },
        status_code=202,
    )

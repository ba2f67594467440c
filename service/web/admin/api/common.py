"""What the JSON API's handlers share: path and query parameters, and dataclasses answered as JSON."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from service.models import as_utc
from service.readers.subscribers import search
from service.web.admin.inputs import LARGEST_ID
from service.web.openapi import EmailAddress

Id = Annotated[int, Path(ge=1, le=LARGEST_ID)]

After = Annotated[int | None, Query(ge=1, le=LARGEST_ID, description="`next_after` of the previous page")]

Limit = Annotated[int, Query(ge=1, le=search.MAX_LIMIT)]

Address = EmailAddress

Reason = Annotated[str, Field(min_length=1, max_length=200, description="Why (kept in the audit log)")]


def json_response(value: Any, status_code: int = 200) -> JSONResponse:
    """A dataclass (or a dict of them) as JSON, dates in ISO 8601."""

    def plain(item: Any) -> Any:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return {f.name: plain(getattr(item, f.name)) for f in dataclasses.fields(item)}
        if isinstance(item, dict):
            return {key: plain(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [plain(inner) for inner in item]
        if isinstance(item, datetime):
            return as_utc(item).isoformat()  # SQLite hands back naive UTC: say so (RFC 3339 wants an offset)
        return item.isoformat() if isinstance(item, date) else item

    return JSONResponse(plain(value), status_code=status_code)

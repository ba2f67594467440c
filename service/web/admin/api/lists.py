"""Admin JSON API for lists: the overview, create, change and archive (the same rules as the screen and CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.admin import audit
from service.editions.drafts import SEND_MODES
from service.i18n.locales import LANGUAGES
from service.lists import changes as list_changes
from service.lists import rules as list_rules
from service.models import MailingList, as_utc
from service.web.admin.auth import readable_by_viewers
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep
from service.web.openapi import ADMIN_ERRORS, LanguageCode, ListSlug

router = APIRouter()
Slug = Annotated[str, Path(pattern=list_rules.SLUG.pattern, description="The list's slug, e.g. world-news")]
SendTime = Annotated[str, Field(pattern=r"^[0-9]{1,2}:[0-9]{2}$", description="HH:MM in the list's time zone")]
Words = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=50)]
Languages = Annotated[list[LanguageCode], Field(min_length=1, max_length=50)]

MODE_HELP = "; ".join(f"{mode}: {words}" for mode, words in SEND_MODES.items())
SendMode = Literal["auto", "hold"]  # SEND_MODES' keys, stated in the spec; set_send_mode checks them again
LANGUAGE_HELP = f"Its emails' and pages' language, one of {', '.join(LANGUAGES)}; null: its first story language"
# The spec states the catalogs' codes, so a client learns them from it; clean_language checks them again.
ListLanguage = Annotated[str, Field(pattern=f"^({'|'.join(LANGUAGES)})?$")]


class ListOut(BaseModel):
    """A list's settings, state and confirmed readers."""

    slug: str
    name: str
    description: str
    send_time: str
    timezone: str
    local_time_delivery: bool
    double_opt_in: bool
    categories: list[str]
    languages: list[str]
    language: str = Field(description="The language its emails and pages speak")
    language_set: str | None = Field(description="The language chosen for it; null: its first story language's")
    send_mode: SendMode = Field(description=MODE_HELP)
    archived: bool
    archived_at: datetime | None
    confirmed_readers: int


class ListIn(BaseModel):
    """A new list (the slug is its stable public identifier)."""

    slug: ListSlug
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    send_time: SendTime = "07:00"
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone, e.g. Europe/London")
    local_time_delivery: bool = False
    double_opt_in: bool = True
    categories: Words = Field(default_factory=list, description="Story categories it carries; empty: all")
    languages: Languages = Field(default_factory=lambda: ["en"], description="ISO 639-1 codes")
    language: ListLanguage | None = Field(default=None, description=LANGUAGE_HELP)
    send_mode: SendMode = Field(default="auto", description=MODE_HELP)


class ListChange(BaseModel):
    """The settings to change; those left out (or null) stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    send_time: SendTime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    local_time_delivery: bool | None = None
    double_opt_in: bool | None = None
    categories: Words | None = None
    languages: Languages | None = None
    language: ListLanguage | None = Field(default=None, description=LANGUAGE_HELP + " ('' to follow them)")
    send_mode: SendMode | None = Field(default=None, description=MODE_HELP)


def list_out(mailing_list: MailingList, readers: int) -> dict[str, Any]:
    """The JSON of a list."""
    return {
        "slug": mailing_list.slug,
        "name": mailing_list.name,
        "description": mailing_list.description,
        "send_time": mailing_list.send_time.strftime("%H:%M"),
        "timezone": mailing_list.timezone,
        "local_time_delivery": mailing_list.local_time_delivery,
        "double_opt_in": mailing_list.double_opt_in,
        "categories": mailing_list.categories,
        "languages": list(mailing_list.languages or []),
        "language": mailing_list.locale,
        "language_set": mailing_list.language,
        "send_mode": mailing_list.send_mode,
        "archived": mailing_list.archived_at is not None,
        "archived_at": as_utc(mailing_list.archived_at).isoformat() if mailing_list.archived_at else None,
        "confirmed_readers": readers,
    }


def _answer(session: Session, slug: str, status_code: int = 200) -> JSONResponse:
    """One list as the overview shows it."""
    row = next((ml, readers) for ml, readers in list_rules.lists_with_readers(session) if ml.slug == slug)
    return JSONResponse(list_out(*row), status_code=status_code)


@router.get("/lists", response_model=list[ListOut], responses=ADMIN_ERRORS)
@readable_by_viewers
def get_lists(admin: CurrentAdmin, session: SessionDep):
    """Every list, archived ones included, by slug."""
    return JSONResponse([list_out(ml, readers) for ml, readers in list_rules.lists_with_readers(session)])


@router.post("/lists", status_code=201, response_model=ListOut, responses=ADMIN_ERRORS)
def post_list(body: ListIn, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Create a list; 422 names what cannot be accepted (a taken slug, an unknown time zone, a bad send mode...)."""
    created = list_rules.create_list(
        session,
        **body.model_dump(exclude={"send_time"}),
        send_time=list_rules.parse_send_time(body.send_time),
        actor=admin.name,
        ip=client_ip(request),
        via="api",
    )
    return _answer(session, created.slug, 201)


@router.patch("/lists/{slug}", response_model=ListOut, responses=ADMIN_ERRORS)
def patch_list(slug: Slug, body: ListChange, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Change some of a list's settings."""
    changes = body.model_dump(exclude_none=True)
    list_changes.update_list(session, slug, actor=admin.name, ip=client_ip(request), **changes)
    return _answer(session, slug)


@router.post("/lists/{slug}/archive", response_model=ListOut, responses=ADMIN_ERRORS)
def post_archive(slug: Slug, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Archive a list: no new readers, no editions, hidden from the public pages (idempotent)."""
    list_changes.archive_list(session, slug)
    audit.record(
        session,
        actor=admin.name,
        action="list.archive",
        object_type="list",
        object_id=slug,
        details={"via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return _answer(session, slug)


@router.post("/lists/{slug}/unarchive", response_model=ListOut, responses=ADMIN_ERRORS)
def post_unarchive(slug: Slug, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Open an archived list again."""
    list_changes.unarchive_list(session, slug)
    audit.record(
        session,
        actor=admin.name,
        action="list.unarchive",
        object_type="list",
        object_id=slug,
        details={"via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return _answer(session, slug)

"""The two formats hand-written stories arrive in: the seed text format and JSON (validated, not yet stored)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.core.errors import InvalidInput
from service.stories.links import LOOKS_LIKE_LINK, web_link

SUMMARY_LINE = re.compile(r"^Summary based on (\d+) sources?$", re.IGNORECASE)
CATEGORY_LINE = re.compile(r"^Get a daily email with more (.+?) stories$", re.IGNORECASE)
DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y-%m-%d")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # all but tab: no NUL (PostgreSQL), no line breaks
TITLE_MAX, CATEGORY_MAX = 500, 100  # the column sizes of stories.title and stories.category


class StoryFormatError(InvalidInput):
    """A story file that does not follow its format; names the file and the line."""

    code = "story_format"

    def __init__(self, where: str, line: int | None, problem: str):
        super().__init__(f"{where}, line {line}: {problem}" if line else f"{where}: {problem}")
        self.where, self.line, self.problem = where, line, problem


@dataclass
class StoryInput:
    """A story as parsed from any source, before it is stored."""

    title: str
    category: str
    key_points: list[str]
    source_count: int
    sources: list[dict[str, str | None]] = field(default_factory=list)
    story_date: date | None = None
    link: str | None = None
    origin: str = "file"
    origin_ref: str = ""
    external_id: str | None = None
    language: str | None = None  # ISO 639-1; None: fit for any list

    def dedup_key(self) -> str:
        """Same external id (or, without one, same title and date) means the same story."""
        if self.external_id:
            basis = f"id:{self.origin_ref if self.origin == 'feed' else ''}#{self.external_id}"
        else:
            basis = f"story:{' '.join(self.title.casefold().split())}|{self.story_date or ''}"
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def parse_story_date(raw: str) -> date:
    """Dates as the seed files write them ("March 6, 2026"), plus ISO."""
    cleaned = " ".join(raw.replace(",", ", ").split()).replace(" ,", ",")
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {raw!r}")


def parse_seed_text(text: str, where: str = "<text>") -> StoryInput:
    """Parse the seed format: title, date, key points, summary line, category line, Sources, pairs."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    numbered = [(number, line) for number, line in enumerate(lines, start=1)]
    for number, line in numbered:
        if bad := CONTROL_CHARS.search(line):
            raise StoryFormatError(where, number, f"control character U+{ord(bad.group()):04X} in the text")
    content = [(n, line) for n, line in numbered if line.strip()]
    if len(content) < 2:
        problem = "the file is empty" if not content else "expected a title line and then a date line"
        raise StoryFormatError(where, content[0][0] if content else 1, problem)
    (title_line_no, title), (date_line_no, date_text) = content[0], content[1]
    if len(title.strip()) > TITLE_MAX:
        raise StoryFormatError(where, title_line_no, f"the title is longer than {TITLE_MAX} characters")
    if _is_date(title.strip()):
        raise StoryFormatError(where, title_line_no, "expected the title line, found a date")
    try:
        story_date = parse_story_date(date_text.strip())
    except ValueError:
        raise StoryFormatError(
            where, date_line_no, f"expected a date like 'March 6, 2026', found {date_text.strip()!r}"
        ) from None
    summary = next(
        ((i, found) for i, (_, line) in enumerate(content) if (found := SUMMARY_LINE.match(line.strip()))), None
    )
    if summary is None:
        later = (n for n, line in content if CATEGORY_LINE.match(line.strip()) or line.strip().lower() == "sources")
        after = next(later, None)
        raise StoryFormatError(
            where,
            after or content[-1][0],
            "missing the 'Summary based on N sources' line "
            + ("before this line" if after else "after the key points"),
        )
    summary_at, summary_line = summary
    points = [line.strip() for _, line in content[2:summary_at]]
    if not points:
        raise StoryFormatError(where, content[summary_at][0], "no key points before 'Summary based on N sources'")
    source_count = int(summary_line.group(1))
    rest = content[summary_at + 1 :]
    category_line = CATEGORY_LINE.match(rest[0][1].strip()) if rest else None
    if category_line is None:
        line_no = rest[0][0] if rest else content[summary_at][0]
        raise StoryFormatError(where, line_no, "expected 'Get a daily email with more <category> stories'")
    category = category_line.group(1).strip()
    if len(category) > CATEGORY_MAX:
        raise StoryFormatError(where, rest[0][0], f"the category is longer than {CATEGORY_MAX} characters")
    if len(rest) < 2 or rest[1][1].strip().lower() != "sources":
        raise StoryFormatError(where, rest[1][0] if len(rest) > 1 else rest[0][0], "expected the 'Sources' line")
    return StoryInput(
        title=title.strip(),
        story_date=story_date,
        category=category,
        key_points=points,
        source_count=source_count,
        sources=_source_pairs(rest[2:], where),
        origin="file",
        origin_ref=where,
    )


def _is_date(text: str) -> bool:
    """True for a line that parses as a story date (a file that lost its title line starts with one)."""
    try:
        parse_story_date(text)
    except ValueError:
        return False
    return True


def _source_pairs(lines: list[tuple[int, str]], where: str) -> list[dict[str, str | None]]:
    """Publisher and article title lines in pairs, each optionally followed by its URL (kept when it is http(s))."""
    sources: list[dict[str, str | None]] = []
    index = 0
    while index < len(lines):
        number, publisher = lines[index]
        if index + 1 >= len(lines):
            raise StoryFormatError(where, number, f"source {publisher.strip()!r} has no article title line")
        source = {"publisher": publisher.strip(), "title": lines[index + 1][1].strip(), "url": None}
        index += 2
        if index < len(lines) and LOOKS_LIKE_LINK.match(lines[index][1].strip()):
            source["url"] = web_link(lines[index][1])
            index += 1
        sources.append(source)
    return sources


def _no_control_chars(value: str) -> str:
    """Every field is one line of text, as in the seed format; NUL above all, which PostgreSQL refuses."""
    if bad := CONTROL_CHARS.search(value):
        if bad.group() in "\r\n":
            raise ValueError("line breaks are not allowed (one field, one line)")
        raise ValueError(f"control character U+{ord(bad.group()):04X} is not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_control_chars)]
# anything but an http(s) address is dropped, and the story kept
Link = Annotated[str, Field(max_length=2000), AfterValidator(_no_control_chars), AfterValidator(web_link)]


class SourceIn(BaseModel):
    """A source in the JSON schema."""

    model_config = ConfigDict(str_strip_whitespace=True)

    publisher: Text = Field(min_length=1, max_length=300)
    title: Text = Field(default="", max_length=1000)
    url: Link | None = Field(default=None, description="http(s) only; any other link is dropped")


class StoryIn(BaseModel):
    """A story in the JSON schema (documented in docs/story-json.md)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)

    id: Text | None = Field(default=None, max_length=500)
    title: Text = Field(min_length=1, max_length=TITLE_MAX)
    story_date: date | None = Field(default=None, alias="date")
    category: Text = Field(default="World News", min_length=1, max_length=CATEGORY_MAX)
    key_points: list[Text] = Field(min_length=1, max_length=50)
    source_count: int | None = Field(default=None, ge=0, le=100_000)
    sources: list[SourceIn] = Field(default_factory=list, max_length=200)
    link: Link | None = Field(default=None, description="http(s) only; any other link is dropped")
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$",
        description="ISO 639-1 code such as 'en'; omitted: fit for any list",
    )

    @field_validator("key_points")
    @classmethod
    def _points_not_blank(cls, points: list[str]) -> list[str]:
        """Empty bullet points are a mistake, not content."""
        cleaned = [p.strip() for p in points]
        if any(not p for p in cleaned):
            raise ValueError("key points may not be empty")
        return cleaned

    def to_input(self, origin: str, origin_ref: str) -> StoryInput:
        """Into the common StoryInput."""
        return StoryInput(
            title=self.title.strip(),
            story_date=self.story_date,
            category=self.category.strip(),
            key_points=self.key_points,
            source_count=self.source_count or len(self.sources),
            sources=[s.model_dump() for s in self.sources],
            link=self.link,
            origin=origin,
            origin_ref=origin_ref,
            external_id=self.id,
            language=self.language,
        )


def parse_json_stories(data: Any, where: str = "<json>", origin: str = "json") -> list[StoryInput]:
    """A story object, a list of them, or {"stories": [...]}; all are checked before any is kept."""
    if isinstance(data, dict) and "stories" in data:
        data = data["stories"]
    items = data if isinstance(data, list) else [data]
    stories = []
    for index, item in enumerate(items):
        try:
            stories.append(StoryIn.model_validate(item).to_input(origin, where))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"] for e in error.errors()
            )
            raise StoryFormatError(where, None, f"story #{index + 1}: {problems}") from None
    return stories


def parse_json_text(text: str, where: str) -> list[StoryInput]:
    """JSON text into stories, with the position of a syntax error."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as error:
        raise StoryFormatError(where, error.lineno, f"invalid JSON: {error.msg}") from None
    return parse_json_stories(data, where)

"""An edition's introduction: a few paragraphs of plain text with links, made into safe HTML for the email."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

from service.core.errors import InvalidInput

MAX_LENGTH = 4000  # a few paragraphs, not an article
_PARSER = MarkdownIt("zero", {"html": False, "linkify": True, "breaks": True}).enable(
    ["paragraph", "newline", "link", "linkify", "emphasis", "escape", "backticks"]
)
_TAGS = {"p", "a", "br", "em", "strong", "code"}
_SCHEMES = {"http", "https", "mailto"}


def clean_intro(raw: str) -> str:
    """The introduction as the editor meant it: line endings normalised, trimmed, not too long."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"the introduction is {len(text)} characters long; at most {MAX_LENGTH}")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise InvalidInput("the introduction holds control characters; type plain text")
    return text


def intro_html(text: str) -> Markup:
    """Paragraphs and links (http, https, mailto) only: raw HTML shows as text, other tags and schemes go."""
    import nh3

    if not text.strip():
        return Markup("")
    rendered = _PARSER.render(text)
    safe = nh3.clean(
        rendered, tags=_TAGS, attributes={"a": {"href"}}, url_schemes=_SCHEMES, link_rel="noopener noreferrer"
    )
    return Markup(safe.replace("<p>", '<p style="margin:0 0 10px">'))

"""The links a story carries: absolute http(s) addresses only, so no javascript:, data: or vbscript: link gets in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_LINK_CHARS = 2000  # the column size of stories.link and items.url
WEB_SCHEMES = ("http", "https")
# a seed-file line that is meant as a link (and is dropped unless it is http(s)), not as the next publisher
LOOKS_LIKE_LINK = re.compile(r"^(https?|javascript|vbscript|data|file|about|blob|ftp):\S*$", re.IGNORECASE)


def web_link(url: str | None) -> str | None:
    """The link when it is an absolute http(s) address with a host, else None: the story keeps its text, not the link.

    Whitespace and control characters are refused too: browsers drop a tab or newline inside a URL, so
    "java\\tscript:" is a javascript: link to them.
    """
    if url is None:
        return None
    url = url.strip()
    if not url or len(url) > MAX_LINK_CHARS or any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad port or IPv6 literal
        return None
    return url if ok else None

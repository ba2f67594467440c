"""Publisher names readers recognise: 'NYT > World News' is NYT, a feed called 'World' is named after its site."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MAX_NAME_WORDS = 6  # more is a tagline ("Breaking News, World News and Video from ...")
SEPARATORS = re.compile(r"\s+[>|\-–—»·/:]{1,2}\s+|:\s+|\s*\|\s*|\s+[–—]\s*|\s*[–—]\s+")
# Words of section names and taglines, in the languages lists use: a part made only of them names no publisher.
_SECTION_TEXT = """
    a all and around at breaking by category channel de del des der die e ed edition en et feed feeds for from front
    headlines home homepage in international internacional internazionale l la las latest le les lo los mas more most
    news newsfeed of on page popular rss section sections stories story the to today top und updates world
    mundo monde mondo welt noticias notizie nachrichten actualites infos info ultimas ultime dernieres neueste portada
    accueil inicio startseite politics politica politique politik business economy economia economie wirtschaft sport
    sports esportes deportes tech technology science culture opinion video videos search records found results topic
    topics
"""  # compared without accents
SECTION_WORDS = frozenset(_SECTION_TEXT.split())
SITE_LABELS_SKIPPED = {"www", "rss", "feeds", "feed", "m", "en", "english", "news", "api", "xml", "arcio"}
DOMAIN_STYLE = re.compile(r"^(?P<label>[A-Za-z]+)\.(com|net|org)$")


def _letters(text: str) -> str:
    """Only the letters and digits, lower case and without accents: 'EL PAÍS' and 'elpais' compare equal."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in plain if ch.isalnum() and not unicodedata.combining(ch))


def site_host(*urls: str | None) -> str | None:
    """The first URL's host without 'www.'."""
    for url in urls:
        try:
            host = urlsplit(url or "").hostname
        except ValueError:
            host = None
        if host:
            return host.removeprefix("www.")
    return None


def _site_keys(hosts: Iterable[str]) -> set[str]:
    """What a publisher's name spells when it is its site's: 'nytimes', 'bostoncom', 'thewashingtonpost'."""
    keys = set()
    for host in hosts:
        labels = host.split(".")
        for number, label in enumerate(labels[:-1]):
            if label not in SITE_LABELS_SKIPPED and len(label) >= 2:
                keys |= {label, "the" + label, label.removeprefix("the"), label + labels[number + 1]}
    return keys


def _site_named(text: str, keys: set[str], extend: bool = False) -> str | None:
    """The leading words of a title's part that spell the site's name ('AllAfrica' of 'AllAfrica News').

    With extend, words after them that are no section word stay ('Sloppy Markets' on sloppy.example.com).
    """
    words = text.split()
    for end in range(1, min(len(words), MAX_NAME_WORDS) + 1):
        if _letters(" ".join(words[:end])) in keys:
            while extend and end < min(len(words), MAX_NAME_WORDS) and _letters(words[end]) not in SECTION_WORDS:
                end += 1
            return " ".join(words[:end]).strip(" ,.;")
    return None


def _is_section(part: str) -> bool:
    """'World News', 'Top Stories', 'Category World' or a long tagline: not a publisher's name."""
    words = [_letters(word) for word in part.split()]
    words = [word for word in words if word]
    return (
        not words
        or len(words) > MAX_NAME_WORDS
        or "," in part
        or all(word in SECTION_WORDS or word.isdigit() for word in words)
    )


def tidy(name: str) -> str:
    """'TheWeek' as 'The Week', 'CBSNews.com' as 'CBS News': how the brand reads, not how its domain is spelled."""
    name = re.sub(r"^The(?=[A-Z][a-z])", "The ", name)
    domain = DOMAIN_STYLE.match(name)
    if domain and re.search(r"[a-z][A-Z]|[A-Z]{2}[a-z]", domain.group("label")):
        return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", domain.group("label"))
    return name


def host_name(host: str) -> str:
    """The site's own name from its host: 'abc.net.au' is ABC, 'washingtonpost.com' stays washingtonpost.com."""
    labels = [label for label in host.split(".") if label not in SITE_LABELS_SKIPPED] or host.split(".")
    country_level = len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3
    main = labels[-3] if country_level else labels[-2] if len(labels) >= 2 else labels[0]
    if len(main) <= 4 and main.isalpha():
        return main.upper()
    return ".".join(labels[-3:] if country_level else labels[-2:])


def _channel_texts(channel: dict[str, Any]) -> list[str]:
    """What else a channel says about who publishes it: subtitle, image title, author, publisher, rights."""
    image = channel.get("image") or {}
    author = (channel.get("author_detail") or {}).get("name") or channel.get("author")
    return [
        str(text)
        for text in (
            channel.get("subtitle"),
            image.get("title"),
            author,
            (channel.get("publisher_detail") or {}).get("name"),
            channel.get("rights"),
        )
        if text
    ]


def feed_publisher(channel: dict[str, Any], feed_url: str, item_titles: Iterable[str] = ()) -> str:
    """The feed's publisher as readers know it: the site's name in its title or channel, else a clean title, else host.

    A feed titled like one of its own articles says nothing about its publisher, so its title is not used.
    """
    hosts = [host for host in (site_host(channel.get("link")), site_host(feed_url)) if host]
    keys = _site_keys(hosts)
    title = " ".join(str(channel.get("title") or "").split())
    titles = {_letters(item) for item in item_titles}
    parts = [] if not title or _letters(title) in titles else [p.strip() for p in SEPARATORS.split(title) if p.strip()]
    for part in parts:
        if (named := _site_named(part, keys, extend=True)) is not None:
            return tidy(named)
    for part in parts:
        if not _is_section(part):
            return tidy(part)
    for text in _channel_texts(channel):
        for part in SEPARATORS.split(" ".join(text.split())):
            if (named := _site_named(part.strip(), keys)) is not None:
                return tidy(named)
    return host_name(hosts[0]) if hosts else feed_url


def source_publisher(name: str) -> str:
    """An item's <source> name, section suffixes and taglines removed ('Reuters - World' is Reuters)."""
    parts = [part.strip() for part in SEPARATORS.split(" ".join(name.split())) if part.strip()]
    for part in parts:
        if not _is_section(part):
            return tidy(part)[:300]
    return " ".join(name.split())[:300]

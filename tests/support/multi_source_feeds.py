"""Aggregator feeds for the multi-source story tests: quake and sanctions items as RSS, a poll, the stories left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from sqlalchemy import select

from service.models import Story
from service.stories.feeds.intake import make_client, poll_all
from service.stories.items import clusterer_from

NOW = datetime.now(UTC).replace(microsecond=0)


QUAKE = [
    ("NHK World", "Magnitude 7.1 earthquake strikes off the coast of Japan"),
    ("Reuters", "Japan earthquake: magnitude 7.1 quake strikes off the coast, tsunami warning issued"),
    ("The Japan Times", "Strong magnitude 7.1 earthquake strikes off Japan's coast, tsunami warning lifted"),
]


QUAKE_TEXT = (
    "A magnitude 7.1 earthquake struck off the coast of northern Japan on Tuesday morning. "
    "Authorities issued a tsunami warning for the Pacific coast and later lifted it. "
    "No major damage was reported, according to the national broadcaster. "
    "Bullet train services were suspended for several hours as a precaution. "
    "Continue reading..."
)


SANCTIONS = [
    ("Deutsche Welle", "EU leaders agree on new sanctions package against Russia"),
    ("Euronews", "European Union agrees new sanctions package against Russia"),
]


SANCTIONS_TEXT = (
    "European Union leaders agreed a new package of sanctions against Russia at a summit in Brussels. "
    "The measures target energy exports and financial institutions. "
    "Hungary dropped its objection after talks that lasted into the night. "
    "The post EU agrees sanctions appeared first on Example News."
)


def rss(title: str, items: list[dict], language: str | None = None) -> bytes:
    """A real RSS 2.0 document; each item may carry a <source> (as news aggregators' feeds do)."""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://feeds.example.org/</link>" + (f"<language>{language}</language>" if language else "")
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item['title'])}</title>" if item.get("title") is not None else "")
        link = item.get("link", "https://example.org/" + str(abs(hash(item.get("title")))))
        parts.append(f"<link>{escape(link)}</link>")
        if item.get("published"):
            parts.append(f"<pubDate>{format_datetime(item['published'], usegmt=True)}</pubDate>")
        elif item.get("raw_date"):
            parts.append(f"<pubDate>{item['raw_date']}</pubDate>")
        if item.get("source"):
            parts.append(
                f'<source url="https://{item["source"].replace(" ", "").lower()}.example/rss">'
                f"{escape(item['source'])}</source>"
            )
        parts.append(f"<description>{escape(item.get('text', ''))}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def poll(session, settings) -> dict:
    """What the beat task does: every feed, one client, the configured clusterer."""
    with make_client(allow_private=True) as client:  # the test server is on 127.0.0.1
        return {
            r.url: r for r in poll_all(session, client=client, clusterer=clusterer_from(settings), allow_private=True)
        }


def aggregator_items(at: datetime) -> list[dict]:
    """An aggregator's feed: three publishers on the quake, two on the sanctions, one unrelated item."""
    items = [
        {
            "title": title,
            "source": publisher,
            "published": at - timedelta(minutes=10 * n),
            "text": QUAKE_TEXT,
            "link": f"https://{publisher.replace(' ', '').lower()}.example/quake",
        }
        for n, (publisher, title) in enumerate(QUAKE)
    ]
    items += [
        {
            "title": title,
            "source": publisher,
            "published": at - timedelta(hours=1, minutes=n),
            "text": SANCTIONS_TEXT,
            "link": f"https://{publisher.replace(' ', '').lower()}.example/sanctions",
        }
        for n, (publisher, title) in enumerate(SANCTIONS)
    ]
    items.append(
        {
            "title": "Museum returns looted bronzes to Benin",
            "source": "BBC News",
            "published": at - timedelta(hours=2),
            "text": "The bronzes were handed over at a ceremony.",
        }
    )
    return items


def stories_by_title(session) -> dict[str, Story]:
    """Every story, fresh from the database."""
    session.expire_all()
    return {story.title: story for story in session.scalars(select(Story))}


# One quake told in two halves too unlike to be one story yet, and the wire copy that bridges them.
QUAKE_HALVES = [
    (
        "NHK World",
        "Magnitude 7.1 earthquake strikes off the coast of northern Japan",
        "A magnitude 7.1 earthquake struck off the coast of northern Japan on Tuesday. "
        "A tsunami warning was issued for the Pacific coast.",
    ),
    (
        "Kyodo",
        "Strong earthquake off northern Japan halts bullet trains and cuts power to thousands",
        "Shinkansen services were suspended and 20,000 homes lost power in Miyagi after the magnitude 7.1 tremor.",
    ),
]


QUAKE_BRIDGE = [
    (
        "Reuters",
        "Strong 7.1 quake hits northern Japan, trains halted, tsunami warning issued",
        "A magnitude 7.1 earthquake off northern Japan prompted a tsunami warning, halted bullet trains and cut "
        "power to thousands of homes.",
    ),
    (
        "AP",
        "Japan earthquake: tsunami warning issued, bullet trains stopped after magnitude 7.1 quake",
        "The quake struck off Miyagi on Tuesday; bullet train services were halted and power was cut to 20,000 homes.",
    ),
    (
        "BBC News",
        "Japan hit by magnitude 7.1 earthquake, tsunami alert and train disruption",
        "A strong earthquake off Japan's north-east coast triggered a tsunami warning and stopped Shinkansen trains.",
    ),
]

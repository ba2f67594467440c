"""Feed HTML to plain text: paragraphs kept, scripts and markup dropped (key points: service.stories.clustering)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "pre",
    "dd",
    "dt",
    "hr",
}
HIDDEN_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "svg", "head", "title"}
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL refuses NUL in text


class _TextExtractor(HTMLParser):
    """HTML to text with paragraph breaks at block elements; scripts and styles are dropped, entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        """Blocks start a paragraph and <br> a line, so words never run together; hidden elements nest."""
        self.hidden += tag in HIDDEN_TAGS
        self.parts.append("\n" if tag == "br" else "\n\n" if tag in BLOCK_TAGS else "")

    def handle_endtag(self, tag):
        """Closing a block ends its paragraph; closing a hidden element shows text again."""
        self.hidden -= tag in HIDDEN_TAGS and self.hidden > 0
        self.parts.append("\n\n" if tag in BLOCK_TAGS else "")

    def handle_data(self, data):
        """Visible text is kept as written."""
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable text from feed HTML: paragraphs separated by blank lines, whitespace collapsed."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    raw = CONTROL_CHARS.sub("", "".join(parser.parts).replace("\xa0", " ").replace("\r", ""))
    paragraphs = (" ".join(chunk.split()) for chunk in re.split(r"\n\s*\n", raw))
    return "\n\n".join(p for p in paragraphs if p)

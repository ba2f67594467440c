"""Feed text to story text: HTML stripped to paragraphs, paragraphs split into key points."""
from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_POINTS = 6
MAX_POINT_CHARS = 400
BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "table",
              "section", "article", "header", "footer", "figure", "figcaption", "pre", "dd", "dt", "hr"}
HIDDEN_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "svg", "head", "title"}
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp", "gen",
                 "gov", "sen", "rep", "lt", "col", "sgt", "capt", "jan", "feb", "mar", "apr", "aug", "sept",
                 "oct", "nov", "dec", "approx", "e.g", "i.e", "u.s", "u.k", "u.n", "a.m", "p.m"}
SENTENCE_END = re.compile(r"(?P<latin>[.!?…]+[\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[^\W_a-z])|(?P<cjk>[。！？]+[」』”’]*)\s*(?=\S)")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL refuses NUL in text
BOILERPLATE = re.compile(r"^(read more|continue reading|the post .+ appeared first on .+)\W*$", re.IGNORECASE)


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


def _split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, not splitting after common abbreviations or initials ("Mr.", "U.S.")."""
    sentences, start = [], 0
    for match in SENTENCE_END.finditer(paragraph):
        end = match.end(match.lastgroup)
        words = paragraph[start:end].split()
        last_word = words[-1].strip("\"'“”‘’()[]").rstrip(".").lower() if words else ""
        if match.lastgroup == "latin" and (last_word in ABBREVIATIONS or len(last_word) == 1):
            continue
        sentences.append(paragraph[start:end].strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def text_to_points(text: str, limit: int = MAX_POINTS) -> list[str]:
    """Key points: each paragraph's sentences, boilerplate and empties dropped, long ones shortened."""
    points = []
    for paragraph in text.split("\n\n"):
        for sentence in _split_sentences(paragraph):
            if BOILERPLATE.match(sentence) or not any(ch.isalnum() for ch in sentence):
                continue
            if len(sentence) > MAX_POINT_CHARS:
                sentence = sentence[:MAX_POINT_CHARS - 1].rsplit(" ", 1)[0] + "…"
            points.append(sentence)
            if len(points) == limit:
                return points
    return points

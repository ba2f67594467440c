"""Language-light text normalisation shared by the lexical features and the story summaries."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import pairwise

_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_POSSESSIVE = re.compile(r"['\u2019]s\b")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "s",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "t",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "says",
        "said",
        "say",
        "new",
        "update",
        "updates",
        "live",
        "video",
        "photos",
        "watch",
        "report",
        "reports",
        "breaking",
        "news",
        "de",
        "la",
        "le",
        "les",
        "el",
        "los",
        "las",
        "und",
        "der",
        "die",
        "das",
        "et",
        "en",
        "y",
    ]
)


def normalise(text: str) -> str:
    """Fold case, width and accents so 'Café' and 'cafe' compare equal."""
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Strip common English inflections so 'files', 'filed' and 'filing' share one token."""
    if len(word) <= 3 or not word.isascii() or word.isdigit():
        return word
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "sses", "xes", "zes")):
                continue
            return word[: -len(suffix)] + keep
    return word


def tokens(text: str) -> list[str]:
    """Content-word tokens of a text: stemmed, stopwords dropped, CJK runs split into bigrams."""
    out: list[str] = []
    for word in _WORD.findall(_POSSESSIVE.sub("", normalise(text))):
        if _CJK.search(word):
            chars = [c for c in word if not c.isspace()]
            out.extend(a + b for a, b in pairwise(chars))
            if len(chars) == 1:
                out.append(chars[0])
            continue
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.append(stem(word))
    return out


def char_ngrams(text: str, n: int = 3) -> set[str]:
    """Character n-grams of the normalised text, for spelling-tolerant near-duplicate checks."""
    squashed = " ".join(_WORD.findall(normalise(text)))
    padded = f" {squashed} "
    return {padded[i : i + n] for i in range(max(len(padded) - n + 1, 1))}


ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "rev",
    "hon",
    "fr",
    "st",
    "jr",
    "sr",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "corp",
    "gen",
    "gov",
    "sen",
    "rep",
    "lt",
    "col",
    "sgt",
    "capt",
    "jan",
    "feb",
    "mar",
    "apr",
    "aug",
    "sept",
    "oct",
    "nov",
    "dec",
    "approx",
    "e.g",
    "i.e",
    "u.s",
    "u.k",
    "u.n",
    "a.m",
    "p.m",
}
_SENTENCE_END = re.compile(
    r"(?P<latin>[.!?…]+[\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[^\W_a-z])"
    r"|(?P<cjk>[。！？]+[」』”’]*)\s*(?=\S)"
)


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, not splitting after common abbreviations or initials ("Mr.", "U.S.")."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        kind = "latin" if match.group("latin") else "cjk"
        end = match.end(kind)
        words = paragraph[start:end].split()
        last_word = words[-1].strip("\"'“”‘’()[]").rstrip(".").lower() if words else ""
        if kind == "latin" and (last_word in ABBREVIATIONS or len(last_word) == 1):
            continue
        sentences.append(paragraph[start:end].strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]

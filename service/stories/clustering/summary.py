"""Helpers that present a story: its representative headline, its key points, near-duplicate headlines."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.stories.clustering.base import ItemText
from service.stories.clustering.boilerplate import cleaned, repeated_sentences
from service.stories.clustering.features import MiniLM, minilm_available, tfidf_matrix
from service.stories.clustering.text import char_ngrams, normalise, split_sentences, tokens

MAX_SENTENCE = 300
MIN_SENTENCE = 8  # "Turnout was 71%." is a key point; "One." is not
ON_EVENT = 0.45  # a sentence this close (cosine, MiniLM) to the story's core is about its happening
SAME_POINT = 0.8  # two sentences this close say the same thing
RESTATES_TITLE = 0.85  # a sentence this close to the headline only repeats it

_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bcontinue reading\b",
        r"\bread (the )?(full|more|rest)\b",
        r"^\s*read more\b",
        r"\bclick here\b",
        r"\bthe post\b.*\bappeared first on\b",
        r"\bappeared first on\b",
        r"(\u00a9|\(c\)|\bcopyright\b|\ball rights reserved\b)",
        r"\b(subscribe|sign up) (to|for) (our|the)\b",
        r"\bfollow us on\b",
        r"\bshare (this|on)\b",
        r"^\s*(photo|image|video|file photo)\s*:",
        r"\bcookies?\b.*\b(accept|policy|consent)\b",
    )
]
_TALK = r"(?:speaks|talks|spoke|talked|chats|chatted|sits down|sat down)\s+(?:with|to)"
_NAME = r"[A-Z][\w.&-]*"
_HOSTED = re.compile(  # "NPR speaks with", "NPR's Steve Inskeep talks to", "Radio Nine spoke with"
    rf"^(?P<outlet>{_NAME}(?:\s+{_NAME}){{0,2}})(?:['\u2019]s(?:\s+[A-Z][\w.'\u2019-]*){{1,3}})?\s+{_TALK}\b"
)
_GUEST_OF = re.compile(rf"{_TALK}\s+[\"\u201c](?P<outlet>{_NAME})")  # 'speaks to "CBS Mornings"'
_TRUNCATED = re.compile(r"(\[\s*(\u2026|\.\.\.)\s*\]|\u2026|\.\.\.|\[\+\d+ chars\])\s*$")


def near_duplicate_titles(a: str, b: str) -> bool:
    """Whether two headlines say the same thing in nearly the same words (so an email shows only one)."""
    if normalise(a).strip() == normalise(b).strip():
        return True
    ta, tb = set(tokens(a)), set(tokens(b))
    if ta and tb and len(ta & tb) / len(ta | tb) >= 0.7:
        return True
    ca, cb = char_ngrams(a), char_ngrams(b)
    return bool(ca and cb) and len(ca & cb) / len(ca | cb) >= 0.75


def representative_title(items: Sequence[object]) -> int:
    """Index of the medoid headline: the one most similar, on average, to all the others."""
    titles = [str(getattr(item, "title", item)) for item in items]
    if len(titles) <= 2:
        return 0
    x = tfidf_matrix(titles)
    sims = np.asarray((x @ x.T).toarray())
    np.fill_diagonal(sims, 0.0)
    centrality = sims.sum(axis=1)
    # Among near-equal medoids prefer a headline of ordinary length over a stub or a run-on.
    lengths = np.asarray([len(t) for t in titles], dtype=np.float64)
    penalty = np.abs(lengths - np.median(lengths)) / max(float(lengths.max()), 1.0) * 0.05 * centrality.max()
    scores = centrality - penalty
    best = float(scores.max())
    return int(min(i for i, s in enumerate(scores) if s >= best - 1e-12))


def _sentences(text: str) -> list[str]:
    """Split plain text into sentences, one paragraph at a time."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\r?\n", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            out.extend(split_sentences(paragraph))
    return out


def _good(sentence: str) -> bool:
    """Whether a sentence is real content: not boilerplate, not a truncation stub, a sensible length."""
    if not MIN_SENTENCE <= len(sentence) <= MAX_SENTENCE:
        return False
    if _TRUNCATED.search(sentence) or any(p.search(sentence) for p in _BOILERPLATE):
        return False
    return len(tokens(sentence)) >= 2 and sentence[-1] not in ",;:-"


def _teaser(sentence: str, publisher: str) -> bool:
    """A programme note, not news: the publisher (or its host) talks with a guest ("NPR speaks with ...",
    "NPR's Steve Inskeep talks to ...") or a guest talks to the publisher's show ('speaks to "CBS Mornings"')."""
    name = publisher.casefold()
    matches = (pattern.search(sentence) for pattern in (_HOSTED, _GUEST_OF))
    return any(m and name and len(m["outlet"]) > 1 and m["outlet"].casefold() in name for m in matches)


def _candidates(texts: Sequence[str]) -> list[tuple[str, int, int]]:
    """Every distinct content sentence of the members' texts: (sentence, member index, position in member)."""
    candidates: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    for member, text in enumerate(texts):
        for position, sentence in enumerate(_sentences(text)):
            folded = normalise(sentence)
            if _good(sentence) and folded not in seen:
                seen.add(folded)
                candidates.append((sentence, member, position))
    return candidates


def key_points(texts: Sequence[str], limit: int = 6, minimum: int = 3) -> list[str]:
    """Up to `limit` distinct content sentences from members' summaries, the best-supported first.

    Centrality (how much a sentence resembles sentences from the other members) ranks them, and a
    sentence close to one already chosen is skipped. Fewer than `minimum` good sentences are returned
    as they are, never padded with junk.
    """
    del minimum  # documented contract: we never pad, so the minimum only tells callers what to expect
    candidates = _candidates(texts)
    if not candidates:
        return []
    x = tfidf_matrix([c[0] for c in candidates])
    sims = np.asarray((x @ x.T).toarray())
    owner = np.asarray([c[1] for c in candidates])
    support = np.where(owner[:, None] != owner[None, :], sims, 0.0).sum(axis=1)
    lead_bonus = np.asarray([0.1 if c[2] == 0 else 0.0 for c in candidates])
    order = sorted(range(len(candidates)), key=lambda i: (-(support[i] + lead_bonus[i]), i))
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= limit:
            break
        if any(sims[i, j] >= 0.5 or near_duplicate_titles(candidates[i][0], candidates[j][0]) for j in chosen):
            continue
        chosen.append(i)
    return [candidates[i][0] for i in chosen]


@dataclass(frozen=True)
class Point:
    """A key point and the member item (index into the items given) it was taken from."""

    text: str
    member: int


def _unit_rows(texts: Sequence[str]) -> np.ndarray:
    """Unit-length sentence vectors: MiniLM where installed (meaning), else TF-IDF over these texts (words)."""
    if minilm_available():
        return MiniLM.shared().encode(list(texts))
    return np.asarray(tfidf_matrix(list(texts)).toarray())


def story_points(
    items: Sequence[ItemText], limit: int = 6, title: str | None = None, context: Sequence[ItemText] = ()
) -> list[Point]:
    """Up to `limit` key points about the story's own happening, each from one member item.

    A sentence qualifies when it is close to the story's core (the mean of its members' headlines), not only
    to other sentences: a member's aside about another event stays out. Sentences its publisher repeats across
    its items (learnt from `context`, the publishers' other items) are furniture; one that only restates the
    headline, or says what a chosen point already says, is skipped, and so is a programme note ("NPR speaks with
    ...") and, in a story of several items, a question. Each publisher with good sentences gets its share of the
    points before any takes more, and none gives more than half of a multi-publisher story's points, so a story
    told by several is not told by one. Better supported sentences come first.
    """
    repeated = repeated_sentences([*items, *context])
    candidates = _candidates([cleaned(item, repeated) for item in items])
    if not candidates:
        return []
    headline = title or items[0].title
    vectors = _unit_rows([c[0] for c in candidates] + [item.title for item in items] + [headline])
    sentences, heads, top = vectors[: len(candidates)], vectors[len(candidates) : -1], vectors[-1]
    core = heads.mean(axis=0)
    core /= max(float(np.linalg.norm(core)), 1e-9)
    relevance = sentences @ core
    sims = sentences @ sentences.T
    owner = np.asarray([c[1] for c in candidates])
    others = owner[:, None] != owner[None, :]
    support = np.where(others, sims, 0.0).sum(axis=1) / max(len(items) - 1, 1)
    lead_bonus = np.asarray([0.05 if c[2] == 0 else 0.0 for c in candidates])
    alone = len(items) == 1  # one item is the story: its sentences, in its own order, need no core to vouch
    order = (
        list(range(len(candidates)))
        if alone
        else sorted(range(len(candidates)), key=lambda i: (-(relevance[i] + support[i] + lead_bonus[i]), i))
    )
    voice = [items[c[1]].publisher.casefold() or f"#{c[1]}" for c in candidates]  # unnamed: each item its own

    def eligible(i: int) -> bool:
        """About the happening, not the headline again, not a programme note (nor, among several items, a question)."""
        if (not alone and relevance[i] < ON_EVENT) or float(sentences[i] @ top) >= RESTATES_TITLE:
            return False
        text = candidates[i][0]
        if not alone and text.rstrip("\"'\u201d\u2019)").endswith("?"):  # a question asks; a point tells
            return False
        return not near_duplicate_titles(text, headline) and not _teaser(text, items[candidates[i][1]].publisher)

    usable = [i for i in order if eligible(i)]
    # Each publisher with a good sentence gets its share of the points first; the best left over fill the rest,
    # but in a story of several publishers no one of them gives more than half of the points.
    most = limit if len({item.publisher.casefold() for item in items}) < 2 else -(-limit // 2)
    share = min(-(-limit // max(len({voice[i] for i in usable}), 1)), most)
    chosen: list[int] = []
    for quota in (share, most):
        for i in usable:
            if len(chosen) >= limit:
                break
            if i in chosen or sum(voice[j] == voice[i] for j in chosen) >= quota:
                continue
            if any(
                sims[i, j] >= SAME_POINT or near_duplicate_titles(candidates[i][0], candidates[j][0]) for j in chosen
            ):
                continue
            chosen.append(i)
    chosen.sort(key=order.index)
    return [Point(candidates[i][0], candidates[i][1]) for i in chosen]

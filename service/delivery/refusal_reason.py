"""The reason an edition was paused for refusals, in the words a person reads first (pure: no I/O).

e.g. "paused: 312 of the last 1,000 replies were 5.7.26 SPF failures from gmail.com": how many, of what,
the most common enhanced status code with what it means (read from the reply text first, then the code),
and the most common receiving domain. Nothing is claimed of all refusals that is true of only some.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from service.bounces.policy import enhanced_status

# RFC 7372's authentication codes, when the reply's words do not say which check failed
BY_CODE = {
    "5.7.20": "DKIM",
    "5.7.21": "DKIM",
    "5.7.22": "DKIM",
    "5.7.23": "SPF",
    "5.7.24": "SPF",
    "5.7.25": "reverse DNS",
    "5.7.26": "authentication",
}
WORDS = {
    name: re.compile(pattern, re.I)
    for name, pattern in (
        ("DMARC", r"\bdmarc\b"),
        ("SPF", r"\bspf\b"),
        ("DKIM", r"\bdkim\b"),
        ("reverse DNS", r"reverse dns|\brdns\b|\bptr\b|reverse (mapping|lookup)"),
        ("spam", r"spam|block ?list|black ?list|reputation|\brbl\b|\bdnsbl\b|spamhaus|listed"),
    )
}


@dataclass(frozen=True)
class Refusal:
    """One refused message: the server's reply (or the bounce's status and diagnostic) and the reader's address."""

    reply: str
    email: str | None
    status: str | None = None  # a bounce's own status; a reply's is read from its text


def meaning(reply: str) -> str:
    """What a 5.7.x refusal is about, as a plural noun: 'SPF failures', 'spam blocks', 'policy refusals'..."""
    said = {name for name, pattern in WORDS.items() if pattern.search(reply)}
    if "DMARC" in said:
        return "DMARC failures"  # a DMARC refusal names the SPF and DKIM results it was built on
    if {"SPF", "DKIM"} <= said:
        return "SPF and DKIM failures"
    for name in ("SPF", "DKIM", "reverse DNS"):
        if name in said:
            return f"{name} failures"
    by_code = BY_CODE.get(enhanced_status(reply) or "")
    if by_code:
        return f"{by_code} failures"
    return "spam blocks" if "spam" in said else "policy refusals"


def kind_of(refusal: Refusal) -> str:
    """'5.7.26 SPF failures': the status code and its meaning together."""
    status = refusal.status or enhanced_status(refusal.reply)
    if status is None:
        basic = re.match(r"\s*([45]\d\d)\b", refusal.reply)
        status = basic.group(1) if basic else None
    what = meaning(refusal.reply)
    return f"{status} {what}" if status else what


def domain_of(email: str | None) -> str | None:
    """The receiving domain of an address (None for an erased reader)."""
    if not email or "@" not in email:
        return None
    return email.rpartition("@")[2].lower()


def describe(refusals: list[Refusal], *, replies: int, full: bool, streak: bool, bounced: bool) -> str:
    """The pause reason: `refusals` among the latest `replies` (all of them in a row when `streak`)."""
    count = len(refusals)
    noun = "replies and bounces" if bounced else "replies"
    if streak:
        head = f"the last {count:,} {noun} in a row were"
    elif full:
        head = f"{count:,} of the last {replies:,} {noun} were"
    else:
        head = f"{count:,} of the {replies:,} {noun} so far were"
    kind, same_kind = (Counter(kind_of(refusal) for refusal in refusals).most_common(1) or [("refusals", 0)])[0]
    body = kind if same_kind == count else f"policy refusals, {same_kind:,} of them {kind}"
    domains = Counter(domain for domain in map(domain_of, (r.email for r in refusals)) if domain)
    if domains:
        domain, same_domain = domains.most_common(1)[0]
        body += f" from {domain}" if same_domain == count else f"; {same_domain:,} from {domain}"
    return f"paused: {head} {body}"

"""Lineage: each commitment linked to the most similar commitments of earlier and later G7 documents."""

from __future__ import annotations

import re

from kb.commitments.rules import Rules
from kb.commitments.types import NO_EARLIER_TEXT, Commitment, Lineage, Link
from kb.config import Settings
from kb.models import embed
from kb.types import date_to_int

# A deadline, a number or a named timetable makes a commitment more specific (hence firmer).
_SPECIFIC = re.compile(
    r"\b(by (the end of |mid-)?(\d{4}|january|february|march|april|may|june|july|august|september|october"
    r"|november|december)|within \w+ (working )?(days|weeks|months)|\d+)\b",
    re.I,
)


def link(settings: Settings, commitments: list[Commitment], rules: Rules) -> dict[str, Lineage]:
    """The lineage of every commitment (acknowledgements are neither linked nor labelled).

    Two commitments of different G7 documents with different dates are linked when they share a
    topic and their words are similar enough (rules.toml, [lineage]).

    Status: NO_EARLIER_TEXT when no G7 document dated before it is indexed (it may be new or not);
    `new` when no earlier G7 document has a similar commitment; otherwise, comparing it with
    its closest earlier commitment, `strengthened` or `weakened` when the language got firmer or
    softer (strength in rules.toml, then a deadline or figure gained or lost), else `renewed`.
    """
    items = [c for c in commitments if c.is_commitment]
    if not items:
        return {}
    vectors = embed.encode(settings, [c.text for c in items])
    sims = embed.comparable(settings, vectors @ vectors.T)
    dates = [date_to_int(c.date) for c in items]
    cfg = rules.lineage
    links: dict[str, list[Link]] = {}
    for i, c in enumerate(items):
        found = []
        for j, other in enumerate(items):
            if other.doc_id == c.doc_id or not dates[i] or not dates[j] or dates[i] == dates[j]:
                continue
            if sims[i, j] >= cfg.min_similarity and set(c.topic_keys) & set(other.topic_keys):
                direction = "earlier" if dates[j] < dates[i] else "later"
                later, earlier = (c, other) if direction == "earlier" else (other, c)
                found.append(
                    Link(other.key, direction, round(float(sims[i, j]), 4), change(later, earlier, rules))
                )
        found.sort(key=lambda link_: -link_.similarity)
        links[c.key] = [x for x in found if x.direction == "earlier"][: cfg.max_links] + [
            x for x in found if x.direction == "later"
        ][: cfg.max_links]
    first = min((d for d in dates if d), default=0)
    out: dict[str, Lineage] = {}
    for c, date in zip(items, dates, strict=True):
        earlier = [x for x in links[c.key] if x.direction == "earlier"]
        status = NO_EARLIER_TEXT if date <= first else "new"
        if earlier:
            status = {"same": "renewed", "stronger": "strengthened", "weaker": "weakened"}[
                earlier[0].strength_change
            ]
        out[c.key] = Lineage(c.key, status, tuple(links[c.key]), tuple(_chain(c.key, links)))
    return out


def change(later: Commitment, earlier: Commitment, rules: Rules) -> str:
    """How the later commitment's language compares with the earlier one: same, stronger or weaker."""
    a, b = rules.rank(later.strength), rules.rank(earlier.strength)
    if a != b:
        return "stronger" if a < b else "weaker"
    sa, sb = bool(_SPECIFIC.search(later.text)), bool(_SPECIFIC.search(earlier.text))
    if sa != sb:
        return "stronger" if sa else "weaker"
    return "same"


def _chain(key: str, links: dict[str, list[Link]]) -> list[str]:
    """Keys from the oldest ancestor to `key`, following the closest earlier link at each step."""
    chain = [key]
    while True:
        earlier = [x for x in links.get(chain[0], []) if x.direction == "earlier" and x.key not in chain]
        if not earlier:
            return chain
        chain.insert(0, earlier[0].key)

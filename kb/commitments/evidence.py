"""Implementation evidence: passages of national documents, dated after a commitment, that match it."""

from __future__ import annotations

import calendar
import datetime as dt
import re

import numpy as np

from kb.commitments import topics as topics_mod
from kb.commitments.rules import EvidenceRules
from kb.commitments.types import Commitment, Evidence
from kb.index.store import Index
from kb.search.query import Filters
from kb.search.retrieve import search
from kb.types import Hit, Passage, date_to_int


def find(
    index: Index, commitments: list[Commitment], rules: EvidenceRules, taxonomy: topics_mod.Taxonomy
) -> dict[str, list[Evidence]]:
    """Evidence passages for each commitment (acknowledgements get none), best first.

    Only documents whose country is not G7 and whose date falls after the whole period of the
    commitment's date count (a commitment dated 2026-06 admits documents from 2026-07-01): only
    action taken after a commitment can implement it. Documents without a date are left out. A
    retrieved passage must share a topic with the commitment, reach `min_score` (cosine), be on the
    subject (rules.toml `subject`, in the passage or its document's title) and not be a bare heading.
    """
    documents = [r.document for r in index.records().values()]
    countries = tuple(sorted({d.country for d in documents if d.country != "G7"}))
    passage_topics: dict[str, tuple[str, ...]] = {}
    out: dict[str, list[Evidence]] = {}
    for c in commitments:
        if not c.is_commitment:
            continue
        since = day_after(c.date)
        if not countries or not since or not c.topics:
            out[c.key] = []
            continue
        hits = search(
            index,
            query_text(c.text),
            mode="hybrid",
            k=rules.candidates,
            filters=Filters(countries=countries, since=since),
            max_per_doc=rules.per_document * 4,
            scope=False,
        )
        hits = [h for h in hits if h.scores.get("dense", 0.0) >= rules.min_score and _admissible(h, rules)]
        _tag_passages(index, taxonomy, [h.passage for h in hits], passage_topics)
        hits = [h for h in hits if set(passage_topics[h.passage.id]) & set(c.topic_keys)]
        hits.sort(key=lambda h: -h.scores["dense"])
        per_doc: dict[str, int] = {}
        kept = []
        for h in hits:
            if per_doc.get(h.document.id, 0) < rules.per_document:
                per_doc[h.document.id] = per_doc.get(h.document.id, 0) + 1
                kept.append(h)
        out[c.key] = [
            Evidence(
                commitment=c.key,
                passage_id=h.passage.id,
                doc_id=h.document.id,
                country=h.document.country,
                doc_type=h.document.type,
                date=h.document.date,
                score=round(h.scores["dense"], 4),
                rank=h.rank,
                citation=h.citation,
                text=h.passage.text,
                topics=passage_topics[h.passage.id],
            )
            for h in kept
        ]
    return out


def _admissible(hit: Hit, rules: EvidenceRules) -> bool:
    """A dated document, a passage longer than a heading, and on the subject of migrant smuggling."""
    return bool(hit.document.date_int) and on_subject(hit.passage.text, hit.document.title, rules)


def on_subject(text: str, title: str, rules: EvidenceRules) -> bool:
    """Whether a passage is longer than a heading and it, or its document's title, is on the subject
    of migrant smuggling (rules.toml `subject`)."""
    if words(text) < rules.min_words:
        return False
    return rules.subject is None or bool(rules.subject.search(text) or rules.subject.search(title))


def words(text: str) -> int:
    """How many words a text has; Chinese and Japanese, written without spaces, count one word for
    every two characters (a Japanese paragraph was one "word", so never evidence)."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + cjk // 2


def _tag_passages(
    index: Index, taxonomy: topics_mod.Taxonomy, passages: list[Passage], cache: dict[str, tuple[str, ...]]
) -> None:
    """Tag passages not tagged yet, from the embeddings stored in the index and their words."""
    todo = [p for p in {p.id: p for p in passages}.values() if p.id not in cache]
    if not todo:
        return
    got = index.collection.get(ids=[p.id for p in todo], include=["embeddings"])
    vectors = dict(zip(got["ids"], got["embeddings"]))
    todo = [p for p in todo if p.id in vectors]
    tags = topics_mod.tag_embedded(
        index.settings,
        taxonomy,
        [f"{p.text}\n{p.heading}" for p in todo],
        np.asarray([vectors[p.id] for p in todo], dtype=np.float32),
    )
    for p, t in zip(todo, tags):
        cache[p.id] = tuple(x.key for x in t)


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def query_text(text: str) -> str:
    """A commitment's words as a retrieval query: quotation marks removed, since retrieval reads a
    quoted phrase as one that every passage must contain."""
    return text.replace('"', " ").replace("“", " ").replace("”", " ").strip()


def day_after(date: str) -> str:
    """The first day after the whole period an ISO date names: 2026-06 → 2026-07-01,
    2025-09-23 → 2025-09-24, 2025 → 2026-01-01; "" for a missing or unreadable date."""
    value = date_to_int(date)
    if not value:
        return ""
    year, month, day = value // 10000, value // 100 % 100, value % 100
    parts = date.strip().split("-")
    if len(parts) == 1:
        last = dt.date(year, 12, 31)
    elif len(parts) == 2:
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
    else:
        last = dt.date(year, month, day)
    return (last + dt.timedelta(days=1)).isoformat()

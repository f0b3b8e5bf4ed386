"""The commitments as every surface hands them out (`kb commitments --json`, the JSON API, the MCP
tools): which rows a request selects, one commitment by its id, and each as JSON. The checks and
their messages live here once, so that each surface refuses the same things in the same words."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from kb.commitments import compliance, matrix
from kb.commitments import rules as rules_mod
from kb.commitments import topics as topics_mod
from kb.commitments.types import Commitment, Tracker
from kb.errors import UsageError


def select(
    tracker: Tracker,
    indexed: Collection[str],
    doc_ids: Sequence[str] = (),
    topics: Sequence[str] = (),
    strengths: Sequence[str] = (),
) -> list[Commitment]:
    """The commitments of these documents, with one of these topics and strengths (an empty list
    does not restrict); a UsageError for a value no document, topic or strength has (`indexed`:
    the ids of the indexed documents)."""
    taxonomy, rules = topics_mod.load(), rules_mod.load()
    if bad := [t for t in topics if t not in taxonomy.keys]:
        raise UsageError(f"unknown topic {', '.join(bad)}; choose from {', '.join(taxonomy.keys)}")
    known_strengths = [x.key for x in rules.strengths]
    if bad := [s for s in strengths if s not in known_strengths]:
        raise UsageError(f"unknown strength {', '.join(bad)}; choose from {', '.join(known_strengths)}")
    if bad := [d for d in doc_ids if d not in indexed]:
        raise UsageError(f"no indexed document has id {', '.join(bad)}; see `kb sources`")
    return [
        c
        for c in tracker.commitments
        if (not doc_ids or c.doc_id in doc_ids)
        and (not topics or set(c.topic_keys) & set(topics))
        and (not strengths or c.strength in strengths)
    ]


def one(tracker: Tracker, ref: str) -> Commitment:
    """The commitment `ref` names (`2026-7`, or `DOC_ID:2026-7` when two documents share the id)."""
    found = tracker.find(ref)
    if not found:
        raise UsageError(f"no commitment {ref!r}; list them with `kb commitments`")
    if len(found) > 1:
        raise UsageError(
            f"{ref!r} names {len(found)} commitments; write one of: {', '.join(c.key for c in found)}"
        )
    return found[0]


def as_json(c: Commitment, tracker: Tracker, taxonomy: topics_mod.Taxonomy, full: bool = False) -> dict:
    """A commitment with its topics, lineage and evidence (the passages' text only when `full`)."""
    lin = tracker.lineage.get(c.key)
    evidence = tracker.evidence.get(c.key, [])
    data = {
        **c.to_dict(),
        "topics": [
            {"key": t.key, "label": taxonomy.label(t.key), "score": t.score, "keywords": list(t.keywords)}
            for t in c.topics
        ],
        "lineage": lin.to_dict() if lin else None,
        "evidence_countries": sorted({e.country for e in evidence}),
    }
    if full:
        data["evidence"] = [e.to_dict() for e in evidence]
    else:
        data["evidence"] = [{k: v for k, v in e.to_dict().items() if k != "text"} for e in evidence]
    return data


def evidence(tracker: Tracker, ref: str, sources_dir: Path, country: str = "") -> dict:
    """One commitment in full (`kb commitments evidence ID --json`): its evidence passages with
    their text and citation, and for a commitment (not an acknowledgement) the compliance score of
    each country. `country` keeps that country's evidence and score only."""
    c = one(tracker, ref)
    data = as_json(c, tracker, topics_mod.load(), full=True)
    if c.is_commitment:
        m = matrix.build(tracker, compliance.load(sources_dir), rules_mod.load())
        data["compliance"] = {k: m.cell(c.key, k).score.to_dict() for k in m.countries}
    if country:
        if country not in tracker.countries:
            raise UsageError(
                f"no country {country!r} in the matrix; choose from {', '.join(tracker.countries)}"
            )
        data["evidence"] = [e for e in data["evidence"] if e["country"] == country]
        data["compliance"] = {k: v for k, v in data.get("compliance", {}).items() if k == country}
    return data

"""Questions that ask for commitments ("Which commitments cover online platforms?", "What did the
G7 commit to on returns?"), answered from the tracker's rows: each commitment behind the answer's
G7 passages, with its words, citation, strength, lineage and the countries with evidence."""

from __future__ import annotations

from kb.commitments.types import Tracker


def answering(tracker: Tracker, passages: list[dict]) -> list[dict]:
    """The commitments an answer's passages (CitedPassage.to_dict) hold, in the order of the passages: in a passage the
    answer quotes, those overlapping a quoted sentence (all of its commitments when none does). Each:
    key, id, words, citation, strength, lineage status, evidence countries and the passage marker."""
    by_passage: dict[str, list] = {}
    for c in tracker.commitments:
        if c.is_commitment:
            by_passage.setdefault(c.passage_id, []).append(c)
    rows = []
    for passage in passages:
        found = by_passage.get(passage["id"], [])
        quoted = [(h["start"], h["end"]) for h in passage.get("highlights", [])]
        if not found or not quoted:
            continue
        overlapping = [c for c in found if any(a < c.end and c.start < b for a, b in quoted)]
        for c in sorted(overlapping or found, key=lambda c: c.start):
            lineage = tracker.lineage.get(c.key)
            rows.append(
                {
                    "key": c.key,
                    "id": c.id,
                    "text": c.text,
                    "citation": c.citation,
                    "strength": c.strength,
                    "lineage": lineage.status if lineage else "",
                    "evidence_countries": sorted({e.country for e in tracker.evidence.get(c.key, [])}),
                    "marker": passage["marker"],
                }
            )
    return rows

"""Extraction precision/recall and topic accuracy against the hand-written gold file.

Matching: an extracted commitment matches a gold commitment of the same document when their
character ranges (in the same passage) overlap with a Jaccard index of at least 0.5; each gold item
matches at most one extracted item (best overlaps first). Precision = matched / extracted
commitments, recall = matched / gold commitments. Acknowledgements are scored the same way,
separately. Topic accuracy is measured on the gold commitments themselves (their gold spans are
tagged by the same tagger as extracted ones): the share whose predicted topic set equals the gold
set exactly; label-level precision and recall are reported beside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from kb.commitments import topics as topics_mod
from kb.commitments.types import Commitment
from kb.config import Settings
from kb.errors import UsageError
from kb.types import Passage

GOLD_PATH = Path(__file__).resolve().parents[2] / "evals" / "commitments" / "gold.yaml"
MIN_JACCARD = 0.5


@dataclass(frozen=True)
class GoldItem:
    doc_id: str
    id: str
    paragraph: str
    span: str
    strength: str
    topics: tuple[str, ...]


@dataclass
class Report:
    """The evaluation figures, with the items behind each error."""

    documents: list[str]
    gold: int
    extracted: int
    matched: int
    precision: float
    recall: float
    strength_accuracy: float  # among matched commitments
    topic_accuracy: float  # exact topic set, on gold commitments
    topic_precision: float
    topic_recall: float
    acknowledgements: dict = field(default_factory=dict)
    missed: list[dict] = field(default_factory=list)
    spurious: list[dict] = field(default_factory=list)
    topic_errors: list[dict] = field(default_factory=list)
    strength_errors: list[dict] = field(default_factory=list)
    missing_documents: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def load_gold(path: Path | None = None) -> tuple[list[GoldItem], list[GoldItem]]:
    """The gold commitments and gold acknowledgements."""
    path = path or GOLD_PATH
    if not path.exists():
        raise UsageError(f"no gold file at {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    commitments, acknowledgements = [], []
    for doc_id, entry in data["documents"].items():
        for kind, out in (("commitments", commitments), ("acknowledgements", acknowledgements)):
            for item in entry.get(kind, []) or []:
                out.append(
                    GoldItem(
                        doc_id,
                        str(item["id"]),
                        str(item["paragraph"]),
                        item["span"],
                        item.get("strength", "acknowledgement"),
                        tuple(item.get("topics", [])),
                    )
                )
    return commitments, acknowledgements


def evaluate(
    settings: Settings,
    commitments: list[Commitment],
    passages: dict[str, list[Passage]],
    taxonomy: topics_mod.Taxonomy,
    gold_path: Path | None = None,
) -> Report:
    """Score `commitments` (extracted from the index) against the gold file.

    `passages` maps each document id to its passages; gold documents not in the index are left
    out of the figures and listed in `missing_documents`.
    """
    gold_c, gold_a = load_gold(gold_path)
    missing = sorted({g.doc_id for g in gold_c + gold_a if g.doc_id not in passages})
    gold_c = [g for g in gold_c if g.doc_id in passages]
    gold_a = [g for g in gold_a if g.doc_id in passages]
    docs = sorted({g.doc_id for g in gold_c + gold_a})
    located_c = [_locate(g, passages[g.doc_id]) for g in gold_c]
    located_a = [_locate(g, passages[g.doc_id]) for g in gold_a]
    extracted = [c for c in commitments if c.doc_id in docs]
    pred_c = [c for c in extracted if c.is_commitment]
    pred_a = [c for c in extracted if not c.is_commitment]
    pairs = _match(located_c, pred_c)
    pairs_a = _match(located_a, pred_a)

    # Topics, on the gold spans themselves (independent of extraction errors).
    tags = topics_mod.tag(
        settings,
        taxonomy,
        [g.span for g in gold_c],
        [topics_mod.context_of(taxonomy, loc.passage, loc.start, loc.end) for loc in located_c],
    )
    exact, tp, n_pred, n_gold, topic_errors = 0, 0, 0, 0, []
    for g, predicted in zip(gold_c, tags):
        got = {t.key for t in predicted}
        want = set(g.topics)
        exact += got == want
        tp += len(got & want)
        n_pred += len(got)
        n_gold += len(want)
        if got != want:
            topic_errors.append(
                {
                    "doc": g.doc_id,
                    "id": g.id,
                    "gold": sorted(want),
                    "predicted": [t.key for t in predicted],
                    "scores": {t.key: t.score for t in predicted},
                    "span": g.span,
                }
            )
    matched_c = {gi: pi for gi, pi in pairs}
    strength_ok = sum(gold_c[gi].strength == pred_c[pi].strength for gi, pi in pairs)
    return Report(
        documents=docs,
        gold=len(gold_c),
        extracted=len(pred_c),
        matched=len(pairs),
        precision=_ratio(len(pairs), len(pred_c)),
        recall=_ratio(len(pairs), len(gold_c)),
        strength_accuracy=_ratio(strength_ok, len(pairs)),
        topic_accuracy=_ratio(exact, len(gold_c)),
        topic_precision=_ratio(tp, n_pred),
        topic_recall=_ratio(tp, n_gold),
        acknowledgements={
            "gold": len(gold_a),
            "extracted": len(pred_a),
            "matched": len(pairs_a),
            "precision": _ratio(len(pairs_a), len(pred_a)),
            "recall": _ratio(len(pairs_a), len(gold_a)),
        },
        missed=[
            {"doc": g.doc_id, "id": g.id, "span": g.span} for i, g in enumerate(gold_c) if i not in matched_c
        ],
        spurious=[
            {"doc": c.doc_id, "id": c.id, "span": c.text}
            for i, c in enumerate(pred_c)
            if i not in {pi for _, pi in pairs}
        ],
        topic_errors=topic_errors,
        strength_errors=[
            {
                "doc": gold_c[gi].doc_id,
                "id": gold_c[gi].id,
                "gold": gold_c[gi].strength,
                "predicted": pred_c[pi].strength,
            }
            for gi, pi in pairs
            if gold_c[gi].strength != pred_c[pi].strength
        ],
        missing_documents=missing,
    )


@dataclass(frozen=True)
class _Located:
    passage: Passage
    start: int
    end: int


def _locate(g: GoldItem, passages: list[Passage]) -> _Located:
    """The gold span's passage and offsets; a span not found verbatim is an error in the gold file."""
    candidates = [p for p in passages if p.paragraph == g.paragraph] + passages
    for p in candidates:
        at = p.text.find(g.span)
        if at >= 0:
            return _Located(p, at, at + len(g.span))
    raise UsageError(
        f"gold item {g.doc_id} {g.id}: its span is not in the indexed text of paragraph {g.paragraph} "
        f"(quote it verbatim in {GOLD_PATH.name}): {g.span[:80]!r}"
    )


def _match(gold: list[_Located], predicted: list[Commitment]) -> list[tuple[int, int]]:
    scored = []
    for gi, g in enumerate(gold):
        for pi, c in enumerate(predicted):
            if c.passage_id != g.passage.id:
                continue
            inter = max(0, min(g.end, c.end) - max(g.start, c.start))
            union = max(g.end, c.end) - min(g.start, c.start)
            jaccard = inter / union if union else 0.0
            if jaccard >= MIN_JACCARD:
                scored.append((jaccard, gi, pi))
    pairs, used_g, used_p = [], set(), set()
    for _, gi, pi in sorted(scored, reverse=True):
        if gi not in used_g and pi not in used_p:
            pairs.append((gi, pi))
            used_g.add(gi)
            used_p.add(pi)
    return sorted(pairs)


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0

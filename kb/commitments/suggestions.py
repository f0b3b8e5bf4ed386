"""Compliance suggestions measured against a hand-labelled set (evals/commitments/compliance.yaml):
national-report passages in English, French, German, Italian and Japanese, each labelled +1, 0 or −1
for one commitment and one country.

Each passage goes through the steps it would take as evidence in an index (kb.commitments.evidence:
its cosine to the commitment, the topic, subject and length tests) and then through
`compliance.suggest` with that passage as the country's only evidence; the suggestion is compared
with the label. Retrieval itself is not measured here (the evidence tests are).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml

from kb.commitments import compliance, evidence
from kb.commitments import topics as topics_mod
from kb.commitments.rules import Rules
from kb.commitments.types import Commitment, Evidence
from kb.config import Settings
from kb.errors import UsageError
from kb.models import embed

LABELLED_PATH = Path(__file__).resolve().parents[2] / "evals" / "commitments" / "compliance.yaml"
LABELS = (1, 0, -1)
# The title a labelled passage is embedded and checked with: as every passage of the set, a national
# report on what was done against migrant smuggling (its paragraphs need not say "smuggling" to be
# on the subject; a paragraph on fisheries in it is still kept out by the topic and score tests).
TITLE = "Test fixture — national report on countering migrant smuggling"


@dataclass
class SuggestionReport:
    """Accuracy of the suggestions, their confusion matrix (label → suggestion → count), accuracy
    by language, and each disagreement."""

    items: int
    accuracy: float
    confusion: dict[int, dict[int, int]]
    by_language: dict[str, float]
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def load(path: Path | None = None) -> list[dict]:
    """The labelled items; a UsageError names a malformed one."""
    path = path or LABELLED_PATH
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not a labelled set (a YAML mapping with `items:`): {exc}") from None
    for n, item in enumerate(items, 1):
        missing = {"id", "commitment", "country", "language", "label", "passage"} - set(item)
        if missing or item.get("label") not in LABELS:
            raise UsageError(
                f"{path}: item {n} ({item.get('id', '?')}): needs {sorted(missing) or 'label 1, 0 or -1'}"
            )
    return items


def evaluate(
    settings: Settings,
    commitments: list[Commitment],
    rules: Rules,
    taxonomy: topics_mod.Taxonomy,
    path: Path | None = None,
) -> SuggestionReport:
    """The suggestions for every labelled item against its label."""
    items = load(path)
    by_key = {c.key: c for c in commitments}
    unknown = sorted({i["commitment"] for i in items} - set(by_key))
    if unknown:
        raise UsageError(
            f"the labelled set names commitments the index does not hold ({', '.join(unknown[:3])}…): "
            "index sources/ together with evals/corpus/ first (see evals/commitments/README.md)"
        )
    texts = [i["passage"].strip() for i in items]
    vectors = embed.encode(
        settings, [embed.embedding_text(t, TITLE, "", settings.embed_context) for t in texts]
    )
    asked = sorted({i["commitment"] for i in items})
    questions = embed.encode(settings, [evidence.query_text(by_key[k].text) for k in asked], query=True)
    qvec = dict(zip(asked, questions, strict=True))
    tags = topics_mod.tag_embedded(settings, taxonomy, [f"{t}\n" for t in texts], vectors)
    confusion = {label: dict.fromkeys(LABELS, 0) for label in LABELS}
    right: dict[str, list[bool]] = {}
    errors = []
    for item, text, vec, topics in zip(items, texts, vectors, tags, strict=True):
        c = by_key[item["commitment"]]
        score = float(embed.comparable(settings, float(np.dot(vec, qvec[c.key]))))
        found = [
            Evidence(
                c.key,
                item["id"],
                item["id"],
                item["country"],
                "national-report",
                "",
                round(score, 4),
                1,
                item["id"],
                text,
            )
        ]
        shared = {t.key for t in topics} & set(c.topic_keys)  # as kb.commitments.evidence.find
        if (
            score < rules.evidence.min_score
            or not shared
            or not evidence.on_subject(text, TITLE, rules.evidence)
        ):
            found = []
        got = compliance.suggest(c, item["country"], found, rules.compliance).score
        confusion[item["label"]][got] += 1
        right.setdefault(item["language"], []).append(got == item["label"])
        if got != item["label"]:
            errors.append(
                {
                    "id": item["id"],
                    "label": item["label"],
                    "suggested": got,
                    "score": round(score, 3),
                    "topics_shared": sorted(shared),
                    "note": item.get("note", ""),
                }
            )
    hits = sum(v for label in LABELS for got, v in confusion[label].items() if got == label)
    return SuggestionReport(
        len(items),
        hits / len(items),
        confusion,
        {lang: sum(v) / len(v) for lang, v in sorted(right.items())},
        errors,
    )

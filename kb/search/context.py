"""Each document's own context as ranking evidence: its country, year and title embedded as one
short text ("Niger, 2018. NER statement, UN General Debate 2018", kb.models.embed.context_text), so
that a question describing a country or an occasion in other words than the documents use ("a
Sahel transit country", "Bishkek") ranks that document's passages higher.

The context is scored beside the passage, not embedded with it: a passage's own cosine stays the
evidence that abstention and the commitments' links are calibrated on (docs/paraphrase.md), and
RankingSettings.context_weight sets its share. Ingest stores each document's context vector in the
registry (ingest.pipeline.store_contexts); a document without one (an index built before) has it
embedded here, once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from kb.config import Settings
from kb.index.store import Index
from kb.models import embed
from kb.types import Document

_lock = threading.Lock()
# (model, context text) → its unit vector, for documents whose index holds none (1.5 KB each).
_vectors: dict[tuple[str, str], np.ndarray] = {}
# The last documents' (model, documents, ids, context vectors): Index.documents() gives the same
# list object until an ingest changes the registry, so a question costs one matrix product.
_last: tuple[str, Sequence[Document], list[str], np.ndarray] | None = None


def cosines(index: Index, documents: Sequence[Document], qvec: np.ndarray) -> dict[str, float]:
    """Each document's id → the cosine between the question's vector and its context's."""
    if not documents:
        return {}
    ids, matrix = _matrix(index, documents)
    return dict(zip(ids, (matrix @ qvec).tolist()))


def added(
    cos: np.ndarray, doc_ids: Sequence[str], near: dict[str, float], settings: Settings, scaled: bool = True
) -> np.ndarray:
    """Candidates' dense scores plus context_weight times their documents' context cosines (`near`,
    from `cosines`), taken on the scale of `cos` (`scaled`: embed.comparable's, which the
    candidates' evidence cosines use, else the raw cosine), so that the weight means the same
    whichever cosines the ranking uses."""
    own = np.array([near.get(d, 0.0) for d in doc_ids], dtype=np.float64)
    return cos + settings.ranking.context_weight * (
        np.asarray(embed.comparable(settings, own)) if scaled else own
    )


def _matrix(index: Index, documents: Sequence[Document]) -> tuple[list[str], np.ndarray]:
    global _last
    model = index.settings.model_id
    last = _last
    if last is not None and last[0] == model and last[1] is documents:
        return last[2], last[3]
    stored = index.contexts(model)
    texts = [embed.context_text(d) for d in documents]
    known: dict[str, np.ndarray] = {}
    for document, text in zip(documents, texts):
        if (kept := stored.get(document.id)) is not None and kept[0] == text:
            known[text] = kept[1]
    with _lock:
        known.update({t: _vectors[(model, t)] for t in texts if t not in known and (model, t) in _vectors})
    if missing := list(dict.fromkeys(t for t in texts if t not in known)):
        found = dict(zip(missing, embed.encode(index.settings, missing)))
        known.update(found)
        with _lock:
            _vectors.update(((model, t), v) for t, v in found.items())
    ids, matrix = [d.id for d in documents], np.stack([known[t] for t in texts])
    _last = (model, documents, ids, matrix)
    return ids, matrix

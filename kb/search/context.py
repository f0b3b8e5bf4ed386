"""Each document's own context as ranking evidence: its country, year and title embedded once as a
short text ("Niger, 2018. NER statement, UN General Debate 2018"), so that a question describing a
country or an occasion in other words than the documents use ("a Sahel transit country", "the
Baltic state bordering Russia") ranks that document's passages higher.

The context is scored beside the passage, not embedded with it: a passage's own cosine stays the
evidence that abstention and the commitments' links are calibrated on (docs/paraphrase.md,
"Document context"), and no index has to be rebuilt. RankingSettings.context_weight sets its share.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from kb.config import Settings
from kb.models import embed
from kb.text.places import country_name
from kb.types import Document

_lock = threading.Lock()
# (model, context text) → its unit vector: one short embedding per document, once per process
# (1.5 KB each at 384 dimensions; a document whose title or date changes adds one).
_vectors: dict[tuple[str, str], np.ndarray] = {}


def text(document: Document) -> str:
    """What the model reads for a document's context: "Italy, 2024. ITA statement, UN General
    Debate 2024"; the title alone when neither country nor date is known."""
    lead = ", ".join(
        x for x in (country_name(document.country) if document.country else "", document.date[:4]) if x
    )
    return f"{lead}. {document.cite_title}" if lead else document.cite_title


def cosines(settings: Settings, documents: Sequence[Document], qvec: np.ndarray) -> dict[str, float]:
    """Each document's id → the cosine between the question's vector and its context's."""
    if not documents:
        return {}
    ids, matrix = _matrix(settings, documents)
    return dict(zip(ids, (matrix @ qvec).tolist()))


# The last documents' (ids, context vectors): Index.documents() gives the same list object until an
# ingest changes the registry, so a question costs one matrix product, not a lookup per document.
_last: tuple[str, Sequence[Document], list[str], np.ndarray] | None = None


def _matrix(settings: Settings, documents: Sequence[Document]) -> tuple[list[str], np.ndarray]:
    global _last
    model = settings.model_id
    last = _last
    if last is not None and last[0] == model and last[1] is documents:
        return last[2], last[3]
    texts = [text(d) for d in documents]
    with _lock:
        known = {t: _vectors[(model, t)] for t in texts if (model, t) in _vectors}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        found = dict(zip(missing, embed.encode(settings, missing)))
        known.update(found)
        with _lock:
            _vectors.update(((model, t), v) for t, v in found.items())
    ids, matrix = [d.id for d in documents], np.stack([known[t] for t in texts])
    _last = (model, documents, ids, matrix)
    return ids, matrix

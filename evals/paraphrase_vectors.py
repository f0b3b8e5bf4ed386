"""Passage and sentence vectors for retrieval experiments, computed once per index and kept on disk.

The experiments (evals/paraphrase_experiments.py) and the answer-latency prototype
(evals/answer_latency.py) need, for every passage of a suite's index, its vector as stored, as it
would be with other embedding text (no context, or the document's country and year prefixed), and
the vectors of its sentences. They are computed with kb's own encoder (kb.models.embed.encode) and cached
under `<cache>/paraphrase-exp/<index>/`, keyed by the index generation and the passage ids, so a
rerun on an unchanged index embeds nothing.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.api import Library
from kb.index import lexical
from kb.models import embed
from kb.text.places import country_name
from kb.types import Document, Passage

KINDS = ("stored", "plain", "prefix", "suffix-name")
ENCODE_CHUNK = 256  # texts per call to the encoder, between progress lines


@dataclass
class Corpus:
    """A suite's index as the experiments read it: passages in BM25 snapshot row order, and vectors."""

    library: Library
    snap: lexical.Snapshot
    passages: list[tuple[Passage, Document]]
    cache_dir: Path
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)
    _sentences: tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]] | None = None

    @classmethod
    def open(cls, library: Library, cache_root: Path) -> Corpus:
        index = library.index()
        snap = lexical.load(index.dir)
        found: dict = {}
        for i in range(0, len(snap.ids), 2000):
            found.update(index.get(list(snap.ids[i : i + 2000])))
        missing = [pid for pid in snap.ids if pid not in found]
        if missing:
            raise SystemExit(
                f"{len(missing)} passages of the BM25 snapshot are not in SQLite, e.g. {missing[0]}"
            )
        key = hashlib.sha256("\n".join(snap.ids).encode()).hexdigest()[:12]
        where = (
            cache_root / "paraphrase-exp" / f"{index.dir.parent.parent.name}-{index.dir.parent.name}-{key}"
        )
        where.mkdir(parents=True, exist_ok=True)
        return cls(library, snap, [found[pid] for pid in snap.ids], where)

    @property
    def index(self):
        return self.library.index()

    def vectors(self, kind: str) -> np.ndarray:
        """Unit vectors of every passage, by snapshot row: `stored` (what the index holds), or
        another kind of `embedding_text`."""
        if kind not in self._vectors:
            if kind == "stored":
                self._vectors[kind] = self._stored()
            else:
                texts = [embedding_text(kind, p, d) for p, d in self.passages]
                self._vectors[kind] = self._encoded(kind, texts)
        return self._vectors[kind]

    def documents(self) -> tuple[np.ndarray, np.ndarray]:
        """(one vector per document of the context alone, as `kb.models.embed.context_text` words it; the
        row of each passage's document in it, by snapshot row)."""
        rows: dict[str, int] = {}
        texts: list[str] = []
        owner = []
        for _, d in self.passages:
            if d.id not in rows:
                rows[d.id] = len(texts)
                texts.append(embed.context_text(d))
            owner.append(rows[d.id])
        return self._encoded("documents", texts), np.array(owner)

    def sentences(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
        """(sentence vectors, the snapshot row of each sentence's passage, (row, start, end) of
        each): every sentence of every passage, embedded as kb.answer.quote.pick_sentences embeds them."""
        if self._sentences is None:
            spans: list[tuple[int, int, int]] = []
            for row, (p, _) in enumerate(self.passages):
                for a, b in p.sentences or ((0, len(p.text)),):
                    if p.text[a:b].strip():
                        spans.append((row, a, b))
            texts = [self.passages[r][0].text[a:b] for r, a, b in spans]
            vectors = self._encoded("sentences", texts)
            self._sentences = (vectors, np.array([r for r, _, _ in spans]), spans)
        return self._sentences

    def _stored(self) -> np.ndarray:
        collection = self.index.collection
        out = []
        for i in range(0, len(self.snap.ids), 2000):
            chunk = list(self.snap.ids[i : i + 2000])
            got = collection.get(ids=chunk, include=["embeddings"])
            by_id = dict(zip(got["ids"], got["embeddings"]))
            out.extend(by_id[pid] for pid in chunk)
        return np.asarray(out, dtype=np.float32)

    def _encoded(self, kind: str, texts: list[str]) -> np.ndarray:
        digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:12]
        path = self.cache_dir / f"{kind}-{digest}.npy"
        if path.is_file():
            return np.load(path)
        settings = self.library.settings
        parts, started = [], time.perf_counter()
        for i in range(0, len(texts), ENCODE_CHUNK):
            parts.append(embed.encode(settings, texts[i : i + ENCODE_CHUNK]))
            done = i + len(parts[-1])
            rate = done / (time.perf_counter() - started)
            print(f"  {kind}: {done}/{len(texts)} embedded ({rate:.0f}/s)", file=sys.stderr, flush=True)
        vectors = np.concatenate(parts) if parts else np.zeros((0, embed.dimension(settings)), np.float32)
        np.save(path, vectors)
        return vectors


def embedding_text(kind: str, passage: Passage, document: Document) -> str:
    """What the model reads for a passage in an experiment: the text alone (`plain`);
    `prefix`: "Italy, 2024. ITA statement, UN General Debate 2024 — heading" then the text;
    `suffix-name`: the same context after the text, in parentheses, where kb.models.embed.embedding_text
    puts its own (title and heading only)."""
    if kind == "plain":
        return passage.text
    context = " — ".join(x for x in (document.cite_title, passage.heading) if x)
    lead = ", ".join(x for x in (country_name(document.country), document.date[:4]) if x)
    context = f"{lead}. {context}" if lead else context
    if kind == "suffix-name":
        return f"{passage.text}\n({context})"
    return f"{context}\n{passage.text}"

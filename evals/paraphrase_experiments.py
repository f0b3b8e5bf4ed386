"""Ablations for finding passages by meaning: document context in the embedded text, query-side
expansion, sentence-level dense matching and fusion weights, on any suites.

    python -m evals.paraphrase_experiments evals/suites/un-paraphrase.yaml evals/suites/un-statements.yaml \
        [--variants baseline,plain,prefix,...] [--out FILE]

Each variant ranks every question of a suite with kb's own first stage (`kb.search.retrieve.gather`: the
question parsed, its filters and named documents applied, its embedding and every passage's BM25
score) and then its own second stage, written here so that an experiment is a configuration
(a `Variant`), not a patched kb/search/retrieve.py:

- dense: exact cosine with every passage vector of the variant's kind (kb.search.retrieve compares every
  vector up to 5,000 passages and asks Chroma's graph above that), optionally the maximum with the
  passage's best sentence;
- hybrid: kb.search.retrieve's convex combination over the union of the 50 best of each retriever
  (dense_weight · min-max cosine + (1 − dense_weight) · BM25 / best BM25, the country and year
  bonuses, the dense part standing in for BM25 on passages in another language than the question);
- optionally pseudo-relevance feedback (the question's vector moved toward the mean of the first
  ranking's top PRF_DEPTH passages, then ranked again) or an adaptive weight (dense only when BM25's
  best passage holds no rare term of the question, or covers little of it).

The harness skips what kb.answer.ask adds on top of retrieval (searching a named country or year
first, diversifying documents), so its `baseline` differs a little from `kb eval`'s hybrid figures;
every variant is compared with that baseline on the same harness (Fisher's randomization test, as
`kb eval`). Vectors other than the stored ones are computed once and cached (evals/paraphrase_vectors.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.paraphrase_check import MAX_SHARE
from evals.paraphrase_vectors import Corpus
from kb.config import RankingSettings, Settings
from kb.evaluate import corpus as corpus_mod
from kb.evaluate import metrics
from kb.evaluate import suite as suite_mod
from kb.index.lexical import lexical_text
from kb.models import embed
from kb.search import retrieve
from kb.text import analyzer

METRICS = ["recall@5", "ndcg@10", "mrr@10"]
_RANKING = RankingSettings()  # the ranking as it stands, whose second stage the variants replace
PRF_DEPTH = 3  # passages of the first ranking whose mean vector feeds back into the question's
LOW_COVERAGE = 0.5  # "coverage": BM25's best passage holds under half the question's weighted terms


@dataclass(frozen=True)
class Variant:
    """One configuration of the second stage."""

    name: str
    vectors: str = "stored"  # "stored", or a kind of evals.paraphrase_vectors.embedding_text
    sentences: bool = False  # a passage's dense score: the maximum of its own and its best sentence's
    dense_weight: float = _RANKING.cc_dense_weight
    prf: float = 0.0  # weight of the top passages' mean vector added to the question's (0: none)
    # "rare", "coverage" or "coverage-monolingual": dense only when BM25 finds no rare term / covers little
    adaptive: str = ""
    low_coverage: float = (
        LOW_COVERAGE  # "coverage": below this share BM25's best passage counts as no evidence
    )
    adaptive_weight: float = 1.0  # the dense weight then (1.0: dense only)
    mode: str = "hybrid"  # or "dense"
    # a passage's dense score plus this times the question's cosine to its document's context alone
    # (kb.models.embed.context_text): the document's country, year and title, scored
    # beside the passage instead of embedded with it
    context_weight: float = 0.0
    # whether the dense candidates are chosen with the context's share too (False: by the passage's
    # cosine alone, the context then only reorders the pool, as above Chroma's exact-search limit)
    context_first: bool = True


VARIANTS = {
    v.name: v
    for v in (
        Variant("baseline"),
        Variant("dense", mode="dense"),
        Variant("plain", vectors="plain"),
        Variant("prefix", vectors="prefix"),
        Variant("prefix-dense", vectors="prefix", mode="dense"),
        Variant("suffix-name", vectors="suffix-name"),
        Variant("suffix-name-dense", vectors="suffix-name", mode="dense"),
        Variant("prefix-adaptive", vectors="prefix", adaptive="coverage-monolingual"),
        Variant("prf-0.5", prf=0.5),
        Variant("prf-1.0", prf=1.0),
        Variant("adaptive-rare", adaptive="rare"),
        Variant("adaptive-coverage", adaptive="coverage"),
        Variant("adaptive-coverage-monolingual", adaptive="coverage-monolingual"),
        Variant("adaptive-coverage-0.3", adaptive="coverage", low_coverage=0.3),
        Variant("adaptive-coverage-0.4", adaptive="coverage", low_coverage=0.4),
        Variant("adaptive-coverage-w0.8", adaptive="coverage", adaptive_weight=0.8),
        Variant("adaptive-coverage-w0.9", adaptive="coverage", adaptive_weight=0.9),
        Variant("sentences", sentences=True),
        Variant("sentences-dense", sentences=True, mode="dense"),
        *(
            Variant(f"{name}context-{w}", context_weight=w, **extra)
            for w in (0.1, 0.2, 0.3, 0.5)
            for name, extra in (
                ("", {}),
                ("adaptive-", {"adaptive": "coverage-monolingual", "low_coverage": 0.3}),
                ("dense-", {"mode": "dense"}),
                ("pool-", {"context_first": False}),
                (
                    "pool-adaptive-",
                    {"context_first": False, "adaptive": "coverage-monolingual", "low_coverage": 0.3},
                ),
            )
        ),
        Variant("adaptive-0.3", adaptive="coverage-monolingual", low_coverage=0.3),
        Variant("w0.5", dense_weight=0.5),
        Variant("w0.7", dense_weight=0.7),
        Variant("w0.8", dense_weight=0.8),
        Variant("w0.9", dense_weight=0.9),
    )
}
DEFAULT = "baseline,dense,prf-0.5,prf-1.0,adaptive-rare,adaptive-coverage,w0.5,w0.7,w0.8,w0.9"


def rank(corpus: Corpus, found: retrieve.Candidates, v: Variant, k: int) -> list[str]:
    """The passage ids of the top k for one question under a variant, best first."""
    qvec = found.fvec
    ranking = _ranked(corpus, found, v, qvec, v.dense_weight)
    if v.prf:
        top = [corpus.snap.position[pid] for pid in ranking[:PRF_DEPTH]]
        if top:
            moved = qvec + v.prf * corpus.vectors(v.vectors)[top].mean(axis=0)
            ranking = _ranked(corpus, found, v, moved / np.linalg.norm(moved), v.dense_weight)
    return ranking[:k]


def _ranked(
    corpus: Corpus, found: retrieve.Candidates, v: Variant, qvec: np.ndarray, weight: float
) -> list[str]:
    snap = corpus.snap
    cos = corpus.vectors(v.vectors) @ qvec
    first = cos
    if v.context_weight:
        contexts, owner = corpus.documents()
        cos = cos + v.context_weight * (contexts @ qvec)[owner]
        first = cos if v.context_first else first
    if v.sentences:
        svec, owner, _ = corpus.sentences()
        best = np.full(len(snap), -1.0, dtype=np.float32)
        np.maximum.at(best, owner, svec @ qvec)
        cos = np.maximum(cos, best)
    mask = found.query.filters.mask(snap)
    rows = np.flatnonzero(mask) if mask is not None else np.arange(len(snap))
    dense = rows[np.argsort(-first[rows], kind="stable")[: _RANKING.candidates]]
    if v.mode == "dense":
        return [snap.ids[i] for i in dense]
    pool = list(dict.fromkeys([snap.ids[i] for i in dense] + [pid for pid, _ in found.sparse]))
    at = np.array([snap.position[pid] for pid in pool])
    docs = [corpus.passages[i][1] for i in at]
    other = np.array([analyzer.other_language(d.language, found.terms.language) for d in docs])
    # "…-monolingual": only when every candidate is in the question's language (across languages
    # the dense part already stands in for BM25, and e5 favours passages in the question's own).
    across = v.adaptive.endswith("-monolingual") and other.any()
    if v.adaptive and found.sparse and not across and _bm25_unreliable(corpus, found, v):
        weight = v.adaptive_weight
    c = np.asarray(embed.comparable(corpus.library.settings, cos[at]), dtype=np.float64)
    bm = found.bm25[at] if found.bm25 is not None else np.zeros(len(at))
    span = c.max() - c.min()
    dense_part = (c - c.min()) / span if span > 1e-9 else np.ones_like(c)
    sparse_part = bm / bm.max() if bm.max() > 0 else np.zeros_like(bm)
    sparse_part = np.where(other, dense_part, sparse_part)
    fused = weight * dense_part + (1 - weight) * sparse_part
    if found.said:
        fused = fused + np.array(
            [
                _RANKING.place_bonus * p + _RANKING.year_bonus * y
                for p, y in (found.said.matches(d) for d in docs)
            ]
        )
    order = sorted(range(len(pool)), key=lambda j: (-fused[j], pool[j]))
    return [pool[j] for j in order]


def _bm25_unreliable(corpus: Corpus, found: retrieve.Candidates, v: Variant) -> bool:
    """Whether BM25's best passage gives no lexical evidence: it holds none of the question's rare
    terms (in at most MAX_SHARE of the passages; "rare"), or under LOW_COVERAGE of its weighted
    terms ("coverage", Variant.low_coverage)."""
    passage, document = corpus.passages[corpus.snap.position[found.sparse[0][0]]]
    have = set(analyzer.analyze(lexical_text(passage.text, passage.heading), document.language or "en"))
    if v.adaptive.startswith("coverage"):
        return found.terms.coverage(have, document.country, document.date) < v.low_coverage
    limit = MAX_SHARE * len(corpus.snap)
    rare = {t for t in found.terms.weights if 0 < corpus.snap.doc_freq.get(t, 0) <= limit}
    return not (rare & have)


def run(suite_path: Path, variants: list[Variant], cache: Path) -> tuple[str, list[dict]]:
    """Every variant on one suite: a Markdown table and its rows."""
    suite = suite_mod.load(suite_path)
    library, _ = corpus_mod.index_for(suite.corpus, Settings.from_env(), cache)
    judged = suite_mod.resolve(suite, library)
    corpus = Corpus.open(library, cache)
    for kind in dict.fromkeys(v.vectors for v in variants):
        corpus.vectors(kind)
    if any(v.context_weight for v in variants):
        corpus.documents()
    if any(v.sentences for v in variants):
        corpus.sentences()
    index = library.index()
    queries = [q for q in suite.queries if q.answerable]
    rankings: dict[str, dict[str, list[str]]] = {v.name: {} for v in variants}
    seconds: dict[str, float] = {v.name: 0.0 for v in variants}
    gather_s = 0.0
    for q in queries:
        t0 = time.perf_counter()
        found = retrieve.gather(index, q.question, "hybrid", q.filters, _RANKING.candidates, True, "cc")
        gather_s += time.perf_counter() - t0
        for v in variants:
            t0 = time.perf_counter()
            ids = rank(corpus, found, v, suite.k)
            seconds[v.name] += time.perf_counter() - t0
            units = judged.units.get(q.id, {})
            rankings[v.name][q.id] = list(
                dict.fromkeys(units.get(pid) or pid.replace(" ", "_") for pid in ids)
            )
    scored = metrics.score(judged.qrels, rankings, METRICS)
    base = variants[0].name
    rows = []
    for v in variants:
        row = {"suite": suite.name, "variant": v.name, **scored[v.name]["mean"]}
        row["ms"] = 1000 * seconds[v.name] / max(len(queries), 1)
        for m in ("recall@5", "ndcg@10"):
            a = np.array([scored[v.name]["per_query"][m][qid] for qid in judged.qrels])
            b = np.array([scored[base]["per_query"][m][qid] for qid in judged.qrels])
            row[f"p {m}"] = metrics.randomization_p(a, b) if v.name != base else None
        rows.append(row)
    lines = [
        f"### {suite.name} ({len(queries)} questions, {len(corpus.passages)} passages; "
        f"kb.search.retrieve.gather {1000 * gather_s / max(len(queries), 1):.0f} ms per question)",
        "",
        "| Variant | Recall@5 | nDCG@10 | MRR@10 | p (R@5, nDCG@10) vs "
        + base
        + " | ms per question after gather |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = "" if r["p recall@5"] is None else f"{r['p recall@5']:.3f}, {r['p ndcg@10']:.3f}"
        lines.append(
            f"| {r['variant']} | {r['recall@5']:.3f} | {r['ndcg@10']:.3f} | {r['mrr@10']:.3f} | {p} | {r['ms']:.1f} |"
        )
    library.close()
    return "\n".join(lines) + "\n", rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.paraphrase_experiments", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("suites", nargs="+", type=Path)
    ap.add_argument(
        "--variants",
        default=DEFAULT,
        help=f"comma-separated, the first is the baseline; of {', '.join(VARIANTS)}",
    )
    ap.add_argument("--cache", type=Path, default=corpus_mod.DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, help="also append the tables to this Markdown file")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        print(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    variants = [VARIANTS[n] for n in names]
    for path in args.suites:
        table, _ = run(path, variants, args.cache)
        print(table, flush=True)
        if args.out:
            with args.out.open("a", encoding="utf-8") as f:
                f.write(
                    f"`python -m evals.paraphrase_experiments {path} --variants {','.join(names)}`\n\n{table}\n"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

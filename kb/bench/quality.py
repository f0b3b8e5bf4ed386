"""Retrieval quality of the project's hybrid pipeline and of the llama-index baseline on the
shipped evaluation suite (evals/suites/g7-smuggling.yaml), with the evaluation harness's own
judgments and ranx metrics.

The project's side is exactly what `kb eval` scores (kb.evaluate.runner.ask_one, hybrid).
The baseline returns chunks of about 1,024 tokens, not paragraphs; how a chunk is counted
against the suite's paragraph judgments is `baseline.units_of`.
"""

from __future__ import annotations

from pathlib import Path

from kb.bench import baseline
from kb.bench.corpus import SUITE
from kb.config import Settings

METRICS = ["recall@5", "ndcg@10"]
OURS = "kb hybrid"
BASELINE = "llama-index baseline"


def measure(settings: Settings, cache: Path, with_baseline: bool = True) -> dict:
    """Recall@5 and nDCG@10 of both systems on the suite (baseline skipped if asked)."""
    from kb.evaluate import corpus, metrics, runner
    from kb.evaluate import suite as suite_mod

    suite = suite_mod.load(SUITE)
    index, _ = corpus.index_for(suite.corpus, settings, cache / "eval")
    judged = suite_mod.resolve(suite, index)
    answerable = [q for q in suite.queries if q.id in judged.qrels]
    runs = {
        OURS: {q.id: runner.ask_one(index, suite, judged, q, "hybrid", suite.k).ranking() for q in answerable}
    }
    lenient: dict[str, float | None] = {OURS: None}  # for our paragraphs, the same as recall@5
    info: dict = {}
    if with_baseline:
        sources, manifest = corpus.sources_for(suite.corpus, cache / "eval")
        built = baseline.build(sources, manifest, cache / "eval-baseline", settings)
        retriever = baseline.open_index(cache / "eval-baseline", settings).as_retriever(
            similarity_top_k=suite.k
        )
        passages = {p.id: p for p, _ in index.all_passages()}
        ranked: dict[str, list[str]] = {}
        recall: list[float] = []
        for q in answerable:
            relevant = [
                (passages[pid].doc_id, passages[pid].text, unit, judged.qrels[q.id][unit])
                for pid, unit in judged.units.get(q.id, {}).items()
                if pid in passages and unit in judged.qrels[q.id]
            ]
            chunks = [
                (n.node.node_id, n.node.metadata.get("doc_id", ""), n.node.get_content())
                for n in retriever.retrieve(q.question)
            ]
            ranked[q.id], _ = baseline.units_of(chunks, relevant)
            _, covered = baseline.units_of(chunks[:5], relevant)
            recall.append(len(covered & set(judged.qrels[q.id])) / len(judged.qrels[q.id]))
        runs[BASELINE] = ranked
        lenient[BASELINE] = sum(recall) / len(recall)
        info = {"chunks": built["chunks"], "documents": built["documents"]}
    scores = metrics.score(judged.qrels, runs, METRICS)
    lenient[OURS] = scores[OURS]["mean"]["recall@5"]
    index.close()
    return {
        "suite": str(SUITE.relative_to(SUITE.parents[2])),
        "questions": len(answerable),
        "questions_with_filters": sum(1 for q in answerable if q.filters),
        "k": suite.k,
        "systems": {
            name: {
                **{m: round(scores[name]["mean"][m], 4) for m in METRICS},
                "recall@5_any_overlap": round(lenient[name], 4),
            }
            for name in runs
        },
        "baseline_index": info,
    }

"""The report of an evaluation as data (report.json, everything), and writing it with report.md
for people (markdown.py), TREC run and qrels files for other tools (trec.py) and metrics.png
(chart.py)."""

from __future__ import annotations

import json
from pathlib import Path

from kb.evaluate import metrics as m
from kb.evaluate.chart import CHART_FILE, write_chart
from kb.evaluate.markdown import markdown
from kb.evaluate.runner import Results
from kb.evaluate.trec import QRELS_FILE, run_file_name, trec_qrels, trec_run


def summarise(results: Results, metric_names: list[str], stat_test: str = "fisher") -> dict:
    """The report as plain data (what report.json holds): metrics per run, comparison, per-query
    outcomes, checks, abstention and the threshold sweep."""
    suite = results.suite
    rankings = {r.name: {qid: x.ranking() for qid, x in r.ranked.items()} for r in results.runs}
    judged = results.qrels
    scores = (
        m.score(judged, rankings, metric_names)
        if judged
        else {r.name: {"mean": {}, "per_query": {}} for r in results.runs}
    )
    comparison = m.compare(judged, rankings, metric_names, stat_test) if judged else {}
    answerable = {q.id: q.answerable for q in suite.queries}
    measured = suite.unit != "document"  # BEIR datasets measure retrieval only: no abstention
    runs = {}
    sweeps = {}
    grid = (
        m.threshold_grid([x.evidence for r in results.runs for x in r.ranked.values()], results.abstain_below)
        if measured
        else []
    )
    for r in results.runs:
        values = dict(scores[r.name]["mean"])
        if r.checks:
            values[m.CHECKS] = sum(c.passed for c in r.checks) / len(r.checks)
        runs[r.name] = {
            "config": r.config,
            "mode": r.mode,
            "metrics": values,
            "checks_passed": sum(c.passed for c in r.checks),
            "checks_total": len(r.checks),
            "abstention": None,
            "best_threshold": None,
            "mean_latency_ms": round(
                1000 * sum(x.seconds for x in r.ranked.values()) / max(1, len(r.ranked)), 1
            ),
        }
        if measured:
            evidence = {qid: x.evidence for qid, x in r.ranked.items()}
            abstained = {qid: x.abstained for qid, x in r.ranked.items()}
            sweeps[r.name] = m.sweep(evidence, answerable, grid)
            runs[r.name]["abstention"] = m.abstention(evidence, abstained, answerable)
            runs[r.name]["best_threshold"] = m.best_threshold(sweeps[r.name])
    queries = []
    for q in suite.queries:
        relevant = results.qrels.get(q.id, {})
        entry = {
            "id": q.id,
            "question": q.question,
            "answerable": q.answerable,
            "filters": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(q.filters).items() if v},
            "relevant": relevant,
            "runs": {},
        }
        for r in results.runs:
            x = r.ranked[q.id]
            entry["runs"][r.name] = {
                "first_relevant": x.first_relevant(relevant),
                "evidence": None if x.evidence is None else round(x.evidence, 4),
                "abstained": x.abstained,
                "metrics": {name: scores[r.name]["per_query"][name].get(q.id) for name in metric_names}
                if q.id in judged
                else {},
                "returned": [
                    {
                        "rank": h.rank,
                        "passage": h.passage.id,
                        "unit": u,
                        "citation": h.citation,
                        "relevant": relevant.get(u, 0) if u else 0,
                        "score": round(h.score, 6),
                    }
                    for h, u in zip(x.hits, x.units)
                ],
            }
        queries.append(entry)
    checks = [
        {
            "id": c.id,
            "kind": c.kind,
            "questions": list(c.questions),
            "runs": {r.name: next(x.to_dict() for x in r.checks if x.id == c.id) for r in results.runs},
        }
        for c in suite.checks
    ]
    return {
        "suite": {
            "name": suite.name,
            "path": str(suite.path),
            "description": suite.description,
            "corpus": suite.corpus.describe(),
            "unit": suite.unit,
            "queries": len(suite.queries),
            "judged": len(judged),
            "unanswerable": sum(not q.answerable for q in suite.queries),
            "checks": len(suite.checks),
        },
        "configuration": {
            "k": results.k,
            "modes": list(results.modes),
            "configs": [vars(c) | {"not_indexed": list(c.not_indexed)} for c in results.configs],
            "abstain_below": results.abstain_below,
            "metrics": metric_names,
            "stat_test": stat_test,
            "environment": results.environment,
            "seconds": results.seconds,
        },
        "runs": runs,
        "comparison": comparison,
        "queries": queries,
        "checks": checks,
        "sweep": sweeps,
    } | ({"languages": by_language(results, scores, metric_names)} if results.passage_languages else {})


LANGUAGE_METRICS = ("recall@5", "ndcg@10")


def by_language(results: Results, scores: dict, metric_names: list[str]) -> dict:
    """Recall@5 and nDCG@10 averaged per (question language, passage language): the judged questions
    that give their `language`, grouped with the language of the documents that answer them.

    Returns {"metrics": [...], "rows": [{"question", "passages", "queries", "runs": {run: {metric: mean}}}]}.
    """
    shown = [x for x in LANGUAGE_METRICS if x in metric_names]
    groups: dict[tuple[str, str], list[str]] = {}
    for q in results.suite.queries:
        if q.id in results.passage_languages:
            groups.setdefault((q.language, results.passage_languages[q.id]), []).append(q.id)
    rows = []
    for (question, passages), ids in sorted(groups.items()):
        rows.append(
            {
                "question": question,
                "passages": passages,
                "queries": len(ids),
                "runs": {
                    r.name: {
                        x: sum(scores[r.name]["per_query"][x][qid] for qid in ids) / len(ids) for x in shown
                    }
                    for r in results.runs
                },
            }
        )
    return {"metrics": shown, "rows": rows}


def write(report: dict, results: Results, out: Path) -> list[Path]:
    """Write report.json, report.md, qrels.trec, runs/<run>.trec and metrics.png into `out`; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs").mkdir(exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / QRELS_FILE]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[2].write_text(trec_qrels(results.qrels), encoding="utf-8")
    for r in results.runs:
        path = out / "runs" / f"{run_file_name(r.name)}.trec"
        path.write_text(trec_run(r.name, r.ranked), encoding="utf-8")
        paths.append(path)
    chart = out / CHART_FILE
    if any(v["metrics"] for v in report["runs"].values()):
        write_chart(report, chart)
        paths.append(chart)
    paths[1].write_text(markdown(report, chart.exists()), encoding="utf-8")
    return paths

"""The report of an evaluation: report.json (everything), report.md (for people), TREC run and
qrels files (for other tools: trec_eval, ir_measures, ranx) and metrics.png."""

from __future__ import annotations

import json
from pathlib import Path

from kb.evaluate import metrics as m
from kb.evaluate.runner import Ranked, Results

MAX_QUERY_ROWS = 200  # per-query tables in report.md are cut here (report.json has all)
MAX_FAILURES = 50  # failed queries detailed per run in report.md
CHART_FILE = "metrics.png"
QRELS_FILE = "qrels.trec"


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
    }


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


def run_file_name(name: str) -> str:
    return name.replace("/", "__")


def trec_qrels(qrels: dict[str, dict[str, int]]) -> str:
    """Qrels in TREC format: `query 0 unit grade`."""
    return "".join(
        f"{qid} 0 {unit} {grade}\n" for qid, units in qrels.items() for unit, grade in units.items()
    )


def trec_run(name: str, ranked: dict[str, Ranked]) -> str:
    """A run in TREC format: `query Q0 unit rank score tag`, each unit once, score 1/rank."""
    lines = []
    for qid, x in ranked.items():
        for rank, unit in enumerate(x.ranking(), start=1):
            lines.append(f"{qid} Q0 {unit} {rank} {1.0 / rank:.8f} {run_file_name(name)}\n")
    return "".join(lines)


def write_chart(report: dict, path: Path) -> None:
    """Grouped bars: one group per metric, one bar per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    names = list(runs)
    metric_names = [x for x in report["configuration"]["metrics"]] + (
        [m.CHECKS] if any(m.CHECKS in r["metrics"] for r in runs.values()) else []
    )
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(metric_names) * max(1, len(names)) / 2.5), 4.5))
    for i, name in enumerate(names):
        values = [runs[name]["metrics"].get(x, 0.0) for x in metric_names]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(metric_names))]
        ax.bar(xs, values, width, label=name)
    ax.set_xticks(range(len(metric_names)))
    ax.set_xticklabels(metric_names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over judged questions")
    ax.set_title(f"{report['suite']['name']}: k = {report['configuration']['k']}")
    ax.legend(fontsize="small", ncols=min(len(names), 4))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(report: dict, with_chart: bool = True) -> str:
    """report.md: configuration, metrics and comparison, checks, per-query outcomes, abstention."""
    suite, conf, runs = report["suite"], report["configuration"], report["runs"]
    names = list(runs)
    env = conf["environment"]
    out = [f"# Evaluation report: {suite['name']}", ""]
    if suite["description"]:
        out += [suite["description"], ""]
    test = m.STAT_TESTS.get(conf["stat_test"], conf["stat_test"])
    out += ["## Configuration", ""]
    out += _table(
        ["", ""],
        [
            ["Suite", f"`{suite['path']}`"],
            ["Corpus", suite["corpus"]],
            [
                "Questions",
                f"{suite['judged']} judged, {suite['unanswerable']} unanswerable; {suite['checks']} checks",
            ],
            [
                "Relevance unit",
                suite["unit"]
                + (
                    " (each relevant paragraph counts once, at the rank of its best passage)"
                    if suite["unit"] == "paragraph"
                    else " (each document counts once, at its best passage)"
                ),
            ],
            ["Modes", ", ".join(conf["modes"])],
            ["k (passages per question)", str(conf["k"])],
            ["Abstention threshold", f"ABSTAIN_BELOW = {conf['abstain_below']}"],
            ["Significance test", f"{test}, by ranx; significant at p < {m.MAX_P}"],
            ["Git commit", env.get("git_commit", "")],
            ["Date", env.get("date", "")],
            ["Machine", env.get("machine", "")],
            ["Command", f"`{env['command']}`" if env.get("command") else ""],
            ["Run time", f"{conf['seconds']} s"],
        ],
    )
    out += [""]
    out += _table(
        ["Configuration", "Model", "Changes", "Documents", "Passages", "Index", "Not indexed"],
        [
            [
                c["name"],
                c["model"],
                ", ".join(f"{k}={v}" for k, v in c["changes"].items()) or "—",
                str(c["documents"]),
                str(c["passages"]),
                f"`{c['index_dir']}`",
                str(len(c["not_indexed"])),
            ]
            for c in conf["configs"]
        ],
    )
    for c in conf["configs"]:
        for line in c["not_indexed"][:10]:
            out.append(f"- not indexed ({c['name']}): {line}")
    out += ["", "## Metrics", ""]
    winners = report.get("comparison", {}).get("winners", {})
    rows = []
    for name in conf["metrics"]:
        w = winners.get(name)
        row = [name] + [_num(runs[r]["metrics"].get(name)) for r in names]
        if w:
            mark = (
                "" if w["run"] == "tie" else (" (significant)" if w["significant"] else " (not significant)")
            )
            row += [w["run"] + mark, f"{w['p']:.3f} vs {w['runner_up']}" if w["run"] != "tie" else "—"]
        rows.append(row)
    if any(m.CHECKS in runs[r]["metrics"] for r in names):
        rows.append(
            ["checks passed"]
            + [f"{runs[r]['checks_passed']}/{runs[r]['checks_total']}" for r in names]
            + (["", ""] if winners else [])
        )
    for key, label in (("false_abstain", "false-abstain rate"), ("false_answer", "false-answer rate")):
        if all(runs[r]["abstention"] for r in names):
            rows.append(
                [label] + [_num(runs[r]["abstention"][key]) for r in names] + (["", ""] if winners else [])
            )
    rows.append(
        ["mean latency (ms)"]
        + [str(runs[r]["mean_latency_ms"]) for r in names]
        + (["", ""] if winners else [])
    )
    out += _table(["Metric"] + names + (["Winner", "p (winner vs runner-up)"] if winners else []), rows)
    out += [""]
    if winners:
        out += [
            f'Winner: best mean; "significant" when its {test} against every other run gives p < {m.MAX_P}. '
            "All pairwise p-values are in report.json (`comparison.p_values`).",
            "",
        ]
    if with_chart:
        out += [f"![Metrics per run]({CHART_FILE})", ""]
    out += _checks_section(report, names)
    out += _queries_section(report, names)
    out += _abstention_section(report, names)
    out += [
        "## Files",
        "",
        "- `report.json`: everything above, per query and per check, with the passages returned",
        f"- `{QRELS_FILE}` and `runs/<run>.trec`: qrels and runs in TREC format (units as above), e.g. "
        f"`trec_eval -m ndcg_cut.10 {QRELS_FILE} runs/{run_file_name(names[0]) if names else 'RUN'}.trec`",
        f"- `{CHART_FILE}`: the metrics chart",
        "",
    ]
    return "\n".join(out)


def _checks_section(report: dict, names: list[str]) -> list[str]:
    checks = report["checks"]
    if not checks:
        return []
    out = ["## Behavioural checks", ""]
    out += _table(
        ["Check", "Kind"] + names,
        [
            [c["id"], c["kind"]] + ["pass" if c["runs"][r]["passed"] else "**FAIL**" for r in names]
            for c in checks
        ],
    )
    failures = [(c, r) for c in checks for r in names if not c["runs"][r]["passed"]]
    if failures:
        out += ["", "### Failed checks", ""]
        for c, r in failures:
            res = c["runs"][r]
            out.append(f"- **{c['id']}** ({c['kind']}, {r}): {_md(res['detail'])}")
            for question, returned in zip(c["questions"], res["returned"]):
                listing = (
                    "; ".join(f"{i}. {_md(x)}" for i, x in enumerate(returned[:5], start=1)) or "nothing"
                )
                out.append(f"  - {_md(question)} → {listing}")
    return out + [""]


def _queries_section(report: dict, names: list[str]) -> list[str]:
    queries = [q for q in report["queries"] if q["answerable"]]
    if not queries:
        return []
    out = [
        "## Per query: rank of the first relevant passage",
        "",
        f"— means no relevant passage in the top {report['configuration']['k']}.",
        "",
    ]
    rows = [
        [q["id"], _md(q["question"])] + [_rank(q["runs"][r]["first_relevant"]) for r in names]
        for q in queries[:MAX_QUERY_ROWS]
    ]
    out += _table(["Query", "Question"] + names, rows)
    if len(queries) > MAX_QUERY_ROWS:
        out.append(f"\n({len(queries) - MAX_QUERY_ROWS} more in report.json)")
    out += ["", "### What ranked instead", ""]
    any_failure = False
    for r in names:
        failed = [q for q in queries if q["runs"][r]["first_relevant"] != 1]
        if not failed:
            continue
        any_failure = True
        out += [
            f"**{r}**: {len(failed)} of {len(queries)} questions without a relevant passage at rank 1",
            "",
        ]
        for q in failed[:MAX_FAILURES]:
            x = q["runs"][r]
            first = x["first_relevant"]
            if first is None:
                above = x["returned"][:3]
                head = f"no relevant passage in the top {report['configuration']['k']}; top {len(above)}:"
            else:
                above = [h for h in x["returned"] if h["rank"] < first]
                head = f"first relevant at rank {first}; above it:"
            listing = "; ".join(f"{h['rank']}. {_md(h['citation'])}" for h in above) or "nothing returned"
            out.append(f'- {q["id"]} "{_md(q["question"])}": {head} {listing}')
        if len(failed) > MAX_FAILURES:
            out.append(f"- … {len(failed) - MAX_FAILURES} more in report.json")
        out.append("")
    if not any_failure:
        out += ["Every question has a relevant passage at rank 1 in every run.", ""]
    return out


def _abstention_section(report: dict, names: list[str]) -> list[str]:
    runs, conf = report["runs"], report["configuration"]
    if not report["sweep"] or not names:
        return []
    out = [
        "## Abstention",
        "",
        f"`kb ask` abstains when the evidence for an answer (`Answer.evidence`, computed by kb.answer) is "
        f"below ABSTAIN_BELOW = {conf['abstain_below']}. False-abstain: an answerable question where it "
        'abstained; false-answer: an unanswerable question where it did not. "Fewest errors at" is the '
        "threshold of the sweep below with the smallest sum of the two rates.",
        "",
    ]
    out += _table(
        ["Run", "False-abstain", "False-answer", "Answerable", "Unanswerable", "Fewest errors at"],
        [
            [
                r,
                _num(runs[r]["abstention"]["false_abstain"]),
                _num(runs[r]["abstention"]["false_answer"]),
                str(runs[r]["abstention"]["answerable"]),
                str(runs[r]["abstention"]["unanswerable"]),
                _num(runs[r]["best_threshold"], 2),
            ]
            for r in names
        ],
    )
    out += ["", "### Evidence per question", ""]
    rows = [
        [q["id"], "yes" if q["answerable"] else "**no**"]
        + [
            _num(q["runs"][r]["evidence"]) + (" (abstains)" if q["runs"][r]["abstained"] else "")
            for r in names
        ]
        for q in report["queries"][:MAX_QUERY_ROWS]
    ]
    out += _table(["Query", "Answerable"] + names, rows)
    out += [
        "",
        "### Threshold sweep",
        "",
        "Each cell: false-abstain rate / false-answer rate if the threshold were set there.",
        "",
    ]
    sweeps = report["sweep"]
    thresholds = sorted({row["threshold"] for r in names for row in sweeps[r]})
    rows = []
    for t in thresholds:
        current = " ← current" if abs(t - conf["abstain_below"]) < 1e-9 else ""
        cells = []
        for r in names:
            row = next((x for x in sweeps[r] if x["threshold"] == t), None)
            cells.append(
                "" if row is None else f"{_num(row['false_abstain'], 2)} / {_num(row['false_answer'], 2)}"
            )
        rows.append([f"{t:.2f}{current}"] + cells)
    out += _table(["Threshold"] + names, rows)
    return out + [""]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _rank(rank: int | None) -> str:
    return "—" if rank is None else str(rank)


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")

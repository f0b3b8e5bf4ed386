"""report.md, the evaluation report for people: configuration, metrics with the significance of
each winner, behavioural checks, per-question outcomes and what ranked instead, abstention."""

from __future__ import annotations

from kb.evaluate import metrics as m
from kb.evaluate.chart import CHART_FILE
from kb.evaluate.trec import QRELS_FILE, run_file_name

MAX_QUERY_ROWS = 200  # per-query tables in report.md are cut here (report.json has all)
MAX_FAILURES = 50  # failed queries detailed per run in report.md


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
            ["Abstention threshold", f"abstain_below = {conf['abstain_below']}"],
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
    out += _languages_section(report, names)
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


def _languages_section(report: dict, names: list[str]) -> list[str]:
    languages = report.get("languages")
    if not languages or not languages["rows"]:
        return []
    out = [
        "## Metrics by language",
        "",
        "Judged questions that give their `language`, grouped by that language and the language of the "
        "documents that answer them (their manifest `language`; ? when it has none).",
        "",
    ]
    headers = ["Question", "Passages", "Questions"]
    headers += [f"{x} {r}" if len(names) > 1 else x for r in names for x in languages["metrics"]]
    rows = [
        [row["question"], row["passages"], str(row["queries"])]
        + [_num(row["runs"][r][x]) for r in names for x in languages["metrics"]]
        for row in languages["rows"]
    ]
    return out + _table(headers, rows) + [""]


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
        f"`kb ask` abstains when the evidence for an answer (`Answer.evidence`, computed by kb.answer.ask) is "
        f"below abstain_below = {conf['abstain_below']}. False-abstain: an answerable question where it "
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

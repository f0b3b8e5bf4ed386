"""Evaluation: metric values against known answers and a reference implementation (trec_eval through
ir_measures), suite validation, behavioural checks, BEIR datasets, and `kb eval` end to end.

One small corpus (the bundled declaration plus an invented note) is indexed once with the real
model and Chroma, in a cache directory that the `kb eval` run reuses.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import ir_measures
import pytest
from conftest import DECLARATION_ID, SOURCES
from helpers import ROOT, kb
from ir_measures import AP, RR, P, R, Success, nDCG

from kb.config import MINILM, Settings
from kb.errors import UsageError
from kb.evaluate import beir, corpus, metrics, report, suite
from kb.evaluate.checks import run_check
from kb.evaluate.runner import ask_one, run_suite
from kb.evaluate.suite import SuiteError
from kb.search.query import Filters

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOTE_ID = "fixture-river-border-note"
LONG_SENTENCES = [
    "Patrol boats of both riparian states will sail together on the upper river every night.",
    "Officers will exchange radio frequencies, call signs and the names of duty commanders.",
    "Each side will report every landing of small boats within one hour to the other side.",
    "Interpreters will be available at the two main river crossings at all hours.",
    "Seized boats and engines will be kept as evidence until the prosecutor releases them.",
    "The joint centre will keep a shared map of landing places used by smuggling networks.",
    "Local fishermen will be asked to report unknown boats through a free telephone line.",
    "Training on the rights of rescued migrants will be given to every patrol crew.",
]
NOTE = "\n\n".join(
    [
        "# Test fixture — not an official document: River Border Cooperation Note",
        "1. The two neighbouring countries agree to run joint patrols on the river border and to share "
        "information on crossings organised by smugglers.",
        "2. " + " ".join(LONG_SENTENCES * 3),  # long enough to be split into several passages
        "3. Funding for thermal cameras at the river crossings comes from the national border budget.",
    ]
)
SUITE = f"""\
name: mini
description: Test fixture suite over the bundled declaration and an invented note.
corpus: [sources, extra]
k: 5
queries:
  - id: q1
    question: Which commitments cover online platforms?
    relevant:
      - {{doc: {DECLARATION_ID}, paragraph: "4", grade: 2}}
  - id: q2
    question: Which partner countries support the declaration?
    relevant:
      - {{doc: {DECLARATION_ID}, contains: "Kenya and the   Republic of KOREA"}}
  - id: q3
    question: joint patrols on the river border
    relevant:
      - {{doc: {NOTE_ID}, paragraph: "1"}}
  - id: q4
    question: Which landing places of small boats do patrols report?
    relevant:
      - {{doc: {NOTE_ID}, paragraph: "2"}}
  - id: u1
    question: What fishing quotas did the G7 agree for the North Atlantic?
    answerable: false
checks:
  - id: c1
    kind: must_include
    question: Which commitments cover online platforms?
    passage: {{doc: {DECLARATION_ID}, paragraph: "4"}}
    k: 3
  - id: c2
    kind: must_not_include
    question: Which commitments cover online platforms?
    passage: {{doc: {DECLARATION_ID}, paragraph: "4"}}
    k: 3
  - {{id: c3, kind: phrase, question: 'Where is "online platforms" mentioned?'}}
  - {{id: c4, kind: filter, question: returns of nationals, filters: {{country: [G7]}}}}
  - {{id: c5, kind: filter, question: returns of nationals, filters: {{since: "2030-01-01"}}}}
  - {{id: c6, kind: same_top, questions: [joint patrols on the river border, joint river patrols at the border]}}
  - {{id: c7, kind: same_top, questions: [joint patrols on the river border, cooperation with online platforms]}}
"""


@pytest.fixture(scope="session")
def mini(tmp_path_factory) -> tuple[suite.Suite, Path]:
    """The mini suite in a repository-shaped tree, and a cache holding its index (built once)."""
    repo = tmp_path_factory.mktemp("repo")
    (repo / "sources").mkdir()
    shutil.copy(SOURCES / f"{DECLARATION_ID}.md", repo / "sources")
    shutil.copy(SOURCES / "sources.toml", repo / "sources")
    (repo / "extra").mkdir()
    (repo / "extra" / f"{NOTE_ID}.md").write_text(NOTE, encoding="utf-8")
    (repo / "evals" / "suites").mkdir(parents=True)
    (repo / "evals" / "suites" / "mini.yaml").write_text(SUITE, encoding="utf-8")
    cache = repo / ".kb-eval"
    loaded = suite.load(repo / "evals" / "suites" / "mini.yaml")
    _, summary = corpus.index_for(loaded.corpus, Settings(), cache)
    assert summary.exit_code == 0, summary.to_dict()
    return loaded, cache


@pytest.fixture(scope="session")
def mini_index(mini):
    loaded, cache = mini
    index, _ = corpus.index_for(loaded.corpus, Settings(), cache)
    return index


# --- metric values ------------------------------------------------------------------------------


def one_query(relevant: dict[str, int], ranking: list[str], names: list[str]) -> dict[str, float]:
    return metrics.score({"q": relevant}, {"run": {"q": ranking}}, names)["run"]["mean"]


def test_a_perfect_run_scores_one_on_every_metric():
    names = metrics.default_metrics(10)
    got = metrics.score(
        {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}}, {"run": {"q1": ["a", "b"], "q2": ["c"]}}, names
    )
    assert got["run"]["mean"] == pytest.approx(
        {
            "recall@1": (1 / 2 + 1) / 2,  # q1 has two relevant passages: one fits in the top 1
            "recall@3": 1.0,
            "recall@5": 1.0,
            "recall@10": 1.0,
            "precision@10": (2 / 10 + 1 / 10) / 2,  # only 2 and 1 relevant passages exist
            "hit_rate@10": 1.0,
            "mrr@10": 1.0,
            "ndcg@10": 1.0,
            "map@10": 1.0,
        }
    )


def test_known_values_on_toy_runs():
    # The only relevant passage at rank 2.
    got = one_query(
        {"a": 1},
        ["x", "a", "y"],
        ["mrr@10", "recall@1", "recall@3", "precision@5", "hit_rate@1", "hit_rate@3"],
    )
    assert got == pytest.approx(
        {
            "mrr@10": 0.5,
            "recall@1": 0.0,
            "recall@3": 1.0,
            "precision@5": 0.2,
            "hit_rate@1": 0.0,
            "hit_rate@3": 1.0,
        }
    )
    # Two relevant documents, found at ranks 1 and 4.
    got = one_query({"a": 1, "b": 1}, ["a", "x", "y", "b"], ["recall@1", "recall@3", "recall@5", "map@10"])
    assert got == pytest.approx(
        {"recall@1": 0.5, "recall@3": 0.5, "recall@5": 1.0, "map@10": (1 / 1 + 2 / 4) / 2}
    )
    # nDCG with graded judgments (linear gain, as trec_eval): relevant grades 2 and 1 at ranks 2 and 3.
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert one_query({"a": 2, "b": 1}, ["x", "a", "b"], ["ndcg@10"])["ndcg@10"] == pytest.approx(dcg / ideal)
    # Nothing returned at all scores zero rather than failing.
    assert one_query({"a": 1}, [], ["mrr@10", "recall@10"]) == {"mrr@10": 0.0, "recall@10": 0.0}


def test_metrics_agree_with_trec_eval_on_toy_runs():
    qrels = {"q1": {"a": 2, "b": 1, "c": 1}, "q2": {"d": 1}, "q3": {"e": 2, "f": 1}}
    rankings = {"q1": ["x", "a", "y", "c", "b"], "q2": ["y", "z", "w", "d"], "q3": ["q", "r"]}
    ours = metrics.score(qrels, {"run": rankings}, metrics.default_metrics(5))["run"]["mean"]
    reference = reference_metrics(qrels, rankings, k=5)
    assert {m: ours[m] for m in reference} == pytest.approx(reference)


def reference_metrics(qrels: dict, rankings: dict, k: int) -> dict[str, float]:
    """The same metrics computed by trec_eval (pytrec_eval, through ir_measures)."""
    run = {
        q: {u: 1.0 / r for r, u in enumerate(units, start=1)} for q, units in rankings.items() if q in qrels
    }
    measures = {
        "recall@1": R @ 1,
        "recall@3": R @ 3,
        "recall@5": R @ 5,
        "recall@10": R @ 10,
        f"precision@{k}": P @ k,
        f"hit_rate@{k}": Success @ k,
        "mrr@10": RR @ 10,
        "ndcg@10": nDCG @ 10,
        f"map@{k}": AP @ k,
    }
    agg = ir_measures.calc_aggregate(list(measures.values()), qrels, run)
    return {name: agg[measure] for name, measure in measures.items()}


def test_runs_that_differ_on_one_question_are_not_significantly_different():
    # 72 questions, the same ranking on 71 of them: every sign flip of the one difference gives the
    # same mean difference, so p = 1 (ranx's own test rounded it to p = 0, "significant").
    qrels = {f"q{i}": {"a": 1, "b": 1} for i in range(72)}
    same = {q: ["a", "b"] for q in qrels}
    worse = dict(same, q30=["a", "x", "y", "z", "w", "b"])
    result = metrics.compare(qrels, {"one": same, "two": worse}, ["recall@5"])
    assert result["p_values"]["recall@5"]["one"]["two"] == 1.0
    assert result["winners"]["recall@5"] == {
        "run": "one",
        "value": 1.0,
        "runner_up": "two",
        "p": 1.0,
        "significant": False,
    }
    # A difference on every question is significant, and the same seed gives the same p-value.
    better = {q: ["a", "b"] for q in qrels}
    poor = {q: ["x", "y", "z", "w", "v", "a"] for q in qrels}
    first = metrics.compare(qrels, {"better": better, "poor": poor}, ["recall@5"])
    assert first["p_values"]["recall@5"]["better"]["poor"] < 0.001
    assert first == metrics.compare(qrels, {"better": better, "poor": poor}, ["recall@5"])


def test_floors_name_the_run_metric_and_value():
    floors = [
        metrics.parse_floor("recall@5=0.9"),
        metrics.parse_floor("hybrid:hit@10=1"),
        metrics.parse_floor("checks=1.0"),
    ]
    assert floors[1] == metrics.Floor("hybrid", "hit_rate@10", 1.0)
    values = {
        "bm25": {"recall@5": 0.95, "hit_rate@10": 0.5, "checks": 1.0},
        "hybrid": {"recall@5": 0.85, "hit_rate@10": 1.0, "checks": 0.75},
    }
    missed = metrics.missed_floors(floors, values, {"bm25": "bm25", "hybrid": "hybrid"})
    assert missed == [
        "hybrid recall@5 = 0.8500, below the floor 0.9",
        "hybrid checks = 0.7500, below the floor 1",
    ]
    with pytest.raises(UsageError, match="unknown metric 'ndgc@10'"):
        metrics.parse_floor("ndgc@10=0.5")


def test_threshold_sweep_counts_errors_on_each_side():
    evidence = {"a": 0.6, "b": 0.45, "u": 0.40, "v": 0.30}
    answerable = {"a": True, "b": True, "u": False, "v": False}
    rows = {r["threshold"]: r for r in metrics.sweep(evidence, answerable, thresholds=[0.35, 0.42, 0.5])}
    assert rows[0.35] == {"threshold": 0.35, "false_abstain": 0.0, "false_answer": 0.5}
    assert rows[0.42] == {"threshold": 0.42, "false_abstain": 0.0, "false_answer": 0.0}
    assert rows[0.5] == {"threshold": 0.5, "false_abstain": 0.5, "false_answer": 0.0}
    assert metrics.best_threshold(list(rows.values())) == 0.42
    grid = metrics.threshold_grid(list(evidence.values()), 0.85)
    assert grid[0] <= 0.30 and grid[-1] >= 0.85 and 0.85 in grid and 0.42 in grid


# --- suites ---------------------------------------------------------------------------------------


def write_suite(tmp_path: Path, text: str) -> Path:
    (tmp_path / "evals" / "suites").mkdir(parents=True, exist_ok=True)
    (tmp_path / "sources").mkdir(exist_ok=True)
    path = tmp_path / "evals" / "suites" / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_suite_entries_are_named(tmp_path):
    path = write_suite(
        tmp_path,
        """\
name: bad
corpus: sources
queries:
  - id: q1
    question: Which commitments cover online platforms?
  - id: q2
    question: What about returns?
    relevant: [{doc: x, paragraph: 4.1}]
  - id: q2
    question: Fishing?
    answerable: false
    relevant: [{doc: x, paragraph: "1"}]
  - id: q4
    question: Sanctions?
    filters: {countries: [FRA]}
    relevant: [{doc: x, contains: "sanctions", grade: 0}]
checks:
  - {id: c1, kind: phrase, question: no quoted phrase here}
""",
    )
    with pytest.raises(SuiteError) as exc:
        suite.load(path)
    message = str(exc.value)
    assert "query q1: no relevant passage given" in message
    assert "query q2: paragraph must be a quoted label" in message
    assert "query q2: duplicate id" in message
    assert "query q2: marked `answerable: false` but lists relevant passages" in message
    assert "query q4: unknown filter(s) countries" in message
    assert "query q4: grade must be a whole number of at least 1" in message
    assert 'check c1: a phrase check needs a "quoted phrase"' in message


def test_judgments_that_do_not_match_the_index_fail_before_scoring_naming_the_query(
    mini, mini_index, tmp_path
):
    loaded, _ = mini
    bad = suite.Suite(
        "bad",
        tmp_path / "bad.yaml",
        loaded.corpus,
        queries=(
            suite.Query(
                "q1", "online platforms", (suite.Judgment(doc="g7-2099-missing-declaration", paragraph="1"),)
            ),
            suite.Query("q2", "returns", (suite.Judgment(doc=DECLARATION_ID, paragraph="99"),)),
            suite.Query(
                "q3", "sanctions", (suite.Judgment(doc=DECLARATION_ID, contains="fishing quotas for cod"),)
            ),
            suite.Query("q4", "anything", (suite.Judgment(contains="no document says this at all"),)),
            suite.Query(
                "q5", "filters", (suite.Judgment(doc=NOTE_ID, paragraph="1"),), Filters(countries=("XYZ",))
            ),
        ),
    )
    with pytest.raises(SuiteError) as exc:
        suite.resolve(bad, mini_index)
    message = str(exc.value)
    assert "query q1: unknown document 'g7-2099-missing-declaration'" in message
    assert (
        f"query q2: document '{DECLARATION_ID}' has no paragraph '99' (its paragraphs: 1, 2, 3, 4, 5, 6, 7)"
        in message
    )
    assert (
        f"query q3: the fragment 'fishing quotas for cod' is found nowhere in document '{DECLARATION_ID}'"
        in message
    )
    assert "query q4: the fragment 'no document says this at all' is found nowhere in the index" in message
    assert "query q5: no indexed document has country 'XYZ'" in message


def test_a_split_paragraph_is_one_relevant_unit_found_at_its_best_rank(mini, mini_index):
    loaded, _ = mini
    parts = [p for p in mini_index.document_passages(NOTE_ID) if p.paragraph == "2"]
    assert len(parts) >= 2  # the long paragraph really was split
    judged = suite.resolve(loaded, mini_index)
    assert judged.qrels["q4"] == {f"{NOTE_ID}:2": 1}
    assert judged.qrels["q2"] == {f"{DECLARATION_ID}:1": 1}  # matched case- and space-insensitively
    assert "u1" not in judged.qrels
    ranked = ask_one(mini_index, loaded, judged, loaded.queries[3], "bm25", 10)
    units = [
        u
        for h, u in zip(ranked.hits, ranked.units)
        if h.passage.doc_id == NOTE_ID and h.passage.paragraph == "2"
    ]
    assert units[0] == f"{NOTE_ID}:2" and all(u is None for u in units[1:])
    assert ranked.ranking().count(f"{NOTE_ID}:2") == 1


def test_checks_pass_and_fail(mini, mini_index):
    loaded, _ = mini
    judged = suite.resolve(loaded, mini_index)
    results = {c.id: run_check(mini_index, c, judged, "hybrid", loaded.k) for c in loaded.checks}
    outcome = {cid: r.passed for cid, r in results.items()}
    assert outcome == {"c1": True, "c2": False, "c3": True, "c4": True, "c5": False, "c6": True, "c7": False}
    assert results["c2"].detail.startswith(f"{DECLARATION_ID}, para. 4 is at rank ")
    assert results["c2"].returned[0][0].endswith("para. 4")  # what was returned is kept for the report
    assert results["c5"].detail == "nothing was returned"
    assert "para. 1" in results["c7"].detail


# --- corpora --------------------------------------------------------------------------------------


def test_corpus_directories_are_merged_once_and_collisions_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    (a / "one.md").write_text("# Test fixture one\n\nText.\n")
    (a / "sub" / "two.md").write_text("# Test fixture two\n\nText.\n")
    (a / "sources.toml").write_text(
        'exclude = ["sub/*"]\n\n[[document]]\nid = "one"\ntitle = "One"\nfile = "one.md"\n'
    )
    (b / "three.txt").write_text("Test fixture three.\n")
    (b / "sources.toml").write_text('[[document]]\nid = "three"\ntitle = "Three"\nfile = "three.txt"\n')
    cache = tmp_path / "cache"
    merged, manifest = corpus.sources_for(corpus.Corpus((a, b)), cache)
    assert sorted(p.relative_to(merged).as_posix() for p in merged.rglob("*") if p.is_file()) == [
        ".content-sha256",
        "one.md",
        "sources.toml",
        "sub/two.md",
        "three.txt",
    ]
    from ingest import manifest as manifest_mod

    found = manifest_mod.discover(manifest_mod.load(manifest), merged)
    assert sorted(s.document.id for s in found) == ["one", "three"]  # sub/ excluded, as in a's manifest
    stamp = (merged / ".content-sha256").stat().st_mtime_ns
    assert corpus.sources_for(corpus.Corpus((a, b)), cache) == (merged, manifest)
    assert (merged / ".content-sha256").stat().st_mtime_ns == stamp  # unchanged input: not copied again
    subset, _ = corpus.sources_for(corpus.Corpus((a, b), subset=("*.md",)), cache)
    assert sorted(p.name for p in subset.rglob("*") if p.is_file()) == [
        ".content-sha256",
        "one.md",
        "sources.toml",
        "two.md",
    ]
    (b / "one.md").write_text("# Test fixture, clashing\n")
    with pytest.raises(UsageError, match="one.md is in both"):
        corpus.sources_for(corpus.Corpus((a, b)), cache)


def test_configurations_parse_to_settings_changes():
    config = corpus.parse_config("plain=embed_context=false,embed_batch_size=16")
    assert config == corpus.Config("plain", (("embed_context", False), ("embed_batch_size", 16)))
    assert config.settings(Settings()).embed_context is False
    with pytest.raises(UsageError, match="'index_dir' cannot be set"):
        corpus.parse_config("x=index_dir=/tmp")


UNGDC = Path(__file__).resolve().parents[2] / "shared" / "ungdc"


@pytest.mark.skipif(not UNGDC.is_dir(), reason="../shared/ungdc is not on this machine")
def test_ungdc_manifest_names_every_statement_by_country_and_year():
    from ingest import manifest as manifest_mod

    root = Path(__file__).resolve().parents[1]
    found = manifest_mod.discover(manifest_mod.load(root / "evals" / "corpora" / "ungdc.toml"), UNGDC)
    assert len(found) == 2903 and not [s for s in found if s.problem or not s.document.listed]
    doc = next(s.document for s in found if s.document.file == "2024/ITA_79_2024.txt")
    assert (doc.id, doc.country, doc.date, doc.type) == ("ungdc-ita-2024", "ITA", "2024-09", "statement")
    assert doc.short_title == "ITA statement, UN General Debate 2024"
    assert {s.document.country for s in found if s.document.id.startswith("ungdc-eu-")} == {"EU"}


# --- BEIR -----------------------------------------------------------------------------------------


def test_beir_fixture_is_indexed_with_the_pipeline_and_scored_by_beir_id(tmp_path):
    cache = tmp_path / "cache"
    loaded = beir.load(FIXTURES / "beir-mini", cache)
    assert [q.id for q in loaded.queries] == ["q1", "q2", "q3", "q4", "q5", "q6"]  # q7 has no judgments
    assert loaded.queries[1].relevant[0] == suite.Judgment(doc="MED-10", grade=2)
    results = run_suite(loaded, [corpus.DEFAULT_CONFIG], ("bm25", "dense"), Settings(), cache)
    assert results.configs[0].documents == 19  # d19 is empty and left out
    assert results.qrels["q3"] == {"d17": 2, "d13": 1}  # the score-0 line is not a judgment
    data = report.summarise(results, metrics.default_metrics(10))
    bm25 = {qid: x.ranking() for qid, x in next(r for r in results.runs if r.mode == "bm25").ranked.items()}
    assert bm25["q2"][:2] == ["MED-10", "med-10"]  # ids that differ only in case stay apart
    assert all(len(units) == len(set(units)) for units in bm25.values())  # d11's passages count once
    assert data["runs"]["bm25"]["metrics"]["hit_rate@10"] == 1.0
    assert data["runs"]["bm25"]["metrics"]["ndcg@10"] >= 0.9
    out = tmp_path / "report"
    report.write(data, results, out)
    assert {"report.md", "report.json", "qrels.trec", "metrics.png"} <= {p.name for p in out.iterdir()}
    assert "| ndcg@10 |" in (out / "report.md").read_text(encoding="utf-8")
    assert_trec_files_agree_with_report(out)


SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "beir" / "scifact"


@pytest.mark.skipif(not SCIFACT.is_dir(), reason="../shared/beir/scifact is not on this machine")
def test_scifact_subset_smoke(tmp_path):
    """The CI smoke run of the public benchmark: the first 25 test claims (in qrels order), the
    abstracts they cite and the next 200 abstracts of the corpus, through `kb eval --beir`; the full
    run's figures are in docs/evaluation.md. Hybrid must beat BM25 here as it does on the whole set."""
    subset = tmp_path / "scifact-subset"
    (subset / "qrels").mkdir(parents=True)
    lines = (SCIFACT / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    header, judgments = lines[0], [line.split("\t") for line in lines[1:]]
    claims = list(dict.fromkeys(q for q, _, _ in judgments))[:25]
    kept = [j for j in judgments if j[0] in claims]
    cited = {d for _, d, _ in kept}
    corpus_lines = (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    others = [x for x in corpus_lines if json.loads(x)["_id"] not in cited][:200]
    abstracts = [x for x in corpus_lines if json.loads(x)["_id"] in cited] + others
    (subset / "corpus.jsonl").write_text("\n".join(abstracts) + "\n", encoding="utf-8")
    queries = [
        x
        for x in (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(x)["_id"] in claims
    ]
    (subset / "queries.jsonl").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (subset / "qrels" / "test.tsv").write_text("\n".join([header, *("\t".join(j) for j in kept)]) + "\n")

    out = tmp_path / "report"
    result = kb(
        "eval",
        "--beir",
        str(subset),
        "--mode",
        "bm25,hybrid",
        "--cache",
        str(tmp_path / "cache"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    runs = json.loads((out / "report.json").read_text(encoding="utf-8"))["runs"]
    assert len(cited) >= 20 and runs["bm25"]["metrics"]["ndcg@10"] >= 0.6, runs["bm25"]["metrics"]
    assert runs["hybrid"]["metrics"]["ndcg@10"] >= runs["bm25"]["metrics"]["ndcg@10"] - 0.02


def assert_trec_files_agree_with_report(out: Path) -> None:
    """trec_eval, run on the TREC files the report wrote, gives the report's own numbers."""
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    k = data["configuration"]["k"]
    qrels = {}
    for q in ir_measures.read_trec_qrels(str(out / "qrels.trec")):
        qrels.setdefault(q.query_id, {})[q.doc_id] = q.relevance
    for name, run in data["runs"].items():
        rankings: dict[str, list[str]] = {}
        for r in ir_measures.read_trec_run(str(out / "runs" / f"{report.run_file_name(name)}.trec")):
            rankings.setdefault(r.query_id, []).append(r.doc_id)
        reference = reference_metrics(qrels, rankings, k)
        assert {m: run["metrics"][m] for m in reference} == pytest.approx(reference), name


# --- the command ----------------------------------------------------------------------------------


def test_kb_eval_writes_the_report_and_exits_1_naming_the_missed_floor(mini, tmp_path):
    loaded, cache = mini
    out = tmp_path / "out"
    # MiniLM by path: a second configuration, with its own index
    model_dir = Settings(embed_model=MINILM).model_path
    result = kb(
        "eval",
        str(loaded.path),
        "--cache",
        str(cache),
        "--out",
        str(out),
        "--mode",
        "bm25,hybrid",
        "--config",
        "plain=embed_context=false",
        "--embed-model",
        model_dir,
        "--min",
        "recall@5=1.01",
        "--min",
        "hybrid:checks=1",
        "-q",
    )
    assert result.returncode == 1, result.stderr
    assert "floor missed: hybrid recall@5 = " in result.stderr and "below the floor 1.01" in result.stderr
    assert "floor missed: plain/bm25 recall@5" in result.stderr
    assert "floor missed: hybrid checks = 0.5714, below the floor 1" in result.stderr  # 4 of 7 checks pass
    assert "Report: " in result.stdout
    assert {"report.md", "report.json", "metrics.png", "qrels.trec"} <= {p.name for p in out.iterdir()}
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "bm25.trec",
        "hybrid.trec",
        "model__bm25.trec",
        "model__hybrid.trec",
        "plain__bm25.trec",
        "plain__hybrid.trec",
    ]
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    conf = data["configuration"]
    assert [c["name"] for c in conf["configs"]] == ["default", "model", "plain"]
    default, model, plain = conf["configs"]
    assert default["model"] == Settings().model_id
    assert model["model"] == Settings().with_(embed_model=model_dir).model_id
    assert default["documents"] == 2 and default["passages"] >= 11
    assert plain["changes"] == {"embed_context": False} and model["changes"] == {"embed_model": model_dir}
    assert len({default["index_dir"], model["index_dir"], plain["index_dir"]}) == 3
    assert {"git_commit", "date", "machine", "command"} <= set(conf["environment"])
    assert list(data["runs"]) == [
        "bm25",
        "hybrid",
        "model/bm25",
        "model/hybrid",
        "plain/bm25",
        "plain/hybrid",
    ]
    # another model (MiniLM, by path), its own index and its own figures
    assert model["model"] != default["model"]
    assert data["runs"]["model/hybrid"]["metrics"].keys() == data["runs"]["hybrid"]["metrics"].keys()
    assert data["runs"]["model/hybrid"]["metrics"]["recall@10"] > 0
    assert set(data["comparison"]["p_values"]["ndcg@10"]["hybrid"]) == {
        "bm25",
        "model/bm25",
        "model/hybrid",
        "plain/bm25",
        "plain/hybrid",
    }
    q1 = next(q for q in data["queries"] if q["id"] == "q1")
    assert q1["runs"]["hybrid"]["first_relevant"] is not None
    assert data["runs"]["hybrid"]["abstention"]["unanswerable"] == 1
    assert_trec_files_agree_with_report(out)
    md = (out / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## Configuration",
        "## Metrics",
        "## Behavioural checks",
        "### Failed checks",
        "## Per query: rank of the first relevant passage",
        "## Abstention",
        "### Threshold sweep",
    ):
        assert heading in md
    assert "| c2 | must_not_include |" + " **FAIL** |" * 6 in md
    assert f"{Settings().ranking.abstain_below:.2f} ← current" in md


def test_kb_eval_refuses_a_malformed_suite_before_indexing(tmp_path):
    path = write_suite(
        tmp_path, "name: bad\ncorpus: sources\nqueries:\n  - id: q1\n    question: Anything?\n"
    )
    result = kb("eval", str(path), "--cache", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert "query q1: no relevant passage given" in result.stderr
    assert not (tmp_path / "cache").exists()


def test_kb_eval_as_the_readme_shows_it_leaves_the_committed_reports_alone(mini):
    loaded, cache = mini

    def status() -> str:
        return subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout

    before = status()
    result = kb("eval", str(loaded.path), "--cache", str(cache), "--mode", "bm25", "-q")
    assert result.returncode == 0, result.stderr
    written = ROOT / ".kb-eval" / "reports" / loaded.name / "report.md"
    assert f"Report: .kb-eval/reports/{loaded.name}/report.md" in result.stdout and written.exists()
    assert status() == before  # nothing tracked was rewritten, nothing untracked appeared
    both = kb("eval", str(loaded.path), "--update-reference", "--out", "x", "--cache", str(cache))
    assert both.returncode == 2 and "give one" in both.stderr


def test_the_readme_figures_are_those_of_the_committed_reports():
    """The README's headline figures and docs/evaluation.md's table, against evals/reports/."""
    from evals import readme_figures

    assert readme_figures.problems() == [], "run: python -m evals.readme_figures"


def test_the_figures_check_names_a_wrong_figure_and_a_missing_row(tmp_path):
    from evals import readme_figures

    reports = tmp_path / "reports"
    (reports / "s").mkdir(parents=True)
    run = {
        "metrics": {"recall@5": 0.9, "ndcg@10": 0.8, "mrr@10": 0.7},
        "abstention": {"false_abstain": 0.05, "false_answer": 0.25, "unanswerable": 4},
        "checks_passed": 3,
        "checks_total": 4,
    }
    runs = {"bm25": {**run, "mode": "bm25"}, "hybrid": {**run, "mode": "hybrid"}}
    (reports / "s" / "report.json").write_text(json.dumps({"runs": runs}), encoding="utf-8")
    readme, evaluation = tmp_path / "README.md", tmp_path / "evaluation.md"
    readme.write_text(
        "| What | Figure |\n|---|---|\n"
        "| Main ([s, hybrid](evals/reports/s/report.md)) | Recall@5 0.900, nDCG@10 **0.801**, false answer 0.25 |\n",
        encoding="utf-8",
    )
    evaluation.write_text(
        "| Suite | Run | Recall@5 | nDCG@10 | MRR@10 | Checks | False abstain | False answer |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| [s](../evals/reports/s/report.md): a suite | **hybrid** | **0.900** | **0.800** | **0.700** | 3/4 | 0.05 | 0.20 |\n",
        encoding="utf-8",
    )
    assert readme_figures.problems(readme, evaluation, reports) == [
        "README.md: s hybrid nDCG@10: page 0.801, report 0.800",
        "evaluation.md: s hybrid False answer: page 0.20, report 0.25",
        "evaluation.md: no row for s bm25",
    ]
    text, _ = readme_figures.rewritten(readme.read_text(encoding="utf-8"), reports)
    assert "nDCG@10 **0.800**, false answer 0.25" in text
    readme.write_text("| What | Figure |\n|---|---|\n| Main | Recall@5 0.900 |\n", encoding="utf-8")
    assert "README.md: no headline figure" in readme_figures.problems(readme, evaluation, reports)[0]

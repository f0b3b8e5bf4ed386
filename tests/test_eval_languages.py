"""Evaluation by language: questions that give their `language` are scored per question language ×
passage language (the manifest `language` of the documents that answer them), in report.json,
report.md and the table `kb eval` prints; suites without languages report as before.

A tiny corpus (the bundled English declaration and an invented French note) is indexed once with
the real model and Chroma.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DECLARATION_ID, SOURCES
from helpers import kb

from ingest import manifest
from kb.config import Settings
from kb.errors import ManifestError
from kb.evaluate import report, suite
from kb.evaluate.corpus import DEFAULT_CONFIG
from kb.evaluate.markdown import markdown
from kb.evaluate.runner import run_suite
from kb.evaluate.suite import SuiteError

NOTE_ID = "fixture-fra-note-passeurs"
NOTE = """\
# Test fixture — not an official document: Note sur les passeurs de la Manche

1. Les gendarmes surveillent les plages du littoral avec des drones et empêchent les départs des bateaux pneumatiques.

2. Les avoirs saisis sur les réseaux de passeurs ont atteint 14,6 millions d'euros, dont des véhicules et des comptes bancaires.

3. Les partenaires du G7, le Kenya et la République de Corée, soutiennent aussi la coopération contre les passeurs.
"""
MANIFEST = f"""\
[[document]]
id = "{DECLARATION_ID}"
title = "G7 Leaders' Declaration on Tackling Migrant Smuggling"
country = "G7"
date = "2026-06"
type = "declaration"
file = "{DECLARATION_ID}.md"
language = "en"

[[document]]
id = "{NOTE_ID}"
title = "Test fixture — not an official document: Note sur les passeurs de la Manche"
country = "FRA"
date = "2026-01"
type = "national-report"
file = "{NOTE_ID}.md"
language = "fr"
"""
SUITE = f"""\
name: languages
corpus: sources
k: 5
queries:
  - id: en-en
    language: en
    question: Which partner countries support the declaration?
    relevant: [{{doc: {DECLARATION_ID}, paragraph: "1"}}]
  - id: en-both
    language: en
    question: Kenya and the Republic of Korea
    relevant:
      - {{doc: {DECLARATION_ID}, paragraph: "1"}}
      - {{doc: {NOTE_ID}, paragraph: "3"}}
  - id: fr-fr
    language: fr
    question: avoirs saisis sur les réseaux de passeurs
    relevant: [{{doc: {NOTE_ID}, paragraph: "2"}}]
  - id: fr-en
    language: fr
    question: Que disent les dirigeants sur les sanctions et les plateformes en ligne ?
    relevant: [{{doc: {DECLARATION_ID}, paragraph: "4"}}]
  - id: unmarked
    question: drones on the beaches
    relevant: [{{doc: {NOTE_ID}, paragraph: "1"}}]
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A repository-shaped tree with the two documents, the suite, and an index in .kb-eval (built once)."""
    root = tmp_path_factory.mktemp("repo")
    (root / "sources").mkdir()
    shutil.copy(SOURCES / f"{DECLARATION_ID}.md", root / "sources")
    (root / "sources" / f"{NOTE_ID}.md").write_text(NOTE, encoding="utf-8")
    (root / "sources" / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    try:
        manifest.load(root / "sources" / "sources.toml")
    except ManifestError as exc:
        pytest.skip(f"the manifest does not accept `language` yet: {exc}")
    (root / "evals" / "suites").mkdir(parents=True)
    (root / "evals" / "suites" / "languages.yaml").write_text(SUITE, encoding="utf-8")
    return root


def test_kb_eval_reports_metrics_per_question_and_passage_language(repo, tmp_path):
    out = tmp_path / "out"
    result = kb(
        "eval",
        str(repo / "evals" / "suites" / "languages.yaml"),
        "--cache",
        str(repo / ".kb-eval"),
        "--out",
        str(out),
        "--mode",
        "bm25",
        "-q",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    languages = data["languages"]
    assert languages["metrics"] == ["recall@5", "ndcg@10"]
    rows = {(r["question"], r["passages"]): r for r in languages["rows"]}
    # Sorted by question language, then passage language; the question without a language is left out.
    assert list(rows) == [("en", "en"), ("en", "en+fr"), ("fr", "en"), ("fr", "fr")]
    assert all(r["queries"] == 1 for r in rows.values())
    per_query = {q["id"]: q["runs"]["bm25"]["metrics"] for q in data["queries"]}
    for (question, passages), qid in {
        ("en", "en"): "en-en",
        ("en", "en+fr"): "en-both",
        ("fr", "en"): "fr-en",
        ("fr", "fr"): "fr-fr",
    }.items():
        for metric in ("recall@5", "ndcg@10"):
            assert rows[question, passages]["runs"]["bm25"][metric] == pytest.approx(per_query[qid][metric])
    # Words shared with the passage: BM25 finds it, whatever the language.
    assert rows["en", "en"]["runs"]["bm25"]["recall@5"] == 1.0
    assert rows["fr", "fr"]["runs"]["bm25"]["recall@5"] == 1.0

    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Metrics by language" in text
    assert "| Question | Passages | Questions | recall@5 | ndcg@10 |" in text
    assert "| fr | fr | 1 | 1.000 |" in text
    assert "by language (question → passages, questions): recall@5, ndcg@10" in result.stdout
    assert "fr → fr (1)" in result.stdout and "en → en+fr (1)" in result.stdout


def test_a_suite_without_languages_reports_as_before(repo):
    path = repo / "evals" / "suites" / "plain.yaml"
    path.write_text(
        "\n".join(line for line in SUITE.splitlines() if "language:" not in line) + "\n", encoding="utf-8"
    )
    loaded = suite.load(path)
    assert {q.language for q in loaded.queries} == {""}
    results = run_suite(loaded, [DEFAULT_CONFIG], ("bm25",), Settings(), repo / ".kb-eval")
    assert results.passage_languages == {}
    data = report.summarise(results, ["recall@5", "ndcg@10"])
    assert "languages" not in data
    assert "Metrics by language" not in markdown(data, with_chart=False)


def test_a_language_that_is_not_an_iso_code_is_named(tmp_path):
    (tmp_path / "evals" / "suites").mkdir(parents=True)
    (tmp_path / "sources").mkdir()
    path = tmp_path / "evals" / "suites" / "bad.yaml"
    path.write_text(
        "corpus: sources\nqueries:\n  - {id: q1, language: French, question: Qui est concerné, "
        'relevant: [{doc: x, paragraph: "1"}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(SuiteError) as exc:
        suite.load(path)
    assert "query q1: language must be a two-letter ISO 639-1 code such as fr or ja, got 'French'" in str(
        exc.value
    )

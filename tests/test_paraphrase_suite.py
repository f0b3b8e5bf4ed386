"""The paraphrase suite (evals/suites/un-paraphrase.yaml) and its check (evals/paraphrase_check.py):
every question shares no rare word with the passages that answer it, on the real UN statements.
No embedding model is loaded: the check reads and splits the corpus as ingest does, and analyses
it as BM25 does."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from evals import paraphrase_check
from kb.evaluate import suite as suite_mod
from kb.evaluate.types import Judgment, Query

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "evals" / "suites" / "un-paraphrase.yaml"
UNGDC = ROOT.parent / "shared" / "ungdc"

pytestmark = pytest.mark.skipif(not UNGDC.is_dir(), reason="../shared/ungdc is not on this machine")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kb-eval")


@pytest.fixture(scope="module")
def terms(cache) -> paraphrase_check.CorpusTerms:
    return paraphrase_check.corpus_terms(suite_mod.load(SUITE), cache)


def test_the_suite_has_at_least_60_questions_in_several_languages_and_years():
    suite = suite_mod.load(SUITE)
    assert len(suite.queries) >= 60
    assert {q.language for q in suite.queries} >= {"en", "fr", "de", "es"}
    years = {j.doc.rsplit("-", 1)[1] for q in suite.queries for j in q.relevant}
    assert years == {"2022", "2023", "2024"}
    assert all(q.relevant and q.answerable for q in suite.queries)


def test_the_check_passes_on_the_suite(cache):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "evals.paraphrase_check", str(SUITE), "--cache", str(cache)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 rare stems shared by 0 questions" in done.stderr
    assert "20712 passages" in done.stderr  # the same passages as the UN suite's index


def test_a_question_in_the_passages_own_words_is_an_offence(terms):
    suite = suite_mod.load(SUITE)
    copied = Query(
        "copied",
        "Through which debt-for-nature swap did Belize reduce its debt-to-GDP ratio?",
        (Judgment(doc="ungdc-blz-2022", contains="innovative debt-for-nature swap", grade=2),),
    )
    found = paraphrase_check.offences(replace(suite, queries=(copied,)), terms)
    stems = {o.stem for o in found}
    assert {"swap", "beliz", "gdp"} <= stems  # each rare, each in the passage
    assert "debt" not in stems  # in 300 of 20,712 passages (1.4 %): a word users share
    swap = next(o for o in found if o.stem == "swap")
    assert swap.in_question == ("swap",) and swap.passage == "ungdc-blz-2022:13:0"


def test_a_question_in_french_sharing_a_name_with_its_english_passage_is_an_offence(terms):
    suite = suite_mod.load(SUITE)
    named = Query(
        "named",
        "Qu'a dit le Belize de son échange de dette contre la protection de la nature ?",
        (Judgment(doc="ungdc-blz-2022", contains="innovative debt-for-nature swap", grade=2),),
        language="fr",
    )
    assert {o.stem for o in paraphrase_check.offences(replace(suite, queries=(named,)), terms)} >= {"beliz"}


def test_a_judgment_that_matches_no_passage_is_a_usage_error(terms):
    suite = suite_mod.load(SUITE)
    lost = Query("lost", "Anything?", (Judgment(doc="ungdc-blz-2022", contains="no such words here"),))
    with pytest.raises(paraphrase_check.UsageError, match="query lost: .* matches no passage"):
        paraphrase_check.offences(replace(suite, queries=(lost,)), terms)

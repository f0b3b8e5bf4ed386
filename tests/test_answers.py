"""Cited answers over the labelled fixtures: exact citations, abstention, filters, phrases, scoping."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from conftest import CORPUS, DECLARATION_ID, SOURCES, settings_for
from fixtures_build import build_pdf
from helpers import ROOT, kb

from ingest import pipeline
from ingest.formats import read
from ingest.paragraphs import number_paragraphs
from kb.answer.ask import ask
from kb.config import RankingSettings
from kb.index.store import Index
from kb.search.query import Filters
from kb.search.retrieve import search

SUITE = yaml.safe_load((ROOT / "evals" / "suites" / "g7-smuggling.yaml").read_text(encoding="utf-8"))


def filters_of(query: dict) -> Filters:
    f = query.get("filters") or {}
    return Filters(
        *(tuple(f.get(key, ())) for key in ("type", "country", "issuer", "doc")),
        str(f.get("since", "")),
        str(f.get("until", "")),
    )


def source_text(index: Index, doc_id: str) -> str:
    """The document's source file as it is (a Markdown fixture: its tables' cells between pipes)."""
    doc = index.records()[doc_id].document
    path = next(p for folder in (SOURCES, CORPUS) if (p := folder / doc.file).exists())
    return path.read_text(encoding="utf-8")


def source_paragraphs(index: Index, doc_id: str) -> dict[str, str]:
    """The document's paragraphs by label, read again from its source file (not from the index)."""
    doc = index.records()[doc_id].document
    path = next(p for folder in (SOURCES, CORPUS) if (p := folder / doc.file).exists())
    paragraphs: dict[str, str] = {}
    for p in number_paragraphs(read(path).blocks):
        paragraphs[p.label] = paragraphs.get(p.label, "") + "\n" + p.text
    return paragraphs


@pytest.fixture(scope="module")
def answers(fixtures_index):
    return {q["id"]: ask(fixtures_index, q["question"], filters=filters_of(q)) for q in SUITE["queries"]}


def test_every_cited_passage_is_found_at_its_paragraph_and_every_quote_in_its_passage(
    fixtures_index, answers
):
    sources: dict[str, dict[str, str]] = {}
    checked = 0
    for answer in answers.values():
        for cited in answer.passages:
            p, doc = cited.hit.passage, cited.hit.document
            paragraphs = sources.setdefault(doc.id, source_paragraphs(fixtures_index, doc.id))
            assert p.text in paragraphs[p.paragraph], (cited.hit.citation, p.text)
            if p.table:  # a table's row: cited by table and row, its values in the source file's table
                assert cited.hit.citation.endswith(f'table {p.table}, row "{p.row}"'), cited.hit.citation
                source = source_text(fixtures_index, doc.id)
                assert all(f"| {value} |" in source for _, value in p.cells), (cited.hit.citation, p.cells)
            else:
                assert cited.hit.citation.endswith(
                    f"para. {p.paragraph}".replace("para. preamble ", "preamble, para. ")
                )
            for h in cited.highlights:
                assert p.text[h.start : h.end] == h.text
            checked += 1
        for sentence in answer.sentences:
            marked = answer.passages[sentence.marker - 1]
            assert sentence.text in marked.hit.passage.text
            assert f"{sentence.text} [{sentence.marker}]" in answer.text
    assert checked >= 5 * len(answers) - 5


def test_abstains_on_unanswerable_questions_and_answers_the_rest(answers):
    unanswerable = [q["id"] for q in SUITE["queries"] if q.get("answerable", True) is False]
    answerable = [q["id"] for q in SUITE["queries"] if q.get("answerable", True) is not False]
    assert len(unanswerable) >= 8
    false_answers = [i for i in unanswerable if not answers[i].abstained]
    false_abstains = [i for i in answerable if answers[i].abstained]
    # The rates reported in evals/README.md for the threshold RankingSettings.abstain_below.
    assert len(false_answers) / len(unanswerable) <= 0.25, false_answers
    assert len(false_abstains) / len(answerable) <= 0.1, false_abstains
    for i in unanswerable:
        if answers[i].abstained:
            assert answers[i].text.startswith("The indexed documents do not appear to address")
            assert answers[i].passages and not answers[i].sentences  # closest passages still shown
            assert answers[i].evidence < RankingSettings().abstain_below


def test_the_online_platforms_answer_cites_each_document_that_addresses_it(answers):
    answer = answers["q01"]
    assert not answer.abstained
    cited_docs = {answer.passages[s.marker - 1].hit.document.id for s in answer.sentences}
    assert DECLARATION_ID in cited_docs and len(cited_docs) >= 2
    assert any("online platforms" in s.text for s in answer.sentences)


def test_what_the_g7_agreed_on_returns_is_answered_from_the_paragraph_on_returns(bundled, fixtures_index):
    """The issue's own example question. "G7" is in every declaration passage's embedded title, and
    with it in the question the embedding ranked "…the discussion between G7 members…" first."""
    answer = ask(bundled, "What did the G7 agree on returns?")
    assert (
        answer.passages[0].hit.citation
        == "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 6"
    )
    assert answer.sentences[0].text.startswith("We note the obligations on States to accept return")
    assert not answer.abstained
    # Beside four national reports' paragraphs on returns (test fixtures), a G7 text's paragraph on
    # returns comes first. (The question shares few words with any passage, so since adaptive fusion
    # the ranking follows meaning alone, and the declaration's own paragraph is first.)
    top = [
        f"{h.document.id}:{h.passage.paragraph}"
        for h in search(fixtures_index, "What did the G7 agree on returns?", k=10)
    ]
    assert top[0] in (
        "g7-2026-leaders-declaration-migrant-smuggling:6",
        "fixture-g7-2025-interior-ministers-communique:10",
    )
    assert {
        "g7-2026-leaders-declaration-migrant-smuggling:6",
        "fixture-g7-2025-interior-ministers-communique:10",
    } <= set(top)


def test_smugglers_in_a_question_matches_smuggling_in_the_documents(bundled):
    """Snowball stems "smugglers" and "smuggling" apart; the declaration only says "smuggling", so
    the question's main word matched nothing and the tool abstained on an answerable question."""
    answer = ask(bundled, "What is the G7 position on sanctions against smugglers?")
    assert not answer.abstained
    assert (
        answer.passages[0].hit.citation
        == "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4"
    )
    assert "targeted sanctions" in answer.text


def test_filters_apply_before_ranking(fixtures_index):
    hits = search(
        fixtures_index, "Which commitments cover online platforms?", k=8, filters=Filters(countries=("FRA",))
    )
    assert len(hits) == 8  # France's plan alone has more than 8 passages
    assert {h.document.country for h in hits} == {"FRA"}
    dated = search(
        fixtures_index, "returns", k=5, filters=Filters(since="2026-01-01", types=("national-report",))
    )
    assert len(dated) == 5 and all(
        h.document.date >= "2026" and h.document.type == "national-report" for h in dated
    )


def test_passages_read_from_the_bm25_snapshot_equal_those_stored_in_chroma(fixtures_index):
    # queries read candidates' text and provenance from the snapshot in memory, not from Chroma
    for mode in ("dense", "bm25", "hybrid"):
        hits = search(fixtures_index, "sanctions against smuggling networks", mode=mode, k=10)
        stored = fixtures_index.get([h.passage.id for h in hits])
        assert len(hits) == 10 and len(stored) == 10
        for h in hits:
            passage, document = stored[h.passage.id]
            assert h.passage == passage
            assert h.document == fixtures_index.records()[document.id].document


def test_the_top_passages_do_not_depend_on_how_many_are_asked_for(fixtures_index):
    for question in ("What did the G7 agree on returns?", "hawala risk indicators Italy"):
        five = [h.passage.id for h in search(fixtures_index, question, k=5)]
        assert [h.passage.id for h in search(fixtures_index, question, k=25)][:5] == five
        # ask() searches what the question states first ("G7", "Italy"): its own top five do not
        # depend on k either, and with those constraints taken away they are search()'s.
        listed = [c.hit.passage.id for c in ask(fixtures_index, question, k=5, answer=False).passages]
        wider = ask(fixtures_index, question, k=25, answer=False)
        assert [c.hit.passage.id for c in wider.passages][:5] == listed
        keys = tuple(c.key for c in wider.understood.constraints)
        assert keys, question
        plain = ask(fixtures_index, question, k=5, answer=False, removed=keys).passages
        assert [c.hit.passage.id for c in plain] == five


def test_quoted_phrase_must_occur_verbatim(fixtures_index):
    hits = search(fixtures_index, 'Where do the documents mention "joint investigation teams"?', k=10)
    assert hits
    assert all(re.search(r"joint\s+investigation\s+teams", h.passage.text, re.I) for h in hits)


def test_a_question_that_names_a_document_is_scoped_to_it(fixtures_index):
    answer = ask(fixtures_index, "What does the 2026 declaration say about sanctions?")
    assert answer.scoped_to == (DECLARATION_ID,)
    assert {c.hit.document.id for c in answer.passages} == {DECLARATION_ID}
    assert answer.passages[0].hit.passage.paragraph == "4" and not answer.abstained
    italian = search(fixtures_index, "what does the Italian action plan say about hawala?", k=3)
    assert {h.document.id for h in italian} == {"fixture-ita-2025-national-action-plan"}


def test_kb_search_lists_passages_without_an_answer_and_kb_ask_prints_readably(fixtures_index):
    found = kb("search", "hawala", "--json", "-k", "3", "--index", str(fixtures_index.dir))
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert data["answer"] == "" and len(data["passages"]) == 3
    assert "hawala" in data["passages"][0]["text"].lower()
    asked = kb(
        "ask", "Which partner countries support the 2026 declaration?", "--index", str(fixtures_index.dir)
    )
    assert asked.returncode == 0, asked.stderr
    out = asked.stdout
    assert re.search(r"\(hybrid, 5 passages, \d+ ms\)", out)
    quoted = re.search(
        r"Kenya and the Republic of Korea, also\s+support\s+this\s+declaration\. \[(\d)\]", out
    )
    assert quoted, out
    assert f"[{quoted[1]}] G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 1\n" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_pdf_citations_point_to_the_page_and_paragraph_that_hold_the_words(tmp_path):
    from pypdf import PdfReader

    sources = tmp_path / "sources"
    sources.mkdir()
    pdf = build_pdf(sources)
    settings = settings_for(sources, tmp_path / ".kb")
    assert pipeline.run(settings, progress=False).exit_code == 0
    index = Index(settings)

    def squeeze(text: str) -> str:  # hyphens and line breaks differ between the PDF's lines and the passage
        return re.sub(r"[\s-]+", "", text)

    raw_pages = [page.extract_text() for page in PdfReader(pdf).pages]
    pages = [squeeze(p) for p in raw_pages]
    passages = index.document_passages("testland-plan")
    assert {p.paragraph for p in passages} >= {"1", "3(a)", "5", "12"}
    for p in passages:
        first, last = squeeze(" ".join(p.text.split()[:6])), squeeze(" ".join(p.text.split()[-4:]))
        assert first in pages[p.page - 1], (p.paragraph, p.page, first)
        assert last in pages[(p.page_end or p.page) - 1], (p.paragraph, p.page_end, last)
        if p.paragraph[0].isdigit() and p.part == 0 and "(" not in p.paragraph:
            assert squeeze(f"{p.paragraph}.") + first in pages[p.page - 1]
    five = next(p for p in passages if p.paragraph == "5")
    assert (five.page, five.page_end) == (1, 2)
    hit = search(index, "secure platform for sharing information", k=1)[0]
    assert (
        hit.citation == "Test Fixture: National Action Plan of Testland, pp. 1–2, para. 5"
        or hit.citation.endswith("pp. 1–2, para. 5")
    )


class _StubLLM(BaseHTTPRequestHandler):
    """A stand-in for an OpenAI-compatible server (only for the optional LLM path)."""

    reply = ""
    delay = 0.0

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert body["messages"][0]["content"].count("[1]") >= 1
        time.sleep(type(self).delay)
        # The shape of OpenAI's chat completion (llama-index's OpenAILike reads the role too)
        message = {"role": "assistant", "content": type(self).reply}
        payload = json.dumps(
            {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up waiting: the point of the slow case
            self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_llm_answer_is_checked_and_falls_back_when_the_endpoint_is_slow(fixtures_index, stub_llm):
    base = f"http://127.0.0.1:{stub_llm.server_address[1]}/v1"
    index = Index(fixtures_index.settings.with_(llm_base_url=base, llm_model="stub", llm_timeout=2.0))
    question = "Which partner countries support the 2026 declaration?"
    plain = ask(Index(fixtures_index.settings), question)
    m = next(c.marker for c in plain.passages if "Republic of Korea" in c.hit.passage.text)
    _StubLLM.reply = (
        f'Kenya and the Republic of Korea "also support this declaration" [{m}]. '
        "The partners will host the next summit [9]. "
        f'The leaders say the partners "pledged ten million euros" [{m}]. '
        "This sentence cites nothing."
    )
    answer = ask(index, question)
    assert answer.generated_by == "llm:stub"
    flags = [s["supported"] for s in answer.to_dict()["llm_sentences"]]
    assert flags == [True, False, False, False]
    assert answer.text.count("[unsupported]") == 3 and "3 sentence(s)" in answer.notice
    _StubLLM.delay = 3.0
    slow = ask(index, question)
    _StubLLM.delay = 0.0
    assert slow.generated_by == "extractive" and "did not answer within 2 s" in slow.notice
    assert "Kenya and the Republic of Korea" in slow.text

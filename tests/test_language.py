"""A document's language: detected from its text at ingest, or given in the manifest (which wins);
stored in the registry, Chroma and the BM25 snapshot; shown by `kb sources` and the API; and a
`--lang` filter that restricts what `kb search` returns.

Three small invented documents (Italian, German, and Catalan, a language the detector does not
offer) are indexed once with the real model and Chroma.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import settings_for
from helpers import kb

from ingest import manifest, pipeline
from kb.answer import render
from kb.answer.ask import ask
from kb.api import Library
from kb.errors import ManifestError
from kb.index import generations, lexical
from kb.index.store import Index
from kb.text import language

ITA = """\
# Test fixture — not an official document: Relazione sul contrasto al traffico di migranti

1. Il Ministero dell'Interno ha rafforzato la cooperazione con i paesi di origine e di transito per contrastare il traffico di migranti e smantellare le reti criminali.

2. Nel 2025 le squadre investigative comuni hanno sequestrato beni per dodici milioni di euro ai trafficanti che organizzano le traversate del Mediterraneo.

3. Le piattaforme online sono state invitate a rimuovere gli annunci che offrono viaggi irregolari verso l'Europa.
"""
DEU = """\
# Test fixture — not an official document: Bericht über die Bekämpfung der Schleusungskriminalität

1. Die Bundesregierung hat die Zusammenarbeit mit den Herkunfts- und Transitstaaten verstärkt, um die Schleusung von Migranten zu bekämpfen und kriminelle Netzwerke zu zerschlagen.

2. Im Jahr 2025 haben gemeinsame Ermittlungsgruppen Vermögenswerte von Schleusern in Höhe von zwölf Millionen Euro beschlagnahmt.

3. Online-Plattformen wurden aufgefordert, Anzeigen zu entfernen, die irreguläre Reisen nach Europa anbieten.
"""
CAT = """\
# Test fixture — not an official document: Informe sobre la lluita contra el tràfic de migrants

1. El Govern ha reforçat la cooperació amb els països d'origen i de trànsit per combatre el tràfic de migrants i desmantellar les xarxes criminals.

2. L'any 2025 els equips conjunts d'investigació van confiscar béns per valor de dotze milions d'euros als traficants.

3. Les plataformes en línia han rebut la petició de retirar els anuncis que ofereixen viatges irregulars cap a Europa.
"""
MANIFEST = """\
[[document]]
id = "ita-relazione"
title = "Test fixture — not an official document: Relazione sul contrasto al traffico di migranti"
country = "ITA"
date = "2025-10"
type = "national-report"
file = "ita-relazione.md"

[[document]]
id = "fixture-cat-informe"
title = "Test fixture — not an official document: Informe sobre la lluita contra el tràfic de migrants"
country = "ESP"
date = "2025-11"
type = "national-report"
file = "cat-informe.md"
language = "ca"
"""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Path, Path]:
    """(sources dir, index dir): the Italian file listed without a language and the German one
    unlisted (both detected), the Catalan one listed with `language = "ca"`."""
    root = tmp_path_factory.mktemp("languages")
    sources = root / "sources"
    sources.mkdir()
    (sources / "ita-relazione.md").write_text(ITA, encoding="utf-8")
    (sources / "deu-bericht.md").write_text(DEU, encoding="utf-8")
    (sources / "cat-informe.md").write_text(CAT, encoding="utf-8")
    (sources / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    summary = pipeline.run(settings_for(sources, root / ".kb"), progress=False)
    assert summary.exit_code == 0, summary.to_dict()
    assert {o.doc_id: o.language for o in summary.outcomes} == {
        "ita-relazione": "it",
        "deu-bericht": "de",
        "fixture-cat-informe": "ca",
    }
    return sources, root / ".kb"


def test_detected_and_manifest_languages_are_stored_and_listed(indexed):
    sources, index_dir = indexed
    settings = settings_for(sources, index_dir)
    index = Index(settings)
    languages = {doc_id: r.document.language for doc_id, r in index.records().items()}
    assert languages == {"ita-relazione": "it", "deu-bericht": "de", "fixture-cat-informe": "ca"}

    # The manifest wins: the detector, which does not know Catalan, would have said something else.
    assert language.of_document(CAT) != "ca"

    # Every passage carries it, in Chroma and in the BM25 snapshot.
    for passage, document in index.all_passages():
        assert document.language == languages[passage.doc_id]
    snapshot = lexical.load(generations.current(index_dir))
    assert {d: set(snapshot.language[snapshot.doc_id == d]) for d in languages} == {
        d: {code} for d, code in languages.items()
    }

    # The API's Documents listing and `kb sources list`.
    assert {d["id"]: d["language"] for d in Library(settings).documents()} == languages
    listed = kb("sources", "--sources", str(sources), "--index", str(index_dir), "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {d["id"]: d["language"] for d in json.loads(listed.stdout)} == languages
    table = kb("sources", "--sources", str(sources), "--index", str(index_dir))
    assert any(line.startswith("ita-relazione") and " it " in line for line in table.stdout.splitlines())


def test_lang_filter_restricts_kb_search(indexed):
    sources, index_dir = indexed

    def search(*options: str) -> dict:
        result = kb(
            "search",
            "traffico di migranti Schleusung tràfic",
            "-k",
            "9",
            "--json",
            "--index",
            str(index_dir),
            *options,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    everything = search()
    assert {p["document"]["language"] for p in everything["passages"]} == {"it", "de", "ca"}
    italian = search("--lang", "it")
    assert italian["passages"] and {p["document"]["id"] for p in italian["passages"]} == {"ita-relazione"}
    assert italian["filters"]["languages"] == ["it"]
    two = search("--lang", "de,ca")
    assert {p["document"]["language"] for p in two["passages"]} == {"de", "ca"}
    repeated = search("--lang", "de", "--lang", "it")
    assert {p["document"]["language"] for p in repeated["passages"]} == {"de", "it"}

    unknown = kb("search", "migranti", "--lang", "fr", "--index", str(index_dir))
    assert unknown.returncode == 2
    assert "no indexed document has language 'fr'; known: ca, de, it" in unknown.stderr


def test_the_api_filters_by_language(indexed):
    sources, index_dir = indexed
    library = Library(settings_for(sources, index_dir))
    everywhere = library.ask("Europa 2025", mode="bm25", k=5)  # a word of all three documents
    assert {p["document"]["language"] for p in everywhere["passages"]} == {"it", "de", "ca"}
    result = library.ask("Europa 2025", mode="bm25", k=5, filters={"languages": ["de"]})
    assert result["passages"] and {p["document"]["id"] for p in result["passages"]} == {"deu-bericht"}


def test_a_changed_language_override_redoes_the_document(indexed, tmp_path):
    sources, index_dir = indexed
    copy = tmp_path / "copy"
    shutil.copytree(sources, copy / "sources")
    shutil.copytree(index_dir, copy / ".kb")
    changed = MANIFEST.replace('file = "ita-relazione.md"\n', 'file = "ita-relazione.md"\nlanguage = "la"\n')
    assert changed != MANIFEST
    (copy / "sources" / "sources.toml").write_text(changed, encoding="utf-8")
    summary = pipeline.run(settings_for(copy / "sources", copy / ".kb"), progress=False)
    status = {o.doc_id: o.status for o in summary.outcomes}
    assert status == {
        "ita-relazione": "updated",
        "deu-bericht": "unchanged",
        "fixture-cat-informe": "unchanged",
    }
    records = Index(settings_for(copy / "sources", copy / ".kb")).records()
    assert records["ita-relazione"].document.language == "la"
    assert set(lexical.load(generations.current(copy / ".kb")).language) == {"la", "de", "ca"}


@pytest.mark.parametrize(
    "toml, message",
    [
        (
            '[[document]]\nid = "a"\ntitle = "A"\nfile = "a.md"\nlanguage = "Italian"\n',
            r"sources\.toml, line 1 \(id 'a'\): language 'Italian' is not an ISO 639-1 code; "
            r"write two lower-case letters such as \"it\" or \"de\"",
        ),
        (
            '[[document]]\nid = "a"\ntitle = "A"\nlanguage = "IT"\n',
            r"line 1 \(id 'a'\): language 'IT' is not an ISO 639-1 code",
        ),
        (
            '[[collection]]\nglob = "*.md"\npattern = "(?P<id>\\\\w+)-(?P<lang>\\\\w+)\\\\.md"\n'
            'id = "{id}"\ntitle = "{id}"\nlanguage = "{lang}"\n',
            r"\[\[collection\]\] at line 1, file report-xx\.md: language 'xx' is not an ISO 639-1 code",
        ),
    ],
)
def test_an_invalid_language_code_is_named(tmp_path, toml, message):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "sources.toml").write_text(toml, encoding="utf-8")
    (sources / "report-xx.md").write_text("# Test fixture — not an official document: X\n\nText.\n")
    with pytest.raises(ManifestError, match=message):
        manifest.discover(manifest.load(sources / "sources.toml"), sources)
    result = kb("ingest", "--sources", str(sources), "--index", str(tmp_path / ".kb"))
    assert result.returncode == 2
    assert "is not an ISO 639-1 code" in result.stderr and "Traceback" not in result.stderr


def test_detection_falls_back_to_english():
    assert language.of_document("") == "en"
    assert language.of_document("12.3 — 2025 / 45 %") == "en"
    japanese = "政府は移民密輸に対抗するため、出身国および通過国との協力を強化した。"
    assert language.of_document(japanese) == "ja"


def test_an_answer_resting_on_other_languages_says_so(indexed):
    """Words cannot be compared across languages, so such an answer asks the reader to check it;
    an answer from a passage in the question's own language does not."""
    sources, index_dir = indexed
    library = Library(settings_for(sources, index_dir))
    english = library.ask(
        "Which online platforms were asked to remove advertisements for irregular journeys?"
    )
    assert not english["abstained"], english["evidence"]
    assert english["notice"].startswith("The passages behind this answer are in "), english["notice"]
    assert "match the question by meaning only" in english["notice"]
    names = {"ita-relazione": "Italian", "deu-bericht": "German", "fixture-cat-informe": "Catalan"}
    for doc_id in {
        s["doc_id"] for s in english["sentences"][:1]
    }:  # the first quote is from a supporting passage
        assert names[doc_id] in english["notice"], english["notice"]

    italian = library.ask("Quali annunci devono rimuovere le piattaforme online?")
    assert not italian["abstained"], italian["evidence"]
    assert italian["sentences"][0]["doc_id"] == "ita-relazione"
    assert italian["notice"] == ""


class _TranslatingLLM(BaseHTTPRequestHandler):
    """A stand-in for an OpenAI-compatible server (only for the optional LLM path): it "translates"
    each numbered sentence as "EN: <first three words>" and fails every other request."""

    asked: list[str] = []

    def do_POST(self):  # noqa: N802
        prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"][0]["content"]
        type(self).asked.append(prompt)
        if not prompt.startswith("Translate each numbered sentence below into English."):
            self.send_response(500)
            self.end_headers()
            return
        numbered = re.findall(r"^(\d+)\. (.+)$", prompt, flags=re.M)
        reply = "\n".join(f"{n}. EN: {' '.join(text.split()[:3])}" for n, text in numbered)
        # The shape of OpenAI's chat completion (llama-index's OpenAILike reads the role too)
        message = {"role": "assistant", "content": reply}
        payload = json.dumps(
            {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_the_llm_translates_quotes_under_the_original_never_in_place(indexed):
    sources, index_dir = indexed
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TranslatingLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        index = Index(
            settings_for(sources, index_dir, llm_base_url=base, llm_model="stub-mt", llm_timeout=5.0)
        )
        answer = ask(
            index, "Which online platforms were asked to remove advertisements for irregular journeys?"
        )
        _TranslatingLLM.asked.clear()
        italian = ask(index, "Quali annunci devono rimuovere le piattaforme online?")
        asked_for_italian = list(_TranslatingLLM.asked)
    finally:
        server.shutdown()

    assert answer.sentences and not answer.abstained
    passages = {c.marker: c.hit.passage.text for c in answer.passages}
    for s in answer.sentences:
        assert s.text in passages[s.marker]  # the quote is the original, exactly
        assert s.translation == "EN: " + " ".join(s.text.split()[:3])
        # In the answer text, the translation is on the line under its original, marked as such.
        assert f"{s.text} [{s.marker}]\n    Machine translation (stub-mt): {s.translation}" in answer.text
    assert answer.generated_by == "extractive" and "failed" in answer.notice  # the answer prompt got a 500
    html = render.answer(answer.to_dict())
    assert 'class="kb-translation">Machine translation (stub-mt): EN: ' in html

    # Quotes in the question's own language are not sent for translation; the others are, into it.
    own = [s.text for s in italian.sentences if s.doc_id == "ita-relazione"]
    assert own and not any(s.translation for s in italian.sentences if s.doc_id == "ita-relazione")
    requests = [p for p in asked_for_italian if p.startswith("Translate")]
    assert all("into Italian." in p for p in requests)
    assert not any(" ".join(t.split()) in p for t in own for p in requests)


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"countries": ["ITA"]},
        {"languages": ["de", "ca"]},
        {"since": "2025-11"},
        {"until": "2025-10-31", "types": ["national-report"]},
        {"doc_ids": ["deu-bericht", "fixture-cat-informe"], "countries": ["ESP"]},
    ],
)
def test_filters_compiled_to_sql_admit_the_documents_that_chroma_and_bm25_admit(indexed, given):
    """A quoted phrase is matched in SQLite, inside the filters compiled to SQL: the same documents
    as the filters' Chroma `where` and BM25 mask (one definition, kb/search/query.py)."""
    from kb.search.query import Filters

    sources, index_dir = indexed
    index = Index(settings_for(sources, index_dir))
    filters = Filters.read(given)
    everywhere = index.with_phrases(["2025"])
    assert {pid.split(":")[0] for pid in everywhere} == {
        "ita-relazione",
        "deu-bericht",
        "fixture-cat-informe",
    }
    admitted = {d.id for d in index.documents() if filters.admits(d)}
    assert index.with_phrases(["2025"], filters.sql()) == {
        pid for pid in everywhere if pid.split(":")[0] in admitted
    }
    in_chroma = index.collection.get(where=filters.where(), include=["metadatas"])["metadatas"]
    assert {m["doc_id"] for m in in_chroma} == admitted
    snapshot = lexical.load(index.dir)
    mask = filters.mask(snapshot)
    assert set(snapshot.doc_id if mask is None else snapshot.doc_id[mask]) == admitted

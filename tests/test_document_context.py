"""A question that names a country only by a word its documents never use for it (its capital, in
English or in French) finds that country's statement among its neighbours': each document's
country, year and title count as ranking evidence beside the passage (kb.search.context), also for
a statement added by a second ingest."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CORPUS, SOURCES, merge_sources, settings_for
from helpers import ROOT, kb

from kb.index.store import Index

UNGDC = ROOT.parent / "shared" / "ungdc"
# Real statements of 2024 on the same themes (water, glaciers, Afghanistan, regional cooperation);
# Kyrgyzstan's is added by the second ingest.
FIRST = ("KAZ", "UZB", "TJK", "TKM", "MNG", "KIR")
ADDED = "KGZ"


def _statement(code: str):
    return UNGDC / "2024" / f"{code}_79_2024.txt"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """The bundled declaration, the labelled national fixtures (English, French, German, Italian,
    Japanese) and six UN statements; then a second ingest adds Kyrgyzstan's."""
    if not UNGDC.is_dir():
        pytest.skip(f"the UN General Debate corpus is not at {UNGDC}")
    root = tmp_path_factory.mktemp("context")
    sources = merge_sources(root / "sources", SOURCES, CORPUS)
    collection = (ROOT / "evals" / "corpora" / "ungdc.toml").read_text(encoding="utf-8")
    with (sources / "sources.toml").open("a", encoding="utf-8") as manifest:
        manifest.write("\n" + collection[collection.index("[[collection]]") :])
    (sources / "2024").mkdir()
    for code in FIRST:
        shutil.copy(_statement(code), sources / "2024")
    where = ("--sources", str(sources), "--index", str(root / ".kb"))
    first = kb("ingest", *where)
    assert first.returncode == 0, first.stderr
    shutil.copy(_statement(ADDED), sources / "2024")
    second = kb("ingest", *where)
    assert second.returncode == 0, second.stderr
    assert "1 added" in second.stdout + second.stderr, second.stdout + second.stderr
    return root / ".kb"


def test_ingest_stores_every_documents_context_so_no_question_embeds_one(index):
    """Kyrgyzstan's context is stored by the second ingest beside the others'."""
    library = Index(settings_for(index.parent / "sources", index))
    stored = library.contexts(library.settings.model_id)
    assert set(stored) == {d.id for d in library.documents()}
    assert stored["ungdc-kgz-2024"][0] == "Kyrgyzstan, 2024. KGZ statement, UN General Debate 2024"


@pytest.mark.parametrize(
    "question",
    ["What did Bishkek say about glaciers?", "Qu'a dit Bichkek sur la fonte des glaciers ?"],
)
def test_a_capital_finds_its_countrys_statement_added_by_the_second_ingest(index, question):
    """Tajikistan's statement says most about glaciers; the capital in the question is
    Kyrgyzstan's, which no passage's document names: without the documents' context, Tajikistan's
    paragraphs came first."""
    got = kb("search", question, "--json", "-k", "3", "--index", str(index))
    assert got.returncode == 0, got.stderr
    passages = json.loads(got.stdout)["passages"]
    first = passages[0]
    assert first["document"]["id"] == "ungdc-kgz-2024", [p["citation"] for p in passages]
    assert first["citation"].startswith("KGZ statement, UN General Debate 2024, para. ")
    # The citation is exact: the cited paragraph's words are in the statement's file.
    assert first["text"][:80] in _statement(ADDED).read_text(encoding="utf-8")

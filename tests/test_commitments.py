"""The commitment tracker on a real index: the bundled declaration, the labelled fixtures of evals/corpus
and the tracker's own fixtures (evals/commitments/fixtures), with the real model and Chroma.

Expected evidence pairs are those the invented national fixtures were written to contain
(evals/commitments/README.md lists them); the two unrelated fixtures must never be evidence.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest
from conftest import DECLARATION_ID, SOURCES, settings_for
from helpers import ROOT, free_port, kb

from ingest import pipeline
from kb.commitments import evaluate, rules, store
from kb.index import generations
from kb.index.store import Index
from kb.types import date_to_int

CORPUS = ROOT / "evals" / "corpus"
OWN_FIXTURES = ROOT / "evals" / "commitments" / "fixtures"
COMMUNIQUE = "fixture-g7-2025-interior-ministers-communique"
UNRELATED = {"fixture-can-2025-road-safety-report", "fixture-deu-2026-rail-passenger-report"}
PARA_4 = "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4"


def merged_sources(target: Path) -> Path:
    """sources/, evals/corpus/ and the tracker's fixtures in one directory with one manifest."""
    target.mkdir(parents=True)
    manifests = []
    for folder in (SOURCES, CORPUS, OWN_FIXTURES):
        for f in folder.iterdir():
            if f.is_file() and f.name not in ("sources.toml", "compliance.toml"):
                shutil.copy(f, target / f.name)
        manifests.append((folder / "sources.toml").read_text(encoding="utf-8"))
    (target / "sources.toml").write_text("\n".join(manifests), encoding="utf-8")
    shutil.copy(SOURCES / "compliance.toml", target / "compliance.toml")
    return target


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """(settings, index, tracker) over the merged corpus, built once; ingest also extracts commitments."""
    root = tmp_path_factory.mktemp("commitments")
    settings = settings_for(merged_sources(root / "sources"), root / ".kb", port=free_port())
    summary = pipeline.run(settings, progress=False)
    assert summary.exit_code == 0, summary.to_dict()
    index = Index(settings)
    return settings, index, store.tracker(index)


def one(tracker, doc_id: str, words: str):
    found = [c for c in tracker.commitments if c.doc_id == doc_id and words in c.text]
    assert len(found) == 1, [c.text for c in found]
    return found[0]


def countries(tracker, commitment) -> set[str]:
    return {e.country for e in tracker.evidence[commitment.key]}


# --- extraction -----------------------------------------------------------------------------------


def test_paragraph_4_gives_separate_sanctions_and_online_platform_commitments(corpus):
    _, _, tracker = corpus
    para4 = [c for c in tracker.commitments if c.doc_id == DECLARATION_ID and c.paragraph == "4"]
    assert [(c.id, c.strength, c.topic_keys[0]) for c in para4] == [
        ("2026-6", "support", "sanctions"),
        ("2026-7", "support", "online-platforms"),
    ]
    sanctions, online = para4
    assert sanctions.text.startswith("We recognize ongoing work to adopt targeted sanctions")
    assert "online-platforms" not in sanctions.topic_keys
    assert online.text.startswith("In that regard, we recall our determination")
    assert online.text.endswith("remove online content used to conduct smuggling operations.")
    assert sanctions.citation == online.citation == PARA_4
    assert all(t.score > 0.5 for t in (sanctions.topics[0], online.topics[0]))


def test_noting_the_obligation_to_accept_returns_is_an_acknowledgement_tagged_returns(corpus):
    _, _, tracker = corpus
    note = one(tracker, DECLARATION_ID, "We note the obligations on States to accept return")
    assert note.strength == "acknowledgement" and not note.is_commitment
    assert note.id.startswith("2026-a") and note.topic_keys[0] == "returns"
    pledges = [c.id for c in tracker.commitments if c.doc_id == DECLARATION_ID and c.is_commitment]
    assert pledges == [f"2026-{n}" for n in range(1, len(pledges) + 1)]


def test_every_span_is_an_exact_substring_of_its_passage(corpus):
    _, index, tracker = corpus
    passages = index.get(sorted({c.passage_id for c in tracker.commitments}))
    for c in tracker.commitments:
        passage, _ = passages[c.passage_id]
        assert passage.text[c.start : c.end] == c.text
        assert passage.paragraph == c.paragraph


def test_distinct_targets_in_one_sentence_are_separate_commitments(corpus):
    _, _, tracker = corpus
    networks = one(tracker, DECLARATION_ID, "dismantle smuggling and trafficking networks")
    stability = one(tracker, DECLARATION_ID, "build stability")
    assert networks.id == "2026-8" and stability.id == "2026-9"
    assert networks.text.startswith("We will also deepen cooperation") and stability.text.startswith(
        "and to prevent"
    )
    # Measures toward one target stay one commitment (communiqué para. 13).
    data = one(tracker, COMMUNIQUE, "comparability of data")
    assert data.text.endswith("on a common set of indicators.") and data.strength == "mandate"
    assert data.actor == "our experts"


def test_kb_commitments_eval_meets_the_acceptance_figures(corpus):
    settings, _, _ = corpus
    result = kb("commitments", "--eval", "--json", "--index", str(settings.index_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["precision"] >= 0.9 and report["recall"] >= 0.9, report
    assert report["topic_accuracy"] >= 0.85, report["topic_errors"]
    assert report["gold"] == len(evaluate.load_gold()[0]) and report["missing_documents"] == []


# --- evidence and lineage -------------------------------------------------------------------------


def test_evidence_links_the_known_country_commitment_pairs(corpus):
    _, _, tracker = corpus
    expected = {
        # communiqué (2025-09-23) × national reports written after it
        (COMMUNIQUE, "share information on our respective sanctions"): (
            {"CAN", "GBR", "USA", "FRA"},
            {"DEU", "JPN", "ITA"},
        ),
        (COMMUNIQUE, "work with social media companies"): ({"CAN", "GBR", "ITA"}, {"DEU", "JPN", "USA"}),
        (COMMUNIQUE, "cooperation with the transport sector"): (
            {"DEU", "GBR", "JPN", "USA"},
            {"CAN", "ITA", "FRA"},
        ),
        (COMMUNIQUE, "awareness-raising campaigns"): ({"CAN", "JPN", "USA"}, {"DEU", "GBR", "ITA"}),
        # the 2026 declaration (June 2026): only the Italian and French reports come after it
        (DECLARATION_ID, "adopt targeted sanctions"): ({"FRA"}, {"ITA", "CAN", "GBR", "USA", "DEU", "JPN"}),
        (DECLARATION_ID, "cooperation with online platforms"): (
            {"FRA", "ITA"},
            {"CAN", "GBR", "USA", "DEU", "JPN"},
        ),
    }
    for (doc_id, words), (present, absent) in expected.items():
        found = countries(tracker, one(tracker, doc_id, words))
        assert present <= found, (words, found)
        assert not found & absent, (words, found)


def test_unrelated_documents_are_never_evidence_and_only_later_documents_count(corpus):
    _, index, tracker = corpus
    records = index.records()
    linked = [e for items in tracker.evidence.values() for e in items]
    assert linked and not {e.doc_id for e in linked} & UNRELATED
    for e in linked:
        c = tracker.get(e.commitment)
        assert date_to_int(e.date) > date_to_int(c.date), (c.key, e.doc_id)
        assert records[e.doc_id].document.country not in ("G7", "")
        assert rules.load().evidence.min_score <= e.score <= 1.0
    # The French plan of June 2025 predates the communiqué but not the justice ministers' statement.
    plan = "fixture-fra-2025-interministerial-plan"
    assert plan not in {
        e.doc_id
        for c in tracker.commitments
        if c.doc_id == COMMUNIQUE
        for e in tracker.evidence.get(c.key, [])
    }
    assert plan in {e.doc_id for e in linked if e.commitment.startswith("fixture-g7-2025-justice")}


def test_lineage_links_the_online_platform_commitment_to_2025(corpus):
    _, _, tracker = corpus
    online = one(tracker, DECLARATION_ID, "cooperation with online platforms")
    lineage = tracker.lineage[online.key]
    earlier = [tracker.get(x.key) for x in lineage.links if x.direction == "earlier"]
    assert earlier and all(c.date.startswith("2025") and "online-platforms" in c.topic_keys for c in earlier)
    social_media = one(tracker, COMMUNIQUE, "work with social media companies")
    assert social_media.key in [c.key for c in earlier]
    # "we recall our determination" (support) is softer than the 2025 pledges
    assert lineage.status == "weakened" and lineage.chain[-1] == online.key
    origin = one(tracker, DECLARATION_ID, "dismantle smuggling and trafficking networks")
    best = tracker.lineage[origin.key].links[0]
    assert tracker.lineage[origin.key].status == "renewed"
    assert (
        "deepen cooperation with countries of origin, transit and destination" in tracker.get(best.key).text
    )


# --- CLI: list, evidence, matrix, confirm ---------------------------------------------------------


def test_kb_commitments_filters_by_topic_and_refuses_unknown_topics(corpus):
    settings, _, _ = corpus
    index = ["--index", str(settings.index_dir)]
    result = kb("commitments", "--topic", "online-platforms", "--json", *index)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert all("online-platforms" in [t["key"] for t in r["topics"]] for r in rows)
    keys = {r["key"] for r in rows}
    assert f"{DECLARATION_ID}:2026-7" in keys and f"{DECLARATION_ID}:2026-6" not in keys
    online = next(r for r in rows if r["key"] == f"{DECLARATION_ID}:2026-7")
    assert online["citation"] == PARA_4 and online["lineage"]["status"] == "weakened"
    assert set(online["evidence_countries"]) >= {"FRA", "ITA"}
    bad = kb("commitments", "--topic", "platforms", *index)
    assert (
        bad.returncode == 2 and "unknown topic platforms" in bad.stderr and "online-platforms" in bad.stderr
    )


def test_matrix_csv_heatmap_and_confirmed_scores_survive_a_reingest(corpus, tmp_path):
    settings, _, _ = corpus
    paths = ["--index", str(settings.index_dir), "--sources", str(settings.sources_dir)]
    key = f"{DECLARATION_ID}:2026-6"
    confirmed = kb(
        "commitments", "confirm", "2026-6", "ita", "0", "--note", "draft sanctions law tabled", *paths
    )
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Confirmed g7-2026-leaders-declaration-migrant-smuggling:2026-6 for ITA: +0" in confirmed.stdout
    toml_file = settings.sources_dir / "compliance.toml"
    before = toml_file.read_text(encoding="utf-8")
    assert before.startswith("# Confirmed compliance scores")  # the header comment is kept
    (entry,) = tomllib.loads(before)["score"]
    assert (entry["commitment"], entry["country"], entry["score"]) == (key, "ITA", 0)
    assert entry["note"] == "draft sanctions law tabled" and entry["confirmed"] == date.today().isoformat()
    assert entry["text"].startswith("We recognize ongoing work to adopt targeted sanctions")
    reingest = kb("ingest", *paths)
    assert reingest.returncode == 0 and "0 added, 0 updated" in reingest.stdout, (
        reingest.stdout + reingest.stderr
    )
    assert toml_file.read_text(encoding="utf-8") == before

    csv_path, png_path = tmp_path / "matrix.csv", tmp_path / "matrix.png"
    result = kb("commitments", "matrix", "--csv", str(csv_path), "--png", str(png_path), *paths)
    assert result.returncode == 0, result.stderr
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png_path.stat().st_size > 10_000
    rows = {(r["commitment"], r["country"]): r for r in csv.DictReader(csv_path.open(encoding="utf-8"))}
    assert rows[(key, "ITA")]["compliance"] == "0" and rows[(key, "ITA")]["status"] == "confirmed"
    assert rows[(key, "ITA")]["note"] == "draft sanctions law tabled"
    assert rows[(key, "FRA")]["status"] == "suggested" and rows[(key, "FRA")]["compliance"] == "1"
    assert int(rows[(key, "FRA")]["evidence"]) >= 1 and float(rows[(key, "FRA")]["best_score"]) > 0.4
    assert rows[(key, "GBR")]["compliance"] == "-1" and rows[(key, "GBR")]["evidence"] == "0"
    assert {r["country"] for r in rows.values()} >= {"CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA"}

    bad = kb("commitments", "confirm", "2026-6", "ITA", "2", *paths)
    assert bad.returncode == 2 and "not on the scale" in bad.stderr
    ambiguous = kb("commitments", "evidence", "2025-1", *paths)
    assert ambiguous.returncode == 2 and f"{COMMUNIQUE}:2025-1" in ambiguous.stderr


def test_a_member_with_no_indexed_document_is_shown_as_such_not_as_minus_one(bundled, tmp_path):
    """Over the bundled declaration alone no member has a national document: the matrix says so (grey,
    "no docs"), where a member with documents but no evidence gets -1 (the test above)."""
    paths = ["--index", str(bundled.settings.index_dir), "--sources", str(bundled.settings.sources_dir)]
    csv_path, png_path = tmp_path / "matrix.csv", tmp_path / "matrix.png"
    result = kb("commitments", "matrix", "--csv", str(csv_path), "--png", str(png_path), *paths)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert rows and {r["status"] for r in rows} == {"no documents"}
    assert {r["compliance"] for r in rows} == {""}
    assert {r["reason"] for r in rows if r["country"] == "ITA"} == {"no documents from ITA indexed"}
    table = kb("commitments", "matrix", *paths)
    assert "'no docs': no document of that country indexed" in table.stdout
    assert "no docs" in table.stdout.splitlines()[-1] and "-1" not in table.stdout.splitlines()[-1]
    detail = kb("commitments", "evidence", "2026-6", *paths)
    assert detail.returncode == 0, detail.stderr
    assert "ITA: 0 passages, best 0.00 · no documents from ITA indexed: no score" in detail.stdout
    assert "Lineage: no earlier G7 text indexed" in detail.stdout  # not "new": earlier summits are absent
    listed = kb("commitments", *paths)
    assert listed.stdout.startswith("9 commitments in 1 G7 document\n"), listed.stdout[:200]
    # Instead of a grey wall, what to add: national reports for evidence, earlier G7 texts for lineage.
    assert "Note: No national document of a G7 member is indexed yet" in listed.stderr
    assert "`kb sources fetch` downloads the 2024 Action Plan" in listed.stderr
    assert "· no earlier G7 text ·" in listed.stdout
    none = kb("commitments", "--strength", "mandate", "--topic", "sanctions", *paths)
    assert none.returncode == 0 and none.stdout == "No commitment matches these filters.\n"


def test_only_changed_documents_are_extracted_again(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(SOURCES / f"{DECLARATION_ID}.md", sources)
    shutil.copy(CORPUS / f"{COMMUNIQUE}.md", sources)
    entries = (CORPUS / "sources.toml").read_text(encoding="utf-8").split("[[document]]")
    communique_entry = "\n[[document]]" + next(e for e in entries if f'id = "{COMMUNIQUE}"' in e)
    manifest = (SOURCES / "sources.toml").read_text(encoding="utf-8") + communique_entry
    (sources / "sources.toml").write_text(manifest, encoding="utf-8")
    settings = settings_for(sources, tmp_path / ".kb")
    pipeline.run(settings, progress=False)
    stored_path = generations.current(settings.index_dir) / store.COMMITMENTS_FILE
    index = Index(settings)
    assert store.refresh(index).extracted == ()  # the ingest already extracted both
    index.close()
    # Mark the declaration's stored result: it survives only if the declaration is not extracted again.
    stored = json.loads(stored_path.read_text(encoding="utf-8"))
    assert set(stored["documents"]) == {DECLARATION_ID, COMMUNIQUE}
    stored["documents"][DECLARATION_ID]["commitments"][0]["actor"] = "kept from the first ingest"
    counted = sum(
        not c["id"].split("-")[1].startswith("a") for c in stored["documents"][COMMUNIQUE]["commitments"]
    )
    stored_path.write_text(json.dumps(stored), encoding="utf-8")

    text = (sources / f"{COMMUNIQUE}.md").read_text(encoding="utf-8")
    (sources / f"{COMMUNIQUE}.md").write_text(text + "\n15. We will meet again in 2027.\n", encoding="utf-8")
    pipeline.run(settings, progress=False)
    stored_path = generations.current(settings.index_dir) / store.COMMITMENTS_FILE  # a new generation
    stored = json.loads(stored_path.read_text(encoding="utf-8"))
    assert stored["documents"][DECLARATION_ID]["commitments"][0]["actor"] == "kept from the first ingest"
    last = stored["documents"][COMMUNIQUE]["commitments"][-1]
    assert (last["id"], last["paragraph"], last["text"]) == (
        f"2025-{counted + 1}",
        "15",
        "We will meet again in 2027.",
    )

    (sources / f"{DECLARATION_ID}.md").unlink()
    (sources / "sources.toml").write_text(communique_entry, encoding="utf-8")
    summary = pipeline.run(settings, progress=False)
    assert [o.doc_id for o in summary.outcomes if o.status == "removed"] == [DECLARATION_ID]
    stored_path = generations.current(settings.index_dir) / store.COMMITMENTS_FILE
    stored = json.loads(stored_path.read_text(encoding="utf-8"))
    assert set(stored["documents"]) == {COMMUNIQUE}


def test_reading_the_commitments_never_writes_only_ingest_does(tmp_path):
    """Opening the Commitments tab or running `kb commitments` reads; when the stored results are stale
    or gone (an index older than the tracker, rules edited since the ingest) it computes them in
    memory and leaves the files to the next ingest, which holds the ingest lock."""
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(SOURCES / f"{DECLARATION_ID}.md", sources)
    shutil.copy(SOURCES / "sources.toml", sources)
    settings = settings_for(sources, tmp_path / ".kb")
    pipeline.run(settings, progress=False)
    live = generations.current(settings.index_dir)
    stored = {name: live / name for name in (store.COMMITMENTS_FILE, store.LINKS_FILE)}
    expected = json.loads(stored[store.COMMITMENTS_FILE].read_text(encoding="utf-8"))
    for path in stored.values():
        path.unlink()
    index = Index(settings)
    tracker = store.tracker(index)
    index.close()
    assert not any(path.exists() for path in stored.values())
    texts = [c["text"] for c in expected["documents"][DECLARATION_ID]["commitments"]]
    assert [c.text for c in tracker.commitments] == texts
    assert any("online platforms" in t for t in texts)
    listed = kb("commitments", "--index", str(settings.index_dir), "--sources", str(sources))
    assert listed.returncode == 0 and listed.stdout.startswith("9 commitments in 1 G7 document\n")
    assert not any(path.exists() for path in stored.values())
    pipeline.run(settings, progress=False)  # nothing changed in the sources: the ingest writes them again
    live = generations.current(settings.index_dir)
    assert all((live / name).exists() for name in stored)


def test_a_tasking_list_makes_each_item_a_mandate():
    from kb.commitments import extract, rules, topics
    from kb.config import Settings
    from kb.types import Document, Passage

    doc = Document(
        id="fixture-g7-tasking-list",
        title="Test fixture — not an official document: G7 statement with a tasking list",
        country="G7",
        date="2027-06-01",
        type="statement",
        issuer="G7 Leaders (test fixture)",
    )
    texts = [
        "We task our Interior Ministers to deliver on the following areas this year:",
        "Adopt a follow-the-money approach to trace and seize the profits of smugglers;",
        "Work with transport operators, including airlines and bus companies, to detect smuggling; and",
        "Raise awareness in countries of origin of the risks of irregular journeys.",
        "Smuggling networks adapt quickly to new routes.",
    ]
    passages = [
        Passage(id=f"p{i}", doc_id=doc.id, text=t, paragraph=str(i + 1), seq=i, sentences=((0, len(t)),))
        for i, t in enumerate(texts)
    ]
    found = extract.extract(Settings(), doc, passages, rules.load(), topics.load())
    # The items are the commitments (G7 Research Group practice); the introduction is not counted twice.
    assert [(c.id, c.paragraph, c.strength) for c in found] == [
        ("2027-1", "2", "mandate"),
        ("2027-2", "3", "mandate"),
        ("2027-3", "4", "mandate"),
    ]
    assert (
        found[1].text
        == "Work with transport operators, including airlines and bus companies, to detect smuggling"
    )
    assert [c.topic_keys[0] for c in found] == ["follow-the-money", "transport-operators", "awareness"]
    assert all(c.actor == "our Interior Ministers" for c in found)


# --- the app's Commitments tab in a real browser --------------------------------------------------


@pytest.fixture
def app_page(corpus, browser):
    """A page of the app over the merged corpus, which must fetch nothing from outside the machine."""
    pytest.importorskip("playwright.sync_api")
    import app

    settings, _, _ = corpus
    demo, url = app.serve(settings, block=False, quiet=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        outside = []
        page.on(
            "request",
            lambda r: None if r.url.startswith((url, "data:", "blob:")) else outside.append(r.url),
        )
        page.goto(url)
        yield page
        assert outside == [], "the app fetched something from outside the machine"
    finally:
        demo.close()


@pytest.mark.browser
def test_the_commitments_tab_answers_online_platforms_with_one_click(corpus, app_page):
    from playwright.sync_api import expect

    settings, page = corpus[0], app_page
    page.get_by_role("tab", name="Commitments").click()
    table = page.locator("#kb-commitments")
    expect(table).to_contain_text("adopt targeted sanctions", timeout=30_000)

    page.locator("#kb-commitment-topic").get_by_text("Online platforms and online content").click()
    expect(page.locator("#kb-commitment-count")).to_contain_text("Online platforms and online content")
    expect(table).not_to_contain_text("adopt targeted sanctions")
    expect(table).to_contain_text("intensify our cooperation with online platforms")
    expect(table).to_contain_text("work with social media companies")
    assert "2026-6" not in table.inner_text()

    table.get_by_role("gridcell", name="2026-7", exact=True).click()
    detail = page.locator("#kb-commitment-detail")
    expect(detail.locator("h3")).to_have_text(f"2026-7 · {PARA_4}")
    expect(detail).to_contain_text("Lineage: weakened")
    expect(detail).to_contain_text("work with social media companies")
    expect(detail.locator(".kb-evidence[data-country='ITA']")).to_contain_text(
        "memorandum of understanding with four social media companies"
    )
    expect(detail.locator(".kb-evidence[data-country='GBR']")).to_contain_text("0 passages")

    # An analyst confirms the suggested score for France, with a note.
    page.get_by_label("Country").click()
    page.get_by_role("option", name="FRA").click()
    page.get_by_label("+1 full compliance").check()
    page.get_by_label("Note (reasons and sources)").fill("PHAROS smuggling unit, report of Nov. 2026")
    page.get_by_role("button", name="Confirm score").click()
    france = detail.locator(".kb-evidence[data-country='FRA']")
    expect(france).to_contain_text("confirmed ✓")
    expect(france).to_contain_text("PHAROS smuggling unit, report of Nov. 2026")
    confirmed = tomllib.loads((settings.sources_dir / "compliance.toml").read_text(encoding="utf-8"))
    assert {"commitment": f"{DECLARATION_ID}:2026-7", "country": "FRA", "score": 1} in [
        {k: e[k] for k in ("commitment", "country", "score")} for e in confirmed["score"]
    ]

    page.get_by_text("Compliance matrix: commitment × country").click()
    page.get_by_role("button", name="Draw the commitment × country matrix").click()
    grid = page.locator("#kb-matrix table.kb-matrix")
    expect(grid).to_be_visible(timeout=30_000)
    summary = grid.locator("tr.kb-matrix-summary")
    expect(summary).to_contain_text("All commitments")
    expect(summary.locator("td").nth(1)).to_contain_text("+1: ")  # the first country's counts
    row = grid.locator("tr").filter(has=page.locator("th", has_text="2026-7 ·"))
    expect(row.locator("th")).to_have_attribute("title", re.compile("intensify our cooperation with online"))
    expect(row.locator("td.kb-cell[data-country='FRA']")).to_have_text("+1 ✓")  # confirmed above
    row.locator("td.kb-cell[data-country='ITA']").click()  # a cell opens its evidence
    expect(detail.locator("h3")).to_have_text(f"2026-7 · {PARA_4}")
    expect(page.get_by_label("Country")).to_have_value("ITA")
    files = page.locator("#kb-commitments-files, .file-preview").first
    expect(files).to_contain_text(".png")
    expect(files).to_contain_text(".csv")
    page.screenshot(path=str(ROOT / "test-output" / "commitments.png"), full_page=True)


def test_a_verb_in_neither_list_is_placed_by_the_embedding_model():
    from kb.commitments import extract, rules, topics
    from kb.config import Settings
    from kb.types import Document, Passage

    doc = Document(
        id="fixture-g7-verbs",
        title="Test fixture — not an official document: G7 statement with verbs in neither list",
        country="G7",
        date="2027-06-01",
        type="statement",
    )
    texts = [
        "We commit to sharing information on smuggling routes, and to curb the recruitment of drivers by smugglers.",
        "We commit to establishing national contact points, and to staff them with trained investigators.",
    ]
    passages = [
        Passage(id=f"p{i}", doc_id=doc.id, text=t, paragraph=str(i + 1), seq=i, sentences=((0, len(t)),))
        for i, t in enumerate(texts)
    ]
    loaded = rules.load()
    assert "curb" not in loaded.target_verbs + loaded.measure_verbs
    assert "staff" not in loaded.target_verbs + loaded.measure_verbs
    found = extract.extract(Settings(), doc, passages, loaded, topics.load())
    # "to curb" sits with the verbs of aims (a new target); "to staff" with the verbs of means.
    assert [c.text for c in found] == [
        "We commit to sharing information on smuggling routes",
        "and to curb the recruitment of drivers by smugglers.",
        texts[1],
    ]


# --- questions that ask for commitments ----------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["Which commitments cover online platforms?", "Quels engagements concernent les plateformes en ligne ?"],
)
def test_which_commitments_is_answered_from_the_commitment_rows_through_kb_ask(corpus, question):
    settings, _, tracker = corpus
    done = kb("ask", question, "--json", "--here", "--index", str(settings.index_dir))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["understood"]["read_as"] == "G7 texts"
    assert result["passages"][0]["document"]["country"] == "G7"
    rows = {row["key"]: row for row in result["commitments"]}
    platforms = one(tracker, DECLARATION_ID, "intensify our cooperation with online platforms")
    row = rows[platforms.key]
    assert (row["text"], row["citation"], row["strength"]) == (platforms.text, PARA_4, platforms.strength)
    assert row["lineage"] == "weakened" and "ITA" in row["evidence_countries"]
    cited = {p["marker"]: p for p in result["passages"]}
    for row in result["commitments"]:  # each row's words are in the passage its marker points to
        assert row["text"] in cited[row["marker"]]["text"]
        assert cited[row["marker"]]["document"]["country"] == "G7"
    printed = kb("ask", question, "--here", "--index", str(settings.index_dir)).stdout
    assert "Commitments (G7 texts" in printed and "2026-7 · support · weakened · evidence from:" in printed


@pytest.mark.browser
def test_the_ask_page_lists_the_commitments_a_question_asks_for(app_page):
    from playwright.sync_api import expect

    page = app_page
    page.get_by_label("Your question").fill("Which commitments cover online platforms?")
    page.get_by_role("button", name="Ask", exact=True).click()
    rows = page.locator(".kb-commitments .kb-commitment-row")
    expect(rows.first).to_be_visible(timeout=30_000)
    expect(page.locator(".kb-chip, .kb-chips").first).to_contain_text("G7 texts")
    platforms = rows.filter(has_text="intensify our cooperation with online platforms")
    expect(platforms).to_contain_text("2026-7 · support · weakened · evidence from:")
    expect(platforms).to_contain_text(PARA_4)
    national = page.locator(".kb-card").filter(has=page.locator(".kb-badge", has_text="National evidence"))
    expect(national.first).to_be_visible()  # national passages answer it as evidence, labelled so
    expect(national.first.locator(".kb-title")).not_to_contain_text("G7")
    marker = platforms.locator("a.kb-marker").get_attribute("data-marker")
    card = page.locator(f"#kb-passage-{marker}")
    expect(card).to_contain_text("intensify our cooperation with online platforms")


def test_a_question_not_about_commitments_lists_none(corpus):
    settings, _, _ = corpus
    done = kb(
        "ask",
        "How many smuggling adverts has Italy had taken down?",
        "--json",
        "--here",
        "--index",
        str(settings.index_dir),
    )
    assert json.loads(done.stdout)["commitments"] == []

"""The analyst's daily loop through the `kb` command, on a mixed corpus: the bundled G7 declaration,
national reports (test fixtures of evals/corpus) in several languages, then files added, changed,
renamed and removed between two ingests of the same index.

These are the tests that would have caught new files being skipped by every ingest after the first
(`0 added, 1 unchanged`): nothing before them added a file to an index that already existed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import CORPUS, DECLARATION_ID, copy_declaration
from helpers import kb

from evals.reliability import crash, incremental
from ingest import pipeline
from kb.api import AskRequest, Library
from kb.config import Settings
from kb.index import generations

ROOT = Path(__file__).resolve().parent.parent
MULTILINGUAL = ROOT / "evals" / "corpus-multilingual"
ITALY = "fixture-ita-2026-implementation-report"
GERMANY_DE = "fixture-deu-2026-bericht-schleusungskriminalitaet"
DECLARATION_FILE = f"{DECLARATION_ID}.md"


def ingest(sources: Path, index: Path, *extra: str) -> dict:
    """`kb ingest --json` as a user runs it; its summary, with each document's status by id."""
    done = kb("ingest", "--json", "--sources", str(sources), "--index", str(index), *extra)
    assert done.returncode in (0, 1), done.stderr
    summary = json.loads(done.stdout)
    summary["status"] = {d["doc_id"]: d["status"] for d in summary["documents"]}
    summary["returncode"] = done.returncode
    return summary


def search(index: Path, question: str, *extra: str) -> list[dict]:
    done = kb("search", question, "--json", "--index", str(index), *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["passages"]


@pytest.fixture
def folder(tmp_path) -> tuple[Path, Path]:
    """A sources folder holding the bundled declaration, and where its index goes."""
    sources = tmp_path / "sources"
    sources.mkdir()
    copy_declaration(sources)
    return sources, tmp_path / ".kb"


def test_a_report_added_to_an_indexed_folder_is_indexed_and_found_by_the_next_ingest(folder):
    sources, index = folder
    first = ingest(sources, index)
    assert first["status"] == {DECLARATION_ID: "added"}

    shutil.copy(CORPUS / f"{ITALY}.md", sources)
    shutil.copy(MULTILINGUAL / f"{GERMANY_DE}.md", sources)
    second = ingest(sources, index)
    assert second["status"] == {DECLARATION_ID: "unchanged", ITALY: "added", GERMANY_DE: "added"}
    assert second["returncode"] == 0

    hits = search(index, "How many smuggling advertisements were removed within 24 hours?")
    assert hits[0]["document"]["id"] == ITALY and "3,412" in hits[0]["text"]
    listed = kb("sources", "list", "--json", "--sources", str(sources), "--index", str(index))
    indexed = {row["id"]: row["indexed"] for row in json.loads(listed.stdout)}
    assert indexed[ITALY] and indexed[GERMANY_DE]

    third = ingest(sources, index)  # nothing changed since: nothing redone
    assert set(third["status"].values()) == {"unchanged"} and third["passages_embedded"] == 0


def test_a_copied_file_a_new_manifest_entry_and_an_included_folder_are_each_indexed(folder):
    sources, index = folder
    (sources / "sources.toml").write_text(
        'exclude = ["drafts/*"]\n\n' + (sources / "sources.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    (sources / "drafts").mkdir()
    shutil.copy(CORPUS / f"{ITALY}.md", sources / "drafts")
    assert ingest(sources, index)["status"] == {DECLARATION_ID: "added"}  # drafts/ is excluded

    shutil.copy(sources / DECLARATION_FILE, sources / "copy-of-the-declaration.md")
    assert ingest(sources, index)["status"]["copy-of-the-declaration"] == "added"

    manifest = (sources / "sources.toml").read_text(encoding="utf-8")
    (sources / "sources.toml").write_text(manifest.replace('exclude = ["drafts/*"]', ""), encoding="utf-8")
    assert ingest(sources, index)["status"][f"drafts-{ITALY}"] == "added"

    (sources / "sources.toml").write_text(
        (sources / "sources.toml").read_text(encoding="utf-8")
        + f'\n[[document]]\nid = "italy-2026"\ntitle = "Test fixture — Italy 2026 report"\ncountry = "ITA"\n'
        f'type = "national-report"\nfile = "drafts/{ITALY}.md"\n',
        encoding="utf-8",
    )
    status = ingest(sources, index)["status"]
    assert (status["italy-2026"], status[f"drafts-{ITALY}"]) == ("added", "removed")
    hits = search(index, "smuggling advertisements removed within 24 hours", "--country", "ITA")
    assert hits[0]["document"]["id"] == "italy-2026"


def test_a_listed_file_deleted_leaves_the_index_and_is_reported_on_every_run(folder):
    sources, index = folder
    ingest(sources, index)
    (sources / DECLARATION_FILE).unlink()
    first = ingest(sources, index)
    reason = next(d["reason"] for d in first["documents"] if d["doc_id"] == DECLARATION_ID)
    assert first["status"] == {DECLARATION_ID: "failed"} and first["returncode"] == 1
    assert "listed in sources.toml but the file" in reason and "earlier version was removed" in reason
    again = ingest(sources, index)
    assert again["status"] == {DECLARATION_ID: "failed"} and again["returncode"] == 1
    done = kb("search", "online platforms", "--index", str(index))
    assert done.returncode == 1 and "no documents indexed" in done.stderr and "Traceback" not in done.stderr


def test_an_emptied_report_loses_its_passages_is_reported_each_run_and_rewrites_nothing(folder):
    sources, index = folder
    shutil.copy(CORPUS / f"{ITALY}.md", sources)
    ingest(sources, index)
    (sources / f"{ITALY}.md").write_bytes(b"")
    first = ingest(sources, index)
    assert first["status"][ITALY] == "failed" and first["returncode"] == 1
    hits = search(index, "smuggling advertisements removed within 24 hours")
    assert all(h["document"]["id"] != ITALY for h in hits)
    in_service = (index / "CURRENT").read_text()
    second = kb("ingest", "--sources", str(sources), "--index", str(index))
    assert second.returncode == 1 and f"{ITALY}.md: empty file (0 bytes)" in second.stderr
    assert (index / "CURRENT").read_text() == in_service  # a file that keeps failing copies nothing
    listed = kb("sources", "list", "--json", "--sources", str(sources), "--index", str(index))
    row = next(r for r in json.loads(listed.stdout) if r["id"] == ITALY)
    assert (row["indexed"], row["not_read"]) == (False, "empty file (0 bytes)")

    shutil.copy(CORPUS / f"{ITALY}.md", sources)  # restored: back in the index
    assert ingest(sources, index)["status"][ITALY] == "added"
    assert search(index, "smuggling advertisements removed within 24 hours")[0]["document"]["id"] == ITALY


def test_a_run_resumed_after_kill_9_reports_what_the_killed_run_did(tmp_path):
    corpus = crash.make_corpus(tmp_path, documents=5, seed=7)
    settings = Settings(sources_dir=corpus.dir, index_dir=tmp_path / ".kb")
    assert pipeline.run(settings, progress=False).exit_code == 0
    (corpus.dir / "report-00.txt").unlink()
    corpus.write(1, 1)
    corpus.write(5, 0)
    corpus.write(6, 0)
    live = generations.current(settings.index_dir)
    watched = crash.written_generation(settings.index_dir, rebuild=False)
    run = crash.Launcher(fresh=False, log=tmp_path / "ingest.log").start(
        ["ingest", "-q", "--sources", str(corpus.dir), "--index", str(settings.index_dir)]
    )
    g0 = crash.registry_state(live)[0]
    killed, _ = crash.kill_at(run, ("write", 2), watched, g0, crash.random.Random(0))
    assert killed and generations.current(settings.index_dir) == live  # killed midway, nothing in service

    resumed = ingest(corpus.dir, settings.index_dir)
    assert {d: s for d, s in resumed["status"].items() if s != "unchanged"} == {
        "report-00": "removed",
        "report-01": "updated",
        "report-05": "added",
        "report-06": "added",
    }


@pytest.mark.slow
def test_every_kind_of_change_to_sources_gives_the_index_a_fresh_build_gives(tmp_path):
    # Each of the 15 actions of the random walk once (python -m evals.reliability.incremental runs
    # longer walks), each step compared with a fresh build: contents, search, what the run reported.
    report = incremental.walk(tmp_path, steps=len(incremental.ACTIONS), seed=11, every_action=True)
    print(report.markdown())
    assert report.problems == []
    assert any("killed (" in s.did for s in report.steps)


def ask(index: Path, question: str) -> dict:
    """`kb ask --json` in its own process, as a user runs it."""
    done = kb("ask", question, "--json", "--here", "--index", str(index))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def quoted(answer: dict) -> str:
    return " ".join(s["text"] for s in answer["sentences"])


FIGURE_QUESTION = "How many smuggling posts did Italy have removed from online platforms?"


def test_the_analysts_week_add_ask_for_a_figure_and_the_g7_change_the_report_then_remove_it(folder):
    sources, index = folder
    ingest(sources, index)
    # Monday: two national reports arrive, one in German; the Italian one is described in the manifest.
    shutil.copy(CORPUS / f"{ITALY}.md", sources)
    shutil.copy(MULTILINGUAL / f"{GERMANY_DE}.md", sources)
    entry = (CORPUS / "sources.toml").read_text(encoding="utf-8").split("[[document]]")
    italy = next(e for e in entry if f'id = "{ITALY}"' in e)
    with open(sources / "sources.toml", "a", encoding="utf-8") as manifest:
        manifest.write("\n[[document]]" + italy)
    assert ingest(sources, index)["status"][ITALY] == "added"

    figure = ask(index, FIGURE_QUESTION)
    assert "3,412" in quoted(figure)  # the number asked for, not only the sentence about the protocol
    g7 = ask(index, "Which commitments cover online platforms?")
    assert g7["understood"]["read_as"] == "G7 texts"
    assert g7["passages"][0]["document"]["country"] == "G7" and "online" in quoted(g7)
    # National passages answer it only as evidence of carrying the commitments out, and say so.
    assert all(p["national_evidence"] == (p["document"]["country"] != "G7") for p in g7["passages"])
    assert any(p["national_evidence"] for p in g7["passages"])
    assert not any(p["national_evidence"] for p in figure["passages"])

    # Wednesday: the ministry sends a corrected report; the new figure replaces the old one.
    report = sources / f"{ITALY}.md"
    report.write_text(report.read_text(encoding="utf-8").replace("3,412", "3,598"), encoding="utf-8")
    assert ingest(sources, index)["status"][ITALY] == "updated"
    again = quoted(ask(index, FIGURE_QUESTION))
    assert "3,598" in again and "3,412" not in again

    # Friday: the report is withdrawn; nothing of it is quoted any more.
    report.unlink()
    (sources / "sources.toml").write_text(
        (sources / "sources.toml").read_text(encoding="utf-8").replace("[[document]]" + italy, ""),
        encoding="utf-8",
    )
    assert ingest(sources, index)["status"][ITALY] == "removed"
    gone = ask(index, FIGURE_QUESTION)
    assert all(p["document"]["id"] != ITALY for p in gone["passages"]) and "3,598" not in quoted(gone)


@pytest.mark.browser
def test_the_analysts_week_in_the_browser_while_kb_ingest_runs_beside_it(folder, browser, tmp_path):
    """The app stays up all week; each change to sources/ is ingested by `kb ingest` in another
    process, and the next question in the open page answers from it."""
    import docx
    from helpers import free_port
    from playwright.sync_api import expect

    import app

    sources, index = folder
    ingest(sources, index)
    settings = Settings.from_env(index_dir=str(index), sources_dir=str(sources)).with_(port=free_port())
    demo, url = app.serve(settings, block=False, quiet=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(url)

        def ask_in_page(question: str):
            page.get_by_role("tab", name="Ask").click()
            page.get_by_label("Your question").fill(question)
            page.get_by_role("button", name="Ask", exact=True).click()
            answer = page.locator("#kb-answer .kb-answer-text, #kb-answer .kb-abstain").first
            expect(answer).to_be_visible(timeout=30_000)
            expect(page.locator("#kb-ask")).to_have_text("Ask")  # this question's answer is shown
            return page.locator("#kb-answer")

        shutil.copy(CORPUS / f"{ITALY}.md", sources)  # Monday: a national report arrives
        assert ingest(sources, index)["status"][ITALY] == "added"
        expect(ask_in_page(FIGURE_QUESTION).locator(".kb-answer-text")).to_contain_text("3,412")
        g7 = ask_in_page("What does the declaration say about online platforms?")
        expect(g7.locator(".kb-chip").first).to_contain_text("G7 texts")
        expect(g7.locator(".kb-card").first).to_contain_text("G7 Leaders' Declaration")
        g7.locator(".kb-card").first.get_by_role("button", name="Add to briefing").click()

        report = sources / f"{ITALY}.md"  # Wednesday: a corrected figure
        report.write_text(report.read_text(encoding="utf-8").replace("3,412", "3,598"), encoding="utf-8")
        assert ingest(sources, index)["status"][ITALY] == "updated"
        corrected = ask_in_page(FIGURE_QUESTION).locator(".kb-answer-text")
        expect(corrected).to_contain_text("3,598")
        expect(corrected).not_to_contain_text("3,412")
        page.locator(".kb-card").filter(has_text="3,598").first.get_by_role(
            "button", name="Add to briefing"
        ).click()

        report.unlink()  # Friday: the report is withdrawn
        assert ingest(sources, index)["status"][ITALY] == "removed"
        gone = ask_in_page(FIGURE_QUESTION)
        expect(gone).not_to_contain_text("3,598")
        expect(gone.locator(".kb-card")).not_to_contain_text(["Italy"])

        page.get_by_role("tab", name="Briefing (2)").click()
        page.get_by_label("Briefing title").fill("Week 49: online platforms")
        # The withdrawn report's passage is no longer in the index: the export says so, by its id,
        # rather than cite words that no file in sources/ holds any more.
        page.get_by_role("button", name="Download as Word (.docx)").click()
        expect(page.get_by_text("remove it from the briefing")).to_be_visible(timeout=15_000)
        expect(page.get_by_text(f"no passage with id '{ITALY}:")).to_be_visible()
        gone_item = page.locator(".kb-basket-row").filter(has_text="Italy")
        gone_item.get_by_role("button", name="Remove").click()
        expect(page.get_by_role("tab", name="Briefing (1)")).to_be_visible()
        with page.expect_download(timeout=15_000) as download:
            page.get_by_role("button", name="Download as Word (.docx)").click()
        path = tmp_path / "week.docx"
        download.value.save_as(path)
        text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        assert text.startswith("Week 49: online platforms") and "G7 Leaders' Declaration" in text
        assert "3,598" not in text
    finally:
        demo.close()


def test_a_report_filed_twice_is_found_by_dense_search_in_both_copies(folder):
    # Found by the incremental walk (seed 2, step 50): with a report in sources/ under two names, the
    # same vectors stood twice in Chroma's graph, and a fresh build never returned one copy's passage,
    # not even for its own vector. Whether the graph loses a twin depends on how it was built, which a
    # test cannot reproduce on demand; what must hold is checked here: every passage is found by its
    # own text (kb.search.retrieve compares every vector in an index of this size).
    sources, index = folder
    shutil.copy(CORPUS / "fixture-usa-2026-interagency-report.txt", sources)
    shutil.copy(CORPUS / "fixture-usa-2026-interagency-report.txt", sources / "copy-of-the-us-report.txt")
    shutil.copy(MULTILINGUAL / f"{GERMANY_DE}.md", sources)
    ingest(sources, index)
    settings = Settings.from_env(index_dir=str(index), sources_dir=str(sources))
    library = Library(settings)
    passages = list(library.all_passages())
    assert len(passages) > 40
    for passage, _ in passages:
        hits = library.search(AskRequest(passage.text[:400], mode="dense", k=4, scope=False))
        assert passage.id in {h.passage.id for h in hits}, passage.id
    library.close()

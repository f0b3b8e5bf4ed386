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

ROOT = Path(__file__).resolve().parent.parent
MULTILINGUAL = ROOT / "evals" / "corpus-multilingual"
ITALY = "fixture-ita-2026-implementation-report"
GERMANY_DE = "fixture-deu-2026-bericht-schleusungskriminalitaet"


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

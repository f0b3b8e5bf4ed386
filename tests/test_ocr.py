"""Scanned PDFs: image-only pages read by the real Tesseract, through `kb ingest` and `kb ask`.

The fixture is a three-page PDF of page images with no text layer, like a scan: known text
typeset onto pages 1 and 3 (kb/bench/scans.py renders it), page 2 blank.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import fixtures_build as fb
import pytest
from conftest import settings_for
from helpers import ROOT, kb

from evals.ocr import accuracy
from ingest.pdf import read_pdf
from kb.answer import render
from kb.bench.scans import blocks_of, image_pdf, render_pages
from kb.index.store import Index

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is missing: `make test` installs it (tesseract-ocr)"
)

TITLE = "Test fixture — not an official document: Scanned Border Report of Testland"
PAGE_1 = [
    ("title", TITLE),
    ("heading", "Introduction"),
    (
        "p",
        "1. This report describes the work of the Testland border police in 2025 against the "
        "smuggling of migrants across the northern lakes, and the cooperation with neighbouring states.",
    ),
    (
        "p",
        "2. The police opened 58 investigations into smuggling networks that organised crossings by "
        "boat, and 41 suspects were brought to court.",
    ),
]
PAGE_3 = [
    ("heading", "Forged documents"),
    (
        "p",
        "3. Document examiners at the port of Eastbay detected 417 forged passports in 2025, most of "
        "them sold by a network operating from the capital.",
    ),
    (
        "p",
        "4. A new laboratory for the examination of identity documents opened in Eastbay in September "
        "2025 and trained 96 officers.",
    ),
]
MANIFEST = f"""
[[document]]
id = "scanned-border-report"
title = "{TITLE}"
short_title = "Scanned Border Report"
issuer = "Testland Border Police (test fixture)"
country = "TST"
date = "2026-01-15"
type = "national-report"
file = "scanned-border-report.pdf"
language = "en"
"""


def scanned_pdf(path: Path) -> Path:
    """The three-page image-only PDF: text on pages 1 and 3, page 2 a blank scan."""
    from PIL import Image

    first, *_ = render_pages(PAGE_1)
    third, *_ = render_pages(PAGE_3)
    blank = Image.new("L", first.image.size, 255)
    return image_pdf([first.image, blank, third.image], path)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """`kb ingest` of a sources directory holding the scanned PDF: (result, settings).

    The file's time limit is 3 s, less than reading its pages by OCR takes: the limit grows by
    KB_OCR_PAGE_TIMEOUT for each scanned page."""
    root = tmp_path_factory.mktemp("ocr")
    sources = root / "sources"
    sources.mkdir()
    scanned_pdf(sources / "scanned-border-report.pdf")
    (sources / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    settings = settings_for(sources, root / ".kb")
    env = {"KB_PARSE_TIMEOUT": "3", "KB_OCR_PAGE_TIMEOUT": "60"}
    result = kb("ingest", "--sources", str(sources), "--index", str(settings.index_dir), env=env)
    return result, settings


def test_scanned_pages_are_indexed_with_their_page_numbers_and_marked_as_read_by_ocr(scanned):
    result, settings = scanned
    assert result.returncode == 0, result.stdout + result.stderr
    passages = Index(settings).document_passages("scanned-border-report")
    by_paragraph = {p.paragraph: p for p in passages}
    assert {label: p.page for label, p in by_paragraph.items()} == {"1": 1, "2": 1, "3": 3, "4": 3}
    assert "417 forged passports" in by_paragraph["3"].text
    assert by_paragraph["3"].heading == "Forged documents"
    assert all(p.ocr for p in passages)


def test_a_blank_scanned_page_is_reported_by_file_and_page(scanned):
    result, _ = scanned
    assert "WARNING  scanned-border-report.pdf: page 2: OCR read nothing" in result.stderr, result.stderr
    assert "1 added" in result.stdout


def test_a_question_finds_the_scanned_passage_cites_its_page_and_the_card_says_read_by_ocr(scanned):
    _, settings = scanned
    result = kb(
        "ask",
        "How many forged passports were detected at Eastbay?",
        "--json",
        "--index",
        str(settings.index_dir),
    )
    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)["passages"][0]
    assert "417 forged passports" in top["text"]
    assert top["citation"] == "Scanned Border Report, p. 3, para. 3"
    assert top["ocr"] is True
    assert "read by OCR" in render.card(top)


def test_an_english_page_is_read_with_at_least_95_percent_character_accuracy(tmp_path):
    report = ROOT / "evals/corpus/fixture-gbr-2026-organised-immigration-crime-report.md"
    page, *_ = render_pages(blocks_of(report.read_text(encoding="utf-8")))
    extracted = read_pdf(image_pdf([page.image], tmp_path / "page.pdf"))
    read = "\n".join(block.text for block in extracted.blocks)
    assert accuracy(page.text, read) >= 0.95
    assert all(block.ocr and block.page == 1 for block in extracted.blocks)


def test_a_text_pdf_is_not_read_by_ocr(tmp_path):
    extracted = read_pdf(fb.build_pdf(tmp_path))
    assert not any(block.ocr for block in extracted.blocks)


def test_a_files_time_limit_grows_with_its_scanned_pages(tmp_path):
    """Without time for its pages (KB_OCR_PAGE_TIMEOUT=0) a limit shorter than the reader's own
    start-up (0.01 s) skips the scanned file. With 10 s (time to start the reader and find its
    scanned pages) plus KB_OCR_PAGE_TIMEOUT (30 s) for each of its eight pages, it is read. (No
    speed is asserted: the first run cannot finish in 0.01 s, the second has over four minutes.)"""
    sources = tmp_path / "sources"
    sources.mkdir()
    pages = [render_pages(blocks)[0].image for blocks in (PAGE_1, PAGE_3)] * 4
    image_pdf(pages, sources / "long-scan.pdf")
    without = kb(
        "ingest", "--sources", str(sources), "--index", str(tmp_path / "without"),
        env={"KB_PARSE_TIMEOUT": "0.01", "KB_OCR_PAGE_TIMEOUT": "0"},
    )  # fmt: skip
    assert "long-scan.pdf: reading took longer than 0.01 s; skipped" in without.stderr, without.stderr
    scaled = kb(
        "ingest",
        "--sources",
        str(sources),
        "--index",
        str(tmp_path / "scaled"),
        env={"KB_PARSE_TIMEOUT": "10"},
    )
    assert scaled.returncode == 0 and "1 added" in scaled.stdout, scaled.stdout + scaled.stderr

"""OCR accuracy and speed on rendered pages: `python -m evals.ocr` prints the figures of docs/adding-documents.md.

Known text (the invented fixture reports of evals/corpus and evals/corpus-multilingual) is typeset
onto A4 pages as images, at 200 dpi like an office scanner, wrapped into image-only PDFs (by
kb/bench/scans.py, which `kb bench` uses for its OCR ingest figure too), and read back through
the ingest's own OCR (ingest/ocr.py: rendered with pypdfium2, read by Tesseract).
Character accuracy is 1 - edit distance / length of the known text, whitespace collapsed (removed
for Japanese, where Tesseract puts spaces between characters); seconds per page are wall time of
rendering and reading one page on one core.

    python -m evals.ocr                 # 3 pages per language
    python -m evals.ocr --pages 6 --language en
    python -m evals.ocr --unknown       # read as documents without a manifest language are
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from kb.bench.scans import DPI, SOURCES, image_pdf, report_pages


def accuracy(expected: str, got: str, language: str = "en") -> float:
    """Character accuracy: 1 - edit distance / length of `expected` (whitespace collapsed, or
    removed for Japanese), at least 0."""
    expected, got = _normalized(expected, language), _normalized(got, language)
    return max(0.0, 1 - edit_distance(expected, got) / max(1, len(expected)))


def _normalized(text: str, language: str) -> str:
    return "".join(text.split()) if language == "ja" else " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions of one character cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def measure(language: str, pages: int, workdir: Path, known: bool = True) -> tuple[list[float], list[float]]:
    """(accuracy, seconds) of each of the first `pages` pages of the language's rendered report,
    read back from an image-only PDF through ingest/ocr.py: in the language's own pack, or (not
    `known`) in the languages read when a document's language is not known."""
    from ingest import ocr

    rendered = report_pages(language, pages)
    pdf = image_pdf([page.image for page in rendered], workdir / f"ocr-{language}.pdf")
    tesseract_languages = ocr.languages_for(language if known else "")
    accuracies, seconds = [], []
    for number, page in enumerate(rendered, start=1):
        started = time.perf_counter()
        lines = ocr.read_page(pdf, number, tesseract_languages)
        seconds.append(time.perf_counter() - started)
        accuracies.append(accuracy(page.text, "\n".join(line.text for line in lines), language))
    return accuracies, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.ocr", description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=3, help="pages per language (default 3)")
    parser.add_argument(
        "--language", action="append", choices=sorted(SOURCES), help="repeatable; default all"
    )
    parser.add_argument(
        "--unknown", action="store_true", help="read as documents without a manifest language are read"
    )
    args = parser.parse_args(argv)
    from ingest import ocr

    read_as = ocr.languages_for("") if args.unknown else "each language's own pack"
    print(f"{ocr.engine_version()}, pages rendered at {DPI} dpi, read at {ocr.DPI} dpi in {read_as}\n")
    print(f"{'language':<10}{'pages':>6}{'accuracy':>10}{'worst page':>12}{'s/page':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for language in args.language or list(SOURCES):
            try:
                accuracies, seconds = measure(language, args.pages, Path(tmp), known=not args.unknown)
            except (FileNotFoundError, ocr.OcrUnavailable) as error:
                print(f"{language:<10} skipped: {error}")
                continue
            print(
                f"{language:<10}{len(accuracies):>6}{sum(accuracies) / len(accuracies):>10.1%}"
                f"{min(accuracies):>12.1%}{sum(seconds) / len(seconds):>8.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

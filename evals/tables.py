"""Table extraction scored on the ICDAR 2013 Table Competition data: `python -m evals.tables`.

Runs our reader (ingest/tables) on every PDF of the split, writes one JSON per PDF in the format
`kb tables` writes, and scores it with the split's own evaluate.py (the reference implementation
of the competition's measures, imported from the split folder at run time, never copied):
table regions by characters (per-document mean and micro), tables found, and cell adjacency
relations (micro and per-document mean), for the complete process (we find the tables) and,
with --regions-given, for the structure alone (we are given each ground-truth region). The same
is done for pdfplumber's default `find_tables()` (ruling lines) for comparison, and the seconds
per page of each. With --scanned, our reader reads a scan of each PDF instead (its pages
rasterised, the words read by Tesseract), scored against the same ground truth.

    python -m evals.tables                         # DEV split, complete process
    python -m evals.tables --regions-given
    python -m evals.tables --split DIR --out DIR --docs eu-001,us-002 --worst 10
    python -m evals.tables --scanned               # scans of the PDFs read by OCR (Tesseract)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

DEFAULT_SPLIT = Path(__file__).resolve().parents[2] / "shared" / "icdar2013"
if not DEFAULT_SPLIT.exists():
    DEFAULT_SPLIT = Path("/work/shared/icdar2013")
_PAD_RULED = 15.0  # pt around a GT region for the pdfplumber baseline (its rules lie outside the text)


def load_evaluator(split: Path):
    """The split's evaluate.py as a module."""
    spec = importlib.util.spec_from_file_location("icdar2013_evaluate", split / "evaluate.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"{split}/evaluate.py not found: --split must be the ICDAR 2013 folder")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gt_regions(doc: dict, evaluator) -> list[tuple[int, list[float]]]:
    """(page, [x0, top, x1, bottom]) of every region of the document's first ground truth."""
    _, reg, st = doc["variants"][0]
    pages = evaluator.PdfPages(doc["pdf"])
    return [(p, box) for t in evaluator.load_variant(reg, st, pages) for p, box in t["regions"]]


def ours(pdf: Path, regions: list | None) -> dict:
    from ingest.tables import table_dict
    from ingest.tables.pdf import table_in_box, tables_of_pdf

    if regions is None:
        return {"tables": [table_dict(t) for t in tables_of_pdf(pdf)]}
    import pdfplumber

    out = []
    with pdfplumber.open(pdf) as doc:
        for page, box in regions:
            table = table_in_box(doc.pages[page - 1], page, box)
            if table is not None:
                out.append(table_dict(table))
    return {"tables": out}


def pdfplumber_default(pdf: Path, regions: list | None) -> dict:
    """pdfplumber's `find_tables()` with its default settings (ruling lines), every cell of its
    grid a cell of ours; with regions, run on each region padded, its largest table kept."""
    import pdfplumber

    def tables_of(page, number):
        found = []
        for t in page.find_tables():
            cells = []
            for r, row in enumerate(t.extract()):
                cells += [{"row": r, "col": c, "text": text or ""} for c, text in enumerate(row)]
            found.append({"page": number, "bbox": list(t.bbox), "caption": "", "cells": cells})
        return found

    out = []
    with pdfplumber.open(pdf) as doc:
        if regions is None:
            for number, page in enumerate(doc.pages, start=1):
                out += tables_of(page, number)
        else:
            for number, box in regions:
                page = doc.pages[number - 1]
                pad = [box[0] - _PAD_RULED, box[1] - _PAD_RULED, box[2] + _PAD_RULED, box[3] + _PAD_RULED]
                pad = [max(0, pad[0]), max(0, pad[1]), min(page.width, pad[2]), min(page.height, pad[3])]
                found = tables_of(page.crop(pad), number)
                if found:
                    out.append(max(found, key=lambda t: len(t["cells"])))
    return {"tables": out}


def scanned(pdf: Path, regions: list | None) -> dict:
    """Our reader on a scan of the PDF: every page rasterised (pypdfium2, grayscale, SCAN_DPI
    like an office scanner) into an image-only PDF, read back by Tesseract's words
    (ingest/tables/pdf_ocr.py); boxes scaled back to the PDF's page size (the image's page
    differs by its rounding to whole pixels)."""
    import tempfile

    import pypdfium2

    from ingest.tables import table_dict
    from ingest.tables.pdf_ocr import tables_of_scanned_pdf
    from kb.bench.scans import image_pdf

    if regions is not None:
        raise SystemExit("--scanned runs the complete process only (no --regions-given)")
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        images = [page.render(scale=SCAN_DPI / 72, grayscale=True).to_pil() for page in document]
        widths = [page.get_width() for page in document]
    finally:
        document.close()
    with tempfile.TemporaryDirectory() as tmp:
        scan = image_pdf(images, Path(tmp) / "scan.pdf", SCAN_DPI)
        tables = tables_of_scanned_pdf(scan)
    out = []
    for table in tables:
        data = table_dict(table)
        factor = widths[table.page - 1] / (images[table.page - 1].width * 72 / SCAN_DPI)
        data["bbox"] = [round(v * factor, 2) for v in data["bbox"]]
        out.append(data)
    return {"tables": out}


SCAN_DPI = 200
TOOLS = {"ours": ours, "pdfplumber": pdfplumber_default, "scanned": scanned}


def run(tool: str, split: Path, out: Path, regions_given: bool, names: list[str] | None, evaluator):
    """Write the tool's JSON for each document into `out`; the report of evaluate.py and the
    seconds per page."""
    docs = evaluator.find_docs(str(split))
    if names:
        docs = {n: docs[n] for n in names}
    out.mkdir(parents=True, exist_ok=True)
    seconds = pages = 0.0
    for name, doc in docs.items():
        regions = gt_regions(doc, evaluator) if regions_given else None
        started = time.perf_counter()
        data = TOOLS[tool](Path(doc["pdf"]), regions)
        seconds += time.perf_counter() - started
        pages += len(evaluator.PdfPages(doc["pdf"]))
        (out / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    report = evaluator.evaluate(str(split), str(out), list(docs))
    report["seconds_per_page"] = seconds / max(1, pages)
    return report


def figures(report: dict) -> dict:
    s = report["summary"]
    return {
        "region_char_f1_docmean": s["region_char_docavg"]["f1"],
        "region_char_f1_micro": s["region_char_micro"]["f1"],
        "tables_f1_iou50": s["region_table_iou50"]["f1"],
        "tables_f1_correct": s["region_table_correct"]["f1"],
        "adjacency_f1_micro": s["adjacency_micro"]["f1"],
        "adjacency_f1_docmean": s["adjacency_docavg"]["f1"],
        "predicted_tables": s["region_table_iou50"]["pred"],
        "gt_tables": s["region_table_iou50"]["gt"],
        "seconds_per_page": report["seconds_per_page"],
    }


def worst(report: dict, n: int) -> list[str]:
    rows = []
    for name, d in report["per_doc"].items():
        r, s = d["region"], d["structure"]
        rows.append((r["char_f1"] + s["adj_f1"], name, r["char_f1"], s["adj_f1"], s["adj_tp"], s["adj_pred"], s["adj_gt"],
                     r["tables_pred"], r["tables_gt"]))  # fmt: skip
    rows.sort()
    return [
        f"  {name:8s} region F1 {rf:.3f}  adjacency F1 {af:.3f} ({tp}/{pr} predicted, {gt} GT)  tables {tpred}/{tgt}"
        for _, name, rf, af, tp, pr, gt, tpred, tgt in rows[:n]
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])  # fmt: skip
    parser.add_argument(
        "--split",
        type=Path,
        default=DEFAULT_SPLIT,
        help="ICDAR 2013 folder with evaluate.py (default %(default)s)",
    )
    parser.add_argument(
        "--regions-given", action="store_true", help="run on each ground-truth region (structure only)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("evals/reports/tables-icdar2013"),
        help="where the JSON go (default %(default)s)",
    )
    parser.add_argument(
        "--tools",
        default="ours,pdfplumber",
        help="comma-separated: ours, pdfplumber, scanned (default the first two)",
    )
    parser.add_argument(
        "--scanned",
        action="store_true",
        help="read scans of the PDFs (pages rasterised at 200 dpi, OCR by Tesseract): --tools scanned",
    )
    parser.add_argument("--docs", help="comma-separated document names (default all)")
    parser.add_argument("--worst", type=int, default=8, help="list this many worst documents (default 8)")
    args = parser.parse_args(argv)  # fmt: skip
    evaluator = load_evaluator(args.split)
    task = "regions-given" if args.regions_given else "complete"
    names = args.docs.split(",") if args.docs else None
    results = {}
    for tool in ["scanned"] if args.scanned else args.tools.split(","):
        report = run(tool, args.split, args.out / task / tool, args.regions_given, names, evaluator)
        results[tool] = figures(report)
        print(f"{tool} ({task}):", file=sys.stderr)
        print(evaluator.format_summary(report["summary"]), file=sys.stderr)
        print(f"  seconds per page {report['seconds_per_page']:.3f}", file=sys.stderr)
        if tool in ("ours", "scanned"):
            print("  worst documents:", *worst(report, args.worst), sep="\n", file=sys.stderr)
        (args.out / task / f"{tool}-report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps({"task": task, "split": str(args.split), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

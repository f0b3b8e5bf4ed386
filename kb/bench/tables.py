"""A table-heavy PDF for `kb bench` (issue 37): its ingest throughput, and the PDF read alone.

The PDF is generated here (reportlab; a labelled test fixture, so the bench runs without
../shared): each page holds a ruled table and an unruled one of returns by country and year
under a caption and a paragraph, the way national implementation reports print them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

TITLE = "Test fixture - not an official document: returns and arrests by country (bench)"
_COUNTRIES = ("Italy", "Greece", "Spain", "Malta", "Cyprus", "Croatia", "Bulgaria", "Poland",
              "Lithuania", "Latvia", "Hungary", "Slovenia", "Romania", "France")  # fmt: skip
_YEARS = ("2021", "2022", "2023", "2024", "2025")


def styled(table, ruled: bool):
    """A reportlab table set as reports set theirs: figures right-aligned, and either a grid of
    rules (ruled) or one rule under the heading row (unruled)."""
    from reportlab.lib import colors
    from reportlab.platypus import TableStyle

    style = [("FONTSIZE", (0, 0), (-1, -1), 9), ("ALIGN", (1, 0), (-1, -1), "RIGHT")]
    if ruled:
        style.append(("GRID", (0, 0), (-1, -1), 0.5, colors.black))
    else:
        style.append(("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black))
    table.setStyle(TableStyle(style))
    return table


def table_pdf(path: Path, pages: int) -> Path:
    """Write the table-heavy fixture PDF of `pages` pages (two tables a page) to `path`."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

    styles = getSampleStyleSheet()
    story: list = [Paragraph(TITLE, styles["Title"])]
    for page in range(pages):
        for k, ruled in enumerate((True, False)):
            number = 2 * page + k + 1
            story.append(
                Paragraph(
                    f"The figures below were reported by the national contact points for the year "
                    f"under review (section {number}); provisional figures are marked.",
                    styles["BodyText"],
                )
            )
            story.append(
                Paragraph(f"Table {number}: Returns by country and year (persons)", styles["Heading4"])
            )
            rows = [["Country", *_YEARS]] + [
                [country, *(f"{(number * 37 + c * 113 + y * 59) % 4000 + 100:,}" for y in range(len(_YEARS)))]
                for c, country in enumerate(_COUNTRIES[: 8 + k * 4])
            ]
            table = styled(Table(rows), ruled)
            story += [
                table,
                Paragraph("Source: Ministry of the Interior.", styles["BodyText"]),
                Spacer(1, 12),
            ]
        story.append(PageBreak())
    path.parent.mkdir(parents=True, exist_ok=True)
    SimpleDocTemplate(str(path), pagesize=A4, title=TITLE).build(story)
    return path


def ingest_worker(directory: str, pages: int) -> dict:
    """One ingest (ingest.pipeline.run, what `kb ingest` calls) of the table-heavy PDF into a new
    index under `directory`: seconds per page and passages per second from start to end (model
    load, PDF and tables read, embedding, storing); then the PDF read alone (ingest.pdf.read_pdf:
    text, tables and their rows), its seconds per page and the table rows it made."""
    from ingest import pipeline
    from ingest.pdf import read_pdf
    from kb.config import Settings

    root = Path(directory)
    shutil.rmtree(root, ignore_errors=True)
    pdf = table_pdf(root / "sources" / "bench-tables-fixture.pdf", pages)
    settings = Settings.from_env(index_dir=str(root / "index"), sources_dir=str(pdf.parent), chroma_url="")
    summary = pipeline.run(settings, progress=False)
    started = time.perf_counter()
    extracted = read_pdf(pdf)
    read_seconds = time.perf_counter() - started
    shutil.rmtree(root, ignore_errors=True)
    return {
        "pages": pages,
        "passages": summary.passages_embedded,
        "seconds": summary.seconds,
        "s_per_page": summary.seconds / pages,
        "passages_per_s": summary.passages_embedded / summary.seconds,
        "read_s_per_page": read_seconds / pages,
        "table_rows": sum(1 for block in extracted.blocks if block.table),
        "failed": [f"{o.file}: {o.reason}" for o in summary.failed],
    }


def rows(result: dict) -> list[list[str]]:
    """The report's table rows for the table-heavy PDF."""
    pages = f"{result['pages']} pages, {2 * result['pages']} tables"
    return [
        [f"Table-heavy PDF ingest ({pages}): s per page / passages/s",
         f"{result['s_per_page']:.2f} / {result['passages_per_s']:.1f}"],
        ["Table-heavy PDF ingest: passages / seconds", f"{result['passages']:,} / {result['seconds']:.1f}"],
        ["Table-heavy PDF read alone (text, tables, rows): s per page / table rows",
         f"{result['read_s_per_page']:.3f} / {result['table_rows']:,}"],
        ["Table-heavy PDF ingest: peak RSS, MiB (the ingest process)", f"{result.get('peak_rss_mb', 0):,.0f}"],
    ]  # fmt: skip

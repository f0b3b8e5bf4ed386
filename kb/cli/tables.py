"""`kb tables FILE... --out DIR [--csv]`: the tables of PDF, Word and HTML files as JSON (and CSV)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

DESCRIPTION = """\
Read the tables of each file (PDF, .docx, .html) and write one JSON file per input into DIR:

  {"tables": [{"page": 3, "bbox": [x0, top, x1, bottom], "caption": "Table 2: ...",
               "cells": [{"row": 0, "col": 0, "rowspan": 1, "colspan": 2,
                          "text": "...", "header": true}, ...]}]}

page is 1-based (0 for Word and HTML, which have no pages); bbox is in PDF points from the
top-left corner of the page as displayed, around the table's rows (null for Word and HTML);
row and col are 0-based grid positions of a cell's top-left slot; a cell's lines are joined by
a newline. A table with notes under it ("Source: ...") has them in "notes". With --csv, each
table is also written as NAME-table-K.csv (a spanning cell's text in its first slot)."""

EPILOG = """\
Examples:
  kb tables sources/report.pdf --out tables/
  kb tables sources/*.pdf sources/*.docx --out tables/ --csv

A file that cannot be read (corrupt, encrypted, empty, not the format its name says) is named
on stderr and skipped; the others are still written. Exit codes: 0 ok, 1 some files failed,
2 usage error. Accuracy on the ICDAR 2013 table benchmark: docs/tables.md."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tables",
        help="write the tables of PDF, Word and HTML files as JSON (and CSV)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="PDF, .docx or .html files")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the JSON (and CSV) files")
    p.add_argument("--csv", action="store_true", help="also write each table as a CSV file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ingest.blocks import ReadError, reason
    from ingest.tables import table_dict, tables_of

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    used: set[str] = set()
    for n, name in enumerate(args.files, start=1):
        path = Path(name)
        prefix = f"[{n}/{len(args.files)}] {path}"
        try:
            if not path.is_file():
                raise ReadError("no such file" if not path.exists() else "not a file")
            tables = tables_of(path)
        except ReadError as error:
            failed += 1
            print(f"{prefix}: {reason(error, limit=300)}; skipped", file=sys.stderr)
            continue
        except (OSError, UnicodeError) as error:
            failed += 1
            print(
                f"{prefix}: could not be read ({type(error).__name__}: {reason(error)}); skipped",
                file=sys.stderr,
            )
            continue
        stem = path.stem if path.stem not in used else path.name
        used.add(stem)
        target = out / f"{stem}.json"
        data = {"file": str(path), "tables": [table_dict(t) for t in tables]}
        target.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written = [target]
        if args.csv:
            for k, table in enumerate(tables, start=1):
                csv_path = out / f"{stem}-table-{k}.csv"
                with open(csv_path, "w", encoding="utf-8", newline="") as f:
                    csv.writer(f).writerows(table.grid())
                written.append(csv_path)
        count = f"{len(tables)} table{'s' if len(tables) != 1 else ''}"
        print(
            f"{prefix}: {count} -> {', '.join(str(p) for p in written[:3])}{' ...' if len(written) > 3 else ''}",
            file=sys.stderr,
        )
    if failed:
        print(f"kb tables: {failed} of {len(args.files)} files could not be read", file=sys.stderr)
    return 1 if failed else 0

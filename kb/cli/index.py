"""`kb ingest` and `kb stats`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kb.cli.options import add_index_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="build or update the index from the sources directory",
        description="Read every document in the sources directory and bring the index up to date: new and "
        "changed files are (re)indexed, unchanged ones skipped, removed ones dropped. Bad files are reported "
        "by name and skipped; the rest is indexed.",
    )
    add_index_options(p, sources=True)
    p.add_argument("--manifest", metavar="FILE", help="manifest to use (default SOURCES/sources.toml)")
    p.add_argument("--rebuild", action="store_true", help="re-read and re-embed every document")
    p.add_argument("--wait", action="store_true", help="wait for another running ingest instead of refusing")
    p.add_argument("--embed-model", metavar="PATH", help="embedding model directory or name (KB_EMBED_MODEL)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_ingest)

    p = sub.add_parser("stats", help="documents, passages, model and size of the index")
    add_index_options(p)
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run_stats)


def run_ingest(args: argparse.Namespace) -> int:
    from ingest import pipeline

    settings = settings_from(args)
    summary = pipeline.run(
        settings,
        manifest_path=Path(args.manifest) if args.manifest else None,
        rebuild=args.rebuild,
        progress=not args.quiet and not args.json and sys.stderr.isatty(),
        wait=args.wait,
    )
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print_summary(summary, settings.index_dir)
    return summary.exit_code


def print_summary(summary, index_dir: Path) -> None:
    counts = ", ".join(
        f"{summary.count(s)} {s}" for s in ("added", "updated", "unchanged", "removed", "failed")
    )
    print(
        f"Ingest finished in {summary.seconds:.1f} s: {counts}; {summary.passages_embedded} passages embedded."
    )
    for o in summary.outcomes:
        if o.status in ("added", "updated", "removed"):
            language = f", language {o.language}" if o.language else ""
            print(f"  {o.status:<8} {o.file or o.doc_id} ({o.passages} passages{language})")
    for o in summary.failed:
        name = (
            f"{o.file} ({o.doc_id})" if o.file and not o.file.startswith(o.doc_id) else (o.file or o.doc_id)
        )
        print(f"  FAILED   {name}: {o.reason}", file=sys.stderr)
    for o in summary.outcomes:
        for warning in o.warnings:  # indexed without these parts, e.g. a scanned page OCR could not read
            print(f"  WARNING  {o.file or o.doc_id}: {warning}", file=sys.stderr)
    print(f"Index: {index_dir}/")


def run_stats(args: argparse.Namespace) -> int:
    from kb.api import Library

    stats = Library(settings_from(args)).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"Index:      {stats['index']}/ ({stats['store']})")
    print(f"Documents:  {stats['documents']}")
    print(f"Passages:   {stats['passages']}")
    print(f"Languages:  {', '.join(f'{k} ({n})' for k, n in stats['languages'].items()) or 'none'}")
    print(f"Model:      {stats['model']}")
    print(f"Size:       {stats['size_on_disk_bytes'] / 1e6:.1f} MB on disk")
    return 0

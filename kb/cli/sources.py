"""`kb sources [list|fetch]`: what the manifest lists, what is in sources/, what is indexed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kb.cli.options import add_index_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sources",
        help="list the documents in sources/ and the manifest, or fetch missing ones",
        description="List (default) or fetch the documents of the sources directory.",
    )
    add_index_options(p, sources=True)
    p.add_argument("--manifest", metavar="FILE", help="manifest to use (default SOURCES/sources.toml)")
    p.set_defaults(func=run_list, json=False)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    lst = actions.add_parser("list", help="each document: id, type, date, file, indexed or not (default)")
    lst.add_argument("--json", action="store_true", help="print as JSON")
    add_index_options(lst, sources=True, again=True)
    lst.set_defaults(func=run_list)
    fetch = actions.add_parser("fetch", help="download listed documents that have a url but no file yet")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds per download (default 30)")
    fetch.add_argument("ids", nargs="*", help="only these document ids")
    add_index_options(fetch, sources=True, again=True)
    fetch.set_defaults(func=run_fetch)


def _manifest(args, settings):
    from ingest import manifest

    path = Path(args.manifest) if args.manifest else settings.sources_dir / manifest.MANIFEST_NAME
    return manifest.load(path)


def run_list(args: argparse.Namespace) -> int:
    from ingest import manifest as manifest_mod
    from kb.api import Library
    from kb.errors import IndexMissingError

    settings = settings_from(args)
    m = _manifest(args, settings)
    found = {s.document.id: s for s in manifest_mod.discover(m, settings.sources_dir)}
    try:
        library = Library(settings)
        records, failures = library.records(), library.failures()
    except IndexMissingError:
        records, failures = {}, {}
    rows = []

    def language(d) -> str:
        """The indexed document's language (the manifest's, or detected), else the manifest's."""
        return records[d.id].document.language if d.id in records else d.language

    for doc in m.documents:
        s = found.get(doc.id)
        status = "not fetched" if not doc.file else ("missing file" if s and s.problem else "listed")
        rows.append((doc, status))
    rows += [
        (s.document, "from pattern rule" if s.document.listed else "unlisted")
        for s in found.values()
        if s.document.id not in {d.id for d in m.documents}
    ]
    if getattr(args, "json", False):
        print(
            json.dumps(
                [
                    {
                        **d.to_dict(),
                        "language": language(d),
                        "status": st,
                        "indexed": d.id in records,
                        "passages": records[d.id].passages if d.id in records else 0,
                        "not_read": failures.get(d.id, ""),  # why the last ingest could not read its file
                    }
                    for d, st in rows
                ],
                indent=2,
            )
        )
        return 0
    print(f"{'id':<46} {'type':<15} {'date':<10} {'lang':<4} {'status':<17} indexed")
    for doc, status in rows:
        indexed = f"yes ({records[doc.id].passages} passages)" if doc.id in records else "no"
        if doc.id in failures:
            indexed = f"no: could not be read ({failures[doc.id]})"
        lang = language(doc) or "-"
        print(f"{doc.id[:46]:<46} {doc.type:<15} {doc.date:<10} {lang:<4} {status:<17} {indexed}")
    unlisted = sum(1 for _, st in rows if st == "unlisted")
    if unlisted:
        print(
            f"\n{unlisted} file(s) in {settings.sources_dir}/ have no manifest entry; their metadata is inferred "
            f"(add them to {settings.sources_dir}/sources.toml to set title, issuer, date and type)."
        )
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from ingest.fetch import fetch_missing

    settings = settings_from(args)
    path = Path(args.manifest) if args.manifest else settings.sources_dir / "sources.toml"
    results = fetch_missing(path, settings.sources_dir, only=set(args.ids), timeout=args.timeout)
    if not results:
        print("Nothing to fetch: every listed document with a url has its file.")
        return 0
    for r in results:
        print(f"  {'fetched' if r.ok else 'FAILED '} {r.doc_id}: {r.message}")
    failed = sum(1 for r in results if not r.ok)
    if failed:
        print(f"{failed} document(s) could not be fetched; the manifest is unchanged for them.")
    return 1 if failed else 0

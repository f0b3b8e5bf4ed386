"""`kb serve`: start the web app (after ingesting the sources, with --ingest)."""

from __future__ import annotations

import argparse
import signal
import sys

from kb.cli.options import add_index_options, settings_from
from kb.config import Settings

RUN_HINT = (
    "run `kb ingest` to index the documents in {sources}/ and then `kb serve`, "
    "or `make run` (which does both)"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="start the web app (ask, read, collect passages, export briefings)",
        description="Start the web app on http://KB_HOST:KB_PORT (default 127.0.0.1:7860). Set KB_AUTH to "
        "'user:password' pairs (comma-separated) or to the path of a file with one pair per line to require a login.",
    )
    add_index_options(p, sources=True)
    p.add_argument("--ingest", action="store_true", help="bring the index up to date with the sources first")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1, or KB_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (default 7860, or KB_PORT)")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from kb.api import Library
    from kb.errors import IndexMissingError, KBError

    settings = settings_from(args)
    settings = settings.with_(**{k: v for k, v in (("host", args.host), ("port", args.port)) if v})
    if args.ingest:
        ingest(settings)
    try:
        library = Library(settings)
        documents = len(library.records())
    except IndexMissingError:
        raise IndexMissingError(
            f"no index in {settings.index_dir}/ yet: " + RUN_HINT.format(sources=settings.sources_dir)
        ) from None
    if not documents:
        raise IndexMissingError(
            f"the index in {settings.index_dir}/ is empty: " + RUN_HINT.format(sources=settings.sources_dir)
        )
    print(f"Loading the embedding model ({settings.model_id}) and the index…", flush=True)
    try:
        library.warm()
    except KBError as exc:  # e.g. a Chroma server down: the app starts, and each question says so
        print(f"kb: warning: could not answer a first question ({exc}); starting all the same.", flush=True)
        library.reset()
    import app

    demo, _ = app.serve(settings, block=False, quiet=True, announce=True, library=library)
    print(
        f"Starting the app on http://{settings.host}:{settings.port} ({documents} document{'s' * (documents != 1)}"
        f"{', login required' if settings.auth else ''}). Stop it with Ctrl+C.\n"
        "While it runs, `kb ask` and `kb search` on this index answer through it, without loading the model again.",
        flush=True,
    )
    # A `kill` stops the app as Ctrl+C does, so that it removes its serve.json (kb/cli/served.py).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    demo.block_thread()
    return 0


def ingest(settings: Settings) -> None:
    """Index the sources before starting, with a progress bar on a terminal and a summary."""
    from ingest import pipeline
    from kb.cli.index import print_summary

    print(
        f"Indexing the documents in {settings.sources_dir}/ into {settings.index_dir}/ "
        "(unchanged documents are skipped)…",
        flush=True,
    )
    summary = pipeline.run(settings, progress=sys.stderr.isatty())
    print_summary(summary, settings.index_dir)
    if summary.failed:
        print("Some documents could not be indexed (see above); the app starts with the others.", flush=True)

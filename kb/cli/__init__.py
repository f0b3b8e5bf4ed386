"""The `kb` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import kb  # noqa: F401  (sets the offline environment before any library is imported)
from kb.errors import KBError

EPILOG = """\
Typical use:
  kb ingest                      build or update the index from sources/
  kb ask "which commitments cover online platforms?"
  kb search "returns" --type declaration --json
  kb sources                     what is in sources/ and in the index

Environment: KB_INDEX_DIR, KB_SOURCES_DIR, KB_CHROMA_URL, KB_EMBED_MODEL (all of them: docs/configuration.md).
Exit codes: 0 ok, 1 partial failure (some files failed), 2 usage error."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kb",
        description="Search and cite the G7's commitments against migrant smuggling and the evidence of their implementation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kb {kb.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each command module defines `register(subparsers)`, which adds its commands.
    from kb.cli import bench, commitments, eval, feedback, index, mcp, query, serve, sources, tables

    for module in (index, sources, query, serve, mcp, eval, commitments, feedback, bench, tables):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command `argv` names (default: the process's arguments); its exit code."""
    parser = build_parser()
    return _run(parser, parser.parse_args(argv))


def run() -> None:
    """The `kb` program. After `kb ask` and `kb search` have printed everything, it exits without
    freeing the interpreter's objects one by one (as mypy's command does): with Chroma's modules
    and the model loaded that takes a quarter of a second, after the answer is on the screen. The
    index is closed by then; nothing else is left to save."""
    parser = build_parser()
    args = parser.parse_args()
    code = _run(parser, args)
    if getattr(args, "exit_at_once", False):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KBError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    run()

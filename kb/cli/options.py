"""Options and settings that the `kb` commands share: the index and sources directories."""

from __future__ import annotations

import argparse

from kb.config import Settings


def add_index_options(parser: argparse.ArgumentParser, sources: bool = False, again: bool = False) -> None:
    """--index (and --sources) for commands that use the index; `again` for a subcommand whose
    parent command has them too (`kb sources list --index DIR` and `kb sources --index DIR list`)."""
    default = argparse.SUPPRESS if again else None  # a subcommand must not reset what its parent read
    parser.add_argument(
        "--index", metavar="DIR", default=default, help="index directory (default .kb, or KB_INDEX_DIR)"
    )
    if sources:
        parser.add_argument(
            "--sources",
            metavar="DIR",
            default=default,
            help="sources directory (default sources, or KB_SOURCES_DIR)",
        )


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by --index / --sources / --embed-model."""
    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        sources_dir=getattr(args, "sources", None),
        embed_model=getattr(args, "embed_model", None),
    )

"""`kb eval` (not written yet)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Adds no command until this module is written."""

"""Importing a library without the optional dependencies it would import for features we do not use.

NLTK and bm25s import SciPy, scikit-learn or numba whenever they are installed (they are, for
sentence-transformers and ranx), under `except ImportError`, for parts of them we never call:
`import nltk` takes 2.3 s instead of 0.3 s, `import bm25s` 0.5 s instead of 0.1 s (medians of five
new processes on an idle 2-core machine), at the start of every `kb` command, the app and each ingest.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading


class without(importlib.abc.MetaPathFinder):  # noqa: N801  (used as a context manager: `with without(...)`)
    """While the block runs, in this thread only, the named packages look missing; other threads
    (sentence-transformers loading SciPy in one) import them as usual. A package already imported
    is not affected."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if threading.get_ident() == self.thread and name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(
                f"No module named {name!r} (not imported here: kb/imports.py)", name=name
            )
        return None

    def __enter__(self) -> None:
        sys.meta_path.insert(0, self)

    def __exit__(self, *exc: object) -> None:
        sys.meta_path.remove(self)

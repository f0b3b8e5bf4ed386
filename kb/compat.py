"""Every place where kb relies on a library's internals or wording rather than its documented
API, each behind one function with a contract test (tests/test_compat.py) that fails loudly, with
the library named, when an upgrade changes it."""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def bm25_postings(bm25) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """bm25s' index as postings: (indptr, indices, vocabulary), where the passages (rows) holding
    the term with column c are indices[indptr[c]:indptr[c + 1]]. bm25s keeps its scores as a
    compressed sparse column matrix in `BM25.scores` and its vocabulary in `vocab_dict`."""
    return np.asarray(bm25.scores["indptr"]), np.asarray(bm25.scores["indices"]), bm25.vocab_dict


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool's workers now, whatever they are doing: the standard library can only
    cancel work not yet started, so the workers are found in the pool's private `_processes`."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def is_missing_id(exc: BaseException) -> bool:
    """Chroma's embedded store failing a query because another process deleted passages in the
    middle of it (an InternalError whose only mark is its message)."""
    return "Error finding id" in str(exc)


def persist_vectors(collection) -> None:
    """Have Chroma write its graph of the vectors to disk now. It writes it when the changes since
    its last write reach the collection's `sync_threshold` (1,000), and until it does, every new
    process replays those changes from its log before its first query: 0.35 s for the last 787
    passages of a 100,000-passage ingest, and the whole log for an index of fewer than 1,000
    passages. Chroma has no call for it, so this makes that many changes that do nothing: deleting
    ids that no passage has (theirs are `document:paragraph:part`, with colons)."""
    threshold = ((collection.configuration or {}).get("hnsw") or {}).get("sync_threshold") or 1000
    collection.delete(ids=[f"kb-persist-now-{i}" for i in range(threshold)])


def gradio_signed_in(app, cookies: dict[str, str]) -> bool:
    """The check Gradio applies to its own routes, for a route of ours: no login configured, or a
    session cookie Gradio issued (`access-token[-unsecure]-{cookie_id}`, looked up in `app.tokens`)."""
    if app.auth is None:
        return True
    token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(
        f"access-token-unsecure-{app.cookie_id}"
    )
    return token is not None and app.tokens.get(token) is not None


def punkt_data_dir() -> str:
    """A folder of NLTK data holding Punkt's sentence models (`tokenizers/punkt_tab/`): the copy
    that llama-index-core ships in its package, so that nothing is downloaded. Found without
    importing llama_index.core, which takes a second and a half."""
    core = importlib.util.find_spec("llama_index.core").submodule_search_locations[0]
    return os.path.join(core, "_static", "nltk_cache")

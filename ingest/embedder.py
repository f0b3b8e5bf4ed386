"""The model's side of an ingest: batches of passages embedded in a process of its own.

Chroma's embedded client holds the GIL for the whole of an upsert (a Python thread ran at 1 % of
its speed during one), and the ONNX encoder needs the GIL between two texts. Run in a thread of
the ingest process, the model stood still while a batch was being stored; in a process of its
own it goes on embedding the next batch while the ingest process stores the last one and splits
the documents after it.

The PyTorch backend embeds in a thread, one batch at a time, as before: it shares its tokenizer
with the splitting, which must not be used by two threads at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from ingest.readers import exit_with_parent
from kb.compat import kill_pool
from kb.config import Settings
from kb.models import embed

log = logging.getLogger(__name__)


class Embedder:
    """Embeds the ingest's batches: `submit` returns at once, `vectors` waits for them."""

    def __init__(self, settings: Settings):
        """Starts the embedding process at once when the model is converted (kb.models.embed.cached):
        it loads the model while this process opens the index. Call `load` before `submit`."""
        self.settings = settings
        self._pool: ProcessPoolExecutor | ThreadPoolExecutor | None = None
        self.ahead = False  # whether a batch can embed while the next is split
        if embed.cached(settings):
            self._start_process()

    def _start_process(self) -> None:
        self.ahead = True
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self.settings, os.getpid()),
        )
        self._pool.submit(_ready)  # the process starts with its first task

    def load(self) -> None:
        """Load the model in this process too: the splitting needs its tokenizer. The first time,
        this exports it; the embedding process then starts and finds the export in the cache."""
        if embed.encoder(self.settings) is not None:
            if self._pool is None:
                self._start_process()
        elif self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="kb-embed")

    def submit(self, texts: list[str]) -> Future:
        assert self._pool is not None, "Embedder.load first"
        if isinstance(self._pool, ProcessPoolExecutor):
            try:
                return self._pool.submit(_encode, texts)
            except BrokenProcessPool:
                self._fall_back()
        return self._pool.submit(embed.encode, self.settings, texts)

    def vectors(self, future: Future, texts: list[str]) -> np.ndarray:
        """The batch's vectors. If the embedding process died (killed, out of memory), this batch
        and the ones after it are embedded in the ingest process instead: same model, same vectors."""
        try:
            return future.result()
        except (BrokenProcessPool, CancelledError):  # cancelled: queued when an earlier batch found it dead
            self._fall_back()
            return embed.encode(self.settings, texts)

    def _fall_back(self) -> None:
        if isinstance(self._pool, ProcessPoolExecutor):
            log.warning("the embedding process stopped; embedding in the ingest process from here on")
            kill_pool(self._pool)
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="kb-embed")

    def close(self, now: bool = False) -> None:
        """Stop the embedding process: when it is done (now=False), or at once (an error, Ctrl-C)."""
        if self._pool is None:
            return
        if now and isinstance(self._pool, ProcessPoolExecutor):
            kill_pool(self._pool)
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.close(now=kind is not None)


_settings: Settings | None = None


def _start(settings: Settings, parent: int) -> None:
    """In the embedding process: load the model from the export cache."""
    global _settings
    exit_with_parent(parent)
    _settings = settings
    embed.encode(settings, ["warm up"])  # loads the model before the first batch arrives


def _ready() -> None:
    """The first task: it starts the process, whose initializer loads the model."""


def _encode(texts: list[str]) -> np.ndarray:
    assert _settings is not None
    return embed.encode(_settings, texts)

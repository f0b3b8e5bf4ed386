"""Reading files in worker processes while the main process embeds: each file is parsed in a
reader process with a time limit, so that a file that hangs or crashes its reader fails alone and
the ingest goes on with the others.

OCR is slow (seconds a page): a reader tells this process, through a queue, how many scanned
pages a file has and each one it has read. A file's time limit grows by `ocr_page_timeout` for
each scanned page, and a progress bar shows the pages read.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from ingest.parse import Parsed, parse
from kb.compat import kill_pool
from kb.config import Settings


class Job(Protocol):
    """What the readers need of an ingest job: its file, and where its reading stands."""

    future: Future | None
    retried: bool

    @property
    def path(self) -> Path: ...

    @property
    def language(self) -> str:
        """The document's language (ISO 639-1) if known, for OCR; "" otherwise."""
        ...


J = TypeVar("J", bound=Job)


class Reading(Generic[J]):
    """Each job with its parsed file, in order (iterate); a file that hangs or kills its worker
    fails alone. The reader processes start, and the first files go to them, when this is made:
    they read while the ingest process opens the index. Use it as a context manager: leaving it
    stops the readers."""

    def __init__(self, jobs: list[J], settings: Settings, progress: bool = False):
        self.jobs = jobs
        self.settings = settings
        self.progress = progress
        self._ctx = multiprocessing.get_context("spawn")
        self._pages = self._ctx.Queue()  # (path, scanned pages read, scanned pages) from the readers
        self._scanned: dict[str, int] = {}  # path -> scanned pages to read by OCR
        self._bars: dict[str, object] = {}  # path -> its OCR progress bar
        self._pool = _reader_pool(self._ctx, settings, self._pages)
        self._window = max(2, settings.ingest_workers * 4)  # parse ahead while the model embeds
        self._submit(0)

    def _submit(self, i: int) -> None:
        job = self.jobs[i] if i < len(self.jobs) else None
        # After a crash the job is parsed again alone: any file in flight could have crashed the pool.
        for ahead in [job] if job is not None and job.retried else self.jobs[i : i + self._window]:
            if ahead.future is None:
                ahead.future = self._pool.submit(_parse, str(ahead.path), ahead.language)

    def __iter__(self) -> Iterator[tuple[J, Parsed]]:
        jobs, i = self.jobs, 0
        while i < len(jobs):
            job = jobs[i]
            try:
                self._submit(i)
                parsed = self.parsed(job)
            except FutureTimeout:
                parsed = Parsed([], error=f"reading took longer than {self._time_limit(job):g} s; skipped")
                self._restart(jobs[i + 1 :])
            except BrokenProcessPool:
                self._restart(jobs[i:])
                if not job.retried:
                    job.retried = True
                    continue
                parsed = Parsed([], error="the reader crashed on this file; skipped")
                job.future = None
            except Exception as exc:  # a reader bug on an odd file: that file fails, the run goes on
                parsed = Parsed(
                    [], error=f"the reader failed on this file ({type(exc).__name__}: {str(exc)[:200]})"
                )
            self._close_bar(str(job.path))
            yield job, parsed
            i += 1

    def parsed(self, job: J) -> Parsed:
        """The job's file parsed; raises FutureTimeout when it takes longer than its time limit,
        measured from now (the reader may have started it earlier, while this process embedded)."""
        started = time.monotonic()
        while True:
            try:
                return job.future.result(timeout=0.2)
            except FutureTimeout:
                self._follow_ocr()
                if time.monotonic() - started > self._time_limit(job):
                    raise

    def _time_limit(self, job: J) -> float:
        return (
            self.settings.parse_timeout + self._scanned.get(str(job.path), 0) * self.settings.ocr_page_timeout
        )

    def _follow_ocr(self) -> None:
        """Take in the readers' reports of OCR pages: the time limits, and the progress bars."""
        from tqdm import tqdm

        while True:
            try:
                path, done, total = self._pages.get_nowait()
            except queue.Empty:
                return
            self._scanned[path] = total
            if self.progress and path not in self._bars:
                self._bars[path] = tqdm(
                    total=total, unit="page", desc=f"OCR {Path(path).name}", leave=False, dynamic_ncols=True
                )
            if path in self._bars:
                bar = self._bars[path]
                bar.update(done - bar.n)

    def _close_bar(self, path: str) -> None:
        self._follow_ocr()
        if path in self._bars:
            self._bars.pop(path).close()

    def _restart(self, rest: list[J]) -> None:
        kill_pool(self._pool)
        for job in rest:
            job.future = None
        self._pages = (
            self._ctx.Queue()
        )  # a reader killed while writing to the old one may have left it locked
        self._pool = _reader_pool(self._ctx, self.settings, self._pages)

    def __enter__(self) -> Reading[J]:
        return self

    def __exit__(self, *exc: object) -> None:
        kill_pool(self._pool)
        for path in list(self._bars):
            self._bars.pop(path).close()


def _reader_pool(ctx, settings: Settings, pages) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=max(1, settings.ingest_workers),
        mp_context=ctx,
        initializer=_start_reader,
        initargs=(os.getpid(), pages),
    )


_pages = None  # in a reader process: the queue to the ingest process


def _start_reader(parent: int, pages) -> None:
    global _pages
    _pages = pages
    exit_with_parent(parent)


def _parse(path: str, language: str) -> Parsed:
    """In a reader process: parse(), reporting the OCR of scanned pages to the ingest process."""
    return parse(path, language, progress=lambda done, total: _pages.put((path, done, total)))


def exit_with_parent(parent: int) -> None:
    """In a worker process (a reader, the embedder): exit when `kb ingest` is gone. Killed with
    SIGKILL (the OOM killer, a `kill -9`), it cannot stop its workers, which would otherwise wait
    for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()

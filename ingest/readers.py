"""Reading files in worker processes while the main process embeds: each file is parsed in a
reader process with a time limit, so that a file that hangs or crashes its reader fails alone and
the ingest goes on with the others."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from ingest.parse import Parsed, parse
from kb.config import Settings


class Job(Protocol):
    """What the readers need of an ingest job: its file, and where its reading stands."""

    future: Future | None
    retried: bool

    @property
    def path(self) -> Path: ...


J = TypeVar("J", bound=Job)


class Reading(Generic[J]):
    """Each job with its parsed file, in order (iterate); a file that hangs or kills its worker
    fails alone. The reader processes start, and the first files go to them, when this is made:
    they read while the ingest process opens the index. Use it as a context manager: leaving it
    stops the readers."""

    def __init__(self, jobs: list[J], settings: Settings):
        self.jobs = jobs
        self.settings = settings
        self._ctx = multiprocessing.get_context("spawn")
        self._pool = _reader_pool(self._ctx, settings)
        self._window = max(2, settings.ingest_workers * 4)  # parse ahead while the model embeds
        self._submit(0)

    def _submit(self, i: int) -> None:
        job = self.jobs[i] if i < len(self.jobs) else None
        # After a crash the job is parsed again alone: any file in flight could have crashed the pool.
        for ahead in [job] if job is not None and job.retried else self.jobs[i : i + self._window]:
            if ahead.future is None:
                ahead.future = self._pool.submit(parse, str(ahead.path))

    def __iter__(self) -> Iterator[tuple[J, Parsed]]:
        jobs, i = self.jobs, 0
        while i < len(jobs):
            job = jobs[i]
            try:
                self._submit(i)
                parsed = job.future.result(timeout=self.settings.parse_timeout)
            except FutureTimeout:
                parsed = Parsed(
                    [], error=f"reading took longer than {self.settings.parse_timeout:.0f} s; skipped"
                )
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
            yield job, parsed
            i += 1

    def _restart(self, rest: list[J]) -> None:
        kill(self._pool)
        for job in rest:
            job.future = None
        self._pool = _reader_pool(self._ctx, self.settings)

    def __enter__(self) -> Reading[J]:
        return self

    def __exit__(self, *exc: object) -> None:
        kill(self._pool)


def _reader_pool(ctx, settings: Settings) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=max(1, settings.ingest_workers),
        mp_context=ctx,
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


def exit_with_parent(parent: int) -> None:
    """In a worker process (a reader, the embedder): exit when `kb ingest` is gone. Killed with
    SIGKILL (the OOM killer, a `kill -9`), it cannot stop its workers, which would otherwise wait
    for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's processes now, whatever they are doing."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)

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
from typing import Protocol, TypeVar

from ingest.parse import Parsed, parse
from kb.config import Settings


class Job(Protocol):
    """What the readers need of an ingest job: its file, and where its reading stands."""

    future: Future | None
    retried: bool

    @property
    def path(self) -> Path: ...


J = TypeVar("J", bound=Job)


def parsed(jobs: list[J], settings: Settings) -> Iterator[tuple[J, Parsed]]:
    """Each job with its parsed file, in order; a file that hangs or kills its worker fails alone."""
    ctx = multiprocessing.get_context("spawn")
    pool = _reader_pool(ctx, settings)
    window = max(2, settings.ingest_workers * 4)  # parse ahead while the model embeds
    try:
        i = 0
        while i < len(jobs):
            job = jobs[i]
            try:
                # After a crash the job is parsed again alone: any file in flight could have crashed the pool.
                for ahead in [job] if job.retried else jobs[i : i + window]:
                    if ahead.future is None:
                        ahead.future = pool.submit(parse, str(ahead.path))
                parsed = job.future.result(timeout=settings.parse_timeout)
            except FutureTimeout:
                parsed = Parsed([], error=f"reading took longer than {settings.parse_timeout:.0f} s; skipped")
                pool = _restart(pool, ctx, settings, jobs[i + 1 :])
            except BrokenProcessPool:
                pool = _restart(pool, ctx, settings, jobs[i:])
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
    finally:
        kill(pool)


def _restart(pool: ProcessPoolExecutor, ctx, settings: Settings, rest: list[Job]) -> ProcessPoolExecutor:
    kill(pool)
    for job in rest:
        job.future = None
    return _reader_pool(ctx, settings)


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

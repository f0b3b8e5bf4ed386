"""The ingest lock: one `kb ingest` at a time on an index; a second waits or is refused."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import IndexBusyError


@contextmanager
def ingest_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold the index's ingest lock; a second ingest waits (wait=True) or is refused."""
    path = index_dir / "ingest.lock"
    while True:
        f = open(path, "a+")  # noqa: SIM115  (closed below, or by the with block)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise IndexBusyError(
                f"another `kb ingest` ({holder}) is updating {index_dir}/; wait for it to finish "
                "or run with --wait"
            ) from None
        if path.exists() and os.path.samestat(os.fstat(f.fileno()), os.stat(path)):
            break
        f.close()  # the lock file was deleted or replaced while we waited: lock the one there now
    with f:
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)

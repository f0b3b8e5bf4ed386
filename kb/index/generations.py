"""An index directory holds its index in generations: `g-000001/`, `g-000002/`, … each a complete
index (registry and passages in `registry.sqlite`, vectors in `chroma/`, the BM25 snapshot in
`bm25/`, the commitments), and one pointer file, `CURRENT`, naming the generation in service.

`kb ingest` writes a change into a new generation (a copy of the current one) and `--rebuild` into
an empty one; the pointer is switched, in one atomic rename, only once it is complete. A reader
opens the generation the pointer names and keeps it until its next question, holding a shared lock
on it so that no ingest deletes it meanwhile. Files that are not part of an index (the app's
secret, feedback reports, the ingest lock) stay in the index directory itself.

An index built before generations keeps its parts in the index directory itself (`flat`): it is
read from there until the next `kb ingest` copies it into a first generation.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
from pathlib import Path

from kb import files

POINTER = "CURRENT"
READERS = "readers.lock"  # readers hold it shared; an ingest deletes a generation only once it can take it
_NAME = re.compile(r"g-(\d{6})$")


def current(root: Path) -> Path:
    """The generation in service: the directory the pointer names, or the index directory itself
    for an index built before generations (or none built yet)."""
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return root
    return root / name


def flat(root: Path) -> bool:
    """Whether this is an index built before generations, with its parts in the directory itself."""
    return not (root / POINTER).exists() and (root / "registry.sqlite").exists()


def all_of(root: Path) -> list[Path]:
    """Every generation directory, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if _NAME.match(p.name) and p.is_dir())


def new(root: Path) -> Path:
    """A new, empty generation directory, numbered after every existing one."""
    last = max((int(_NAME.match(p.name)[1]) for p in all_of(root)), default=0)
    path = root / f"g-{last + 1:06d}"
    path.mkdir(parents=True)
    return path


def publish(root: Path, generation: Path) -> None:
    """Put a complete generation in service: the pointer is replaced in one atomic rename."""
    files.write_text(root / POINTER, generation.name)


def copy(src: Path, dst: Path) -> None:
    """Copy an index's parts from one generation (or a flat index) into another: SQLite databases
    with SQLite's online backup (a reader's checkpoint cannot tear the copy), other files as they are."""
    for name in ("registry.sqlite", "chroma", "bm25", "commitments.json", "commitments-links.json"):
        path = src / name
        if path.is_dir():
            for file in path.rglob("*"):
                if file.is_file():
                    _copy_file(file, dst / name / file.relative_to(path))
        elif path.is_file():
            _copy_file(path, dst / name)


def _copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.name.endswith(("-wal", "-shm", "-journal", ".lock")):
        return  # part of the database the backup copies (or a writer's rollback journal), or a lock
    if src.suffix in (".sqlite", ".sqlite3"):
        with sqlite3.connect(src, timeout=30) as source, sqlite3.connect(dst) as target:
            source.backup(target)
        source.close()
        target.close()
    else:
        shutil.copy2(src, dst)


class ReadLock:
    """A shared lock on a generation, held by a reader while it may still use it."""

    def __init__(self, generation: Path):
        self.generation = generation
        self._file = None
        if _NAME.match(generation.name):
            try:
                self._file = open(generation / READERS, "a")  # noqa: SIM115  (closed in release)
            except FileNotFoundError:  # deleted between reading the pointer and opening it
                return
            fcntl.flock(self._file, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def unused(generation: Path) -> bool:
    """Whether no reader holds the generation (its lock taken exclusively, without waiting)."""
    try:
        f = open(generation / READERS, "a")  # noqa: SIM115
    except FileNotFoundError:
        return True
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def delete(generation: Path) -> None:
    """Delete a generation directory: renamed out of the way first, so that a kill midway never
    leaves half a generation under a generation's name."""
    doomed = generation.with_name(f".deleting-{generation.name}-{os.getpid()}")
    os.rename(generation, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def leftovers(root: Path) -> list[Path]:
    """What a killed deletion left behind."""
    return [p for p in root.iterdir() if p.name.startswith(".deleting-")] if root.is_dir() else []

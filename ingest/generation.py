"""Which generation of the index `kb ingest` writes into, and putting it in service (the layout is
in kb/index/generations.py).

- The first build of an index writes into its first generation, in service from the start: there
  is nothing to protect, and a killed first build keeps what it wrote and answers from it.
- A change is written into a copy of the generation in service. A run killed midway leaves that
  copy behind, out of service; the next run resumes it (its unfinished marks say what to redo)
  when it was copied from the generation still in service, and deletes it otherwise.
- `--rebuild` writes into a new, empty generation (on a Chroma server, with a new collection); a
  rebuild that fails or is killed is deleted by the next run.

Once the work is complete the pointer is switched; generations no reader holds any more are
deleted, with their Chroma collections on a server.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from kb.config import Settings
from kb.index import generations
from kb.index.registry import registry_path

COMPLETE = "complete"  # registry info: the generation's ingest finished (its first build, at least)
BASE = "base"  # registry info: the generation a change was copied from

# What an index built before generations kept in the index directory itself.
_FLAT_PARTS = ("chroma", "bm25", "registry.sqlite", "commitments.json", "commitments-links.json")


@dataclass(frozen=True)
class Work:
    """The generation an ingest writes into."""

    dir: Path
    in_service: bool  # a first build: already the generation the pointer names
    collection: str | None = None  # a new Chroma collection for it (a rebuild on a server)


def begin(settings: Settings, rebuild: bool) -> Work:
    """Choose (and, for a change, make) the generation this ingest writes into; delete what killed
    runs left that cannot be resumed. Call under the ingest lock."""
    root = settings.index_dir
    for left in generations.leftovers(root):
        shutil.rmtree(left, ignore_errors=True)
    live = generations.current(root)
    built = registry_path(live).exists()
    if not built or (info(live, COMPLETE) != "1" and not generations.flat(root) and not rebuild):
        _discard(settings, [g for g in _unpublished(root, live) if g != live])
        if built:  # a first build, killed: carried on where it stopped
            return Work(live, in_service=True)
        first = generations.new(root)
        generations.publish(root, first)
        return Work(first, in_service=True)
    resumable = [] if rebuild else [g for g in _unpublished(root, live) if info(g, BASE) == live.name]
    _discard(settings, [g for g in _unpublished(root, live) if g not in resumable[-1:]])
    if rebuild:
        collection = f"{settings.collection}-{uuid.uuid4().hex[:12]}" if settings.chroma_url else None
        return Work(generations.new(root), in_service=False, collection=collection)
    if resumable:
        return Work(resumable[-1], in_service=False)
    work = generations.new(root)
    generations.copy(live, work)
    _set_info(work, BASE, live.name)
    return Work(work, in_service=False)


def abandon(settings: Settings, work: Work) -> None:
    """Delete a generation whose ingest failed (not one in service)."""
    if not work.in_service:
        _discard(settings, [work.dir])


def finish(settings: Settings, work: Work) -> None:
    """Put the finished generation in service, then delete the generations no reader holds."""
    root = settings.index_dir
    _set_info(work.dir, COMPLETE, "1")
    was_flat = generations.flat(root)
    if not work.in_service:
        generations.publish(root, work.dir)
    if was_flat:  # its parts were copied into the generation just put in service
        for name in _FLAT_PARTS:
            path = root / name
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        for path in root.glob("registry.sqlite-*"):
            path.unlink()
    _discard(settings, [g for g in generations.all_of(root) if g != work.dir], only_unused=True)


def _unpublished(root: Path, live: Path) -> list[Path]:
    """Generations newer than the one in service: written by runs that did not finish."""
    return [g for g in generations.all_of(root) if g != live and (live == root or g.name > live.name)]


def _discard(settings: Settings, doomed: list[Path], only_unused: bool = False) -> None:
    """Delete generations (those a reader holds are kept, with only_unused), and on a Chroma
    server the collections that no remaining generation uses."""
    gone = []
    for generation in doomed:
        if only_unused and not generations.unused(generation):
            continue
        gone.append(info(generation, "collection") or settings.collection)
        generations.delete(generation)
    if settings.chroma_url:
        kept = {info(g, "collection") or settings.collection for g in generations.all_of(settings.index_dir)}
        for name in set(gone) - kept:
            _delete_collection(settings, name)


def _delete_collection(settings: Settings, name: str) -> None:
    from kb.index.store import chroma_client

    try:
        chroma_client(settings).delete_collection(name)
    except Exception as exc:  # chromadb raises NotFoundError or ValueError variants by version
        if "does not exist" not in str(exc) and "NotFound" not in type(exc).__name__:
            raise


def info(generation: Path, key: str) -> str:
    """A value of a generation's registry info ('' when it has none, or no registry yet)."""
    path = registry_path(generation)
    if not path.exists():
        return ""
    db = sqlite3.connect(path, timeout=30)
    try:
        row = db.execute("SELECT value FROM info WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # no info table: the build was killed as it began
        row = None
    finally:
        db.close()
    return row[0] if row else ""


def _set_info(generation: Path, key: str, value: str) -> None:
    db = sqlite3.connect(registry_path(generation), timeout=30)
    try:
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT OR REPLACE INTO info VALUES (?, ?)", (key, value))
    finally:
        db.close()

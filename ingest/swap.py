"""`kb ingest --rebuild`: a new index built beside the live one, then the two directories swapped
in one atomic rename, so that a reader sees either the old index or the new one, never none.

`ingest.pipeline` builds the new index; this module names its directory, swaps it in, carries
over the files that are not rebuilt (the app's secret, feedback), and cleans up what a failed or
killed rebuild left behind.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sqlite3
from pathlib import Path

from kb.commitments import store as commitments
from kb.config import Settings
from kb.errors import KBError


def rebuild_dir(index_dir: Path) -> Path:
    """Where a rebuild of this index is built: beside it (beside its target, if it is a symlink)."""
    index_dir = index_dir.resolve()
    return index_dir.with_name(index_dir.name + ".rebuild")


def discard_rebuild_dir(settings: Settings) -> None:
    """Delete what a rebuild left beside the index: the old index after the swap, or a half-built
    new one; files the app wrote into it meanwhile move to the live index. On a Chroma server its
    collection is deleted too."""
    old = rebuild_dir(settings.index_dir)
    shutil.rmtree(old.with_name(old.name + ".probe"), ignore_errors=True)  # a kill in check_exchange
    if not old.exists():
        return
    live = settings.index_dir.resolve()
    carry_over(old, live, link=False)
    name = collection_named(old)
    if settings.chroma_url and name and name != (collection_named(live) or settings.collection):
        from kb.store import chroma_client

        try:
            chroma_client(settings).delete_collection(name)
        except Exception as exc:  # chromadb raises NotFoundError or ValueError variants by version
            if "does not exist" not in str(exc) and "NotFound" not in type(exc).__name__:
                raise
    shutil.rmtree(old)


# Parts of an index, made by every build; everything else in the directory (the app's secret,
# feedback reports) is kept across a rebuild.
_INDEX_PARTS = (
    "chroma",
    "bm25",
    "registry.sqlite",
    "ingest.lock",
    commitments.COMMITMENTS_FILE,
    commitments.LINKS_FILE,
)


def carry_over(src: Path, dst: Path, link: bool) -> None:
    """Files of src that are not index parts and that dst lacks: hard-linked (so that appends
    through either name land in one file) or moved."""
    if not src.is_dir():
        return
    for entry in src.iterdir():
        target = dst / entry.name
        if entry.name.startswith(_INDEX_PARTS) or _temporary(entry.name) or target.exists():
            continue
        if not link:
            os.rename(entry, target)
        elif entry.is_dir():
            shutil.copytree(entry, target, copy_function=os.link)
        else:
            os.link(entry, target)


def _temporary(name: str) -> bool:
    """A file being written beside its final name (`.commitments.json.x1y2.tmp`), or left so by a kill."""
    return name.startswith(".") and name.endswith(".tmp")


def collection_named(index_dir: Path) -> str | None:
    """The Chroma collection an index's registry names, if it names one."""
    registry = index_dir / "registry.sqlite"
    if not registry.exists():
        return None
    db = sqlite3.connect(registry, timeout=30)
    try:
        row = db.execute("SELECT value FROM info WHERE key = 'collection'").fetchone()
    except sqlite3.OperationalError:  # no info table: the build was killed as it began
        row = None
    finally:
        db.close()
    return row[0] if row else None


def name_collection(index_dir: Path, name: str) -> None:
    """Write down the collection of an index built before collections had names in the registry."""
    registry = index_dir / "registry.sqlite"
    if registry.exists() and collection_named(index_dir) is None:
        with sqlite3.connect(registry, timeout=30) as db:
            db.execute("CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT OR IGNORE INTO info VALUES ('collection', ?)", (name,))
        db.close()


_RENAME_EXCHANGE = 2  # renameat2 flag (Linux); renamex_np's RENAME_SWAP (macOS) has the same value
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> None:
    """Swap two directories in one atomic step: a reader sees either the old or the new one, never none."""
    libc = ctypes.CDLL(None, use_errno=True)
    if hasattr(libc, "renameat2"):
        rc = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    elif hasattr(libc, "renamex_np"):
        rc = libc.renamex_np(os.fsencode(a), os.fsencode(b), _RENAME_EXCHANGE)
    else:
        raise OSError(errno.ENOSYS, "no system call to swap two directories")
    if rc != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def check_exchange(live: Path, new: Path) -> None:
    """Refuse a rebuild, before it starts, on a file system that cannot swap directories atomically."""
    probe = new.with_name(new.name + ".probe")
    probe.mkdir(exist_ok=True)
    try:
        exchange(new, probe)
    except OSError as exc:
        shutil.rmtree(new)
        raise KBError(
            f"cannot rebuild {live}/ in place: its file system cannot swap two directories "
            f"atomically ({exc.strerror}). Build a new index instead (`kb ingest --index NEW_DIR`) and point "
            "KB_INDEX_DIR at it once it is complete"
        ) from None
    finally:
        probe.rmdir()

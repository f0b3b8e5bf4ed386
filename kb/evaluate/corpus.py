"""The corpus a suite searches, and its index: prepared once, cached under `.kb-eval/`.

Several corpus directories (or a subset of one) are merged into one directory under
`.kb-eval/corpora/` with a merged sources.toml, rebuilt only when the content hash of the
inputs changes. Each (corpus, configuration) pair gets its own index directory under
`.kb-eval/index/`; since `kb ingest` is incremental, rerunning on an unchanged corpus does no
work, so that directory is the cache.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import shutil
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from ingest import manifest as manifest_mod
from ingest import pipeline
from kb.api import Library
from kb.config import Settings
from kb.errors import UsageError

DEFAULT_CACHE = Path(".kb-eval")
# Settings fields a configuration may change; the others say where things live, which the harness decides.
CONFIG_FIELDS = ("embed_model", "embed_backend", "embed_context", "embed_batch_size", "fusion")
_STAMP = ".content-sha256"


@dataclass(frozen=True)
class Corpus:
    """Source directories indexed together, with an optional manifest and subset of their files."""

    dirs: tuple[Path, ...]
    manifest: Path | None = None  # replaces the directories' own sources.toml files when given
    subset: tuple[str, ...] = ()  # globs relative to a corpus directory (fnmatch: * also matches /)

    @property
    def key(self) -> str:
        """A directory name for this corpus: readable, and unique to its directories, manifest and subset."""
        spec = json.dumps([[str(d) for d in self.dirs], str(self.manifest or ""), list(self.subset)])
        label = manifest_mod.slug("+".join(d.name for d in self.dirs))[:48] or "corpus"
        return f"{label}-{hashlib.sha256(spec.encode()).hexdigest()[:8]}"

    def describe(self) -> str:
        text = " + ".join(str(d) for d in self.dirs)
        if self.manifest:
            text += f" (manifest {self.manifest})"
        if self.subset:
            text += f" (subset {', '.join(self.subset)})"
        return text


@dataclass(frozen=True)
class Config:
    """A configuration to compare: a name and the Settings fields it changes."""

    name: str
    changes: tuple[tuple[str, object], ...] = ()

    def settings(self, base: Settings) -> Settings:
        return base.with_(**dict(self.changes))


DEFAULT_CONFIG = Config("default")


def parse_config(text: str) -> Config:
    """`NAME=KEY=VALUE[,KEY=VALUE...]` (e.g. `plain=embed_context=false`) as a Config."""
    name, _, rest = text.partition("=")
    if not name or not rest or not name.replace("-", "").replace("_", "").isalnum():
        raise UsageError(
            f"--config {text!r}: write NAME=KEY=VALUE[,KEY=VALUE...], e.g. plain=embed_context=false"
        )
    types = {f.name: type(getattr(Settings(), f.name)) for f in fields(Settings)}
    changes: list[tuple[str, object]] = []
    for item in rest.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in CONFIG_FIELDS:
            raise UsageError(
                f"--config {text!r}: {key!r} cannot be set; choose from {', '.join(CONFIG_FIELDS)}"
            )
        changes.append((key, _coerce(text, key, value.strip(), types[key])))
    return Config(name, tuple(changes))


def model_config(path: str) -> Config:
    """The configuration for `--embed-model PATH`, named after the model's directory."""
    name = manifest_mod.slug(Path(path).name) or "model"
    return Config(name, (("embed_model", path),))


def sources_for(corpus: Corpus, cache: Path) -> tuple[Path, Path | None]:
    """The sources directory and manifest to ingest for a corpus.

    One directory used whole is used in place. Otherwise its files (or the subset's) are copied
    into one directory under `cache/corpora/` with a merged sources.toml; the copy is redone
    only when the content hash of the files and manifests changes.
    """
    if len(corpus.dirs) == 1 and not corpus.subset:
        return corpus.dirs[0], corpus.manifest
    manifests = (
        [corpus.manifest]
        if corpus.manifest
        else [
            d / manifest_mod.MANIFEST_NAME for d in corpus.dirs if (d / manifest_mod.MANIFEST_NAME).is_file()
        ]
    )
    files = _selected(corpus, {m.resolve() for m in manifests})
    if not files:
        raise UsageError(f"no files in {corpus.describe()}")
    digest = hashlib.sha256()
    for rel, path in sorted(files.items()) + [(str(m), m) for m in manifests]:
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    target = cache / "corpora" / corpus.key
    if (target / _STAMP).is_file() and (target / _STAMP).read_text() == digest.hexdigest():
        return target, target / manifest_mod.MANIFEST_NAME
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, path in files.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, tmp / rel)
    (tmp / manifest_mod.MANIFEST_NAME).write_text(merged_manifest(manifests, set(files)), encoding="utf-8")
    (tmp / _STAMP).write_text(digest.hexdigest())
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target, target / manifest_mod.MANIFEST_NAME


def merged_manifest(paths: list[Path], files: set[str]) -> str:
    """One sources.toml made of several: their [[document]] and [[collection]] tables and exclude
    lists, concatenated. Each is validated first so that errors name its own lines; document
    entries whose file is not among `files` (left out by a subset) are dropped."""
    import tomlkit

    merged: dict[str, list] = {"exclude": [], "document": [], "collection": []}
    for path in paths:
        manifest_mod.load(path)  # raises ManifestError naming the file and line
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        merged["exclude"] += data.get("exclude", [])
        merged["document"] += [d for d in data.get("document", []) if not d.get("file") or d["file"] in files]
        merged["collection"] += data.get("collection", [])
    header = "# Generated by `kb eval` from " + ", ".join(str(p) for p in paths) + "; do not edit.\n"
    return header + tomlkit.dumps({k: v for k, v in merged.items() if v})


def index_for(
    corpus: Corpus, settings: Settings, cache: Path, progress: bool = False
) -> tuple[Library, pipeline.Summary]:
    """The index of a corpus under one configuration, brought up to date (incrementally).

    Evaluation indexes always use the embedded Chroma store in their own directory, never a
    Chroma server, so that they cannot mix with the working index.
    """
    sources, manifest = sources_for(corpus, cache)
    key = json.dumps({"model": settings.model_id, "embed_context": settings.embed_context}, sort_keys=True)
    name = manifest_mod.slug(Path(settings.model_id).name) + ("" if settings.embed_context else "-no-context")
    index_dir = cache / "index" / corpus.key / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    settings = settings.with_(sources_dir=sources, index_dir=index_dir, chroma_url="")
    print(f"Indexing {corpus.describe()} into {index_dir}/ …", file=sys.stderr)
    summary = pipeline.run(settings, manifest_path=manifest, progress=progress, wait=True)
    for o in summary.failed:
        print(f"  not indexed: {o.file or o.doc_id}: {o.reason}", file=sys.stderr)
    return Library(settings), summary


def _selected(corpus: Corpus, manifests: set[Path]) -> dict[str, Path]:
    """Files to copy, by path relative to their corpus directory."""
    files: dict[str, Path] = {}
    owner: dict[str, Path] = {}
    for d in corpus.dirs:
        for path in sorted(p for p in d.rglob("*") if p.is_file()):
            rel = path.relative_to(d).as_posix()
            if any(part.startswith(".") for part in rel.split("/")) or path.resolve() in manifests:
                continue
            if rel == manifest_mod.MANIFEST_NAME:
                continue
            if corpus.subset and not any(fnmatch.fnmatch(rel, g) for g in corpus.subset):
                continue
            if rel in files:
                raise UsageError(
                    f"{rel} is in both {owner[rel]} and {d}; corpus directories are merged, so rename one"
                )
            files[rel], owner[rel] = path, d
    return files


def _coerce(text: str, key: str, value: str, kind: type) -> object:
    if kind is bool:
        if value.lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
            raise UsageError(f"--config {text!r}: {key} must be true or false, got {value!r}")
        return value.lower() in {"true", "1", "yes", "on"}
    try:
        return kind(value)
    except ValueError:
        raise UsageError(f"--config {text!r}: {key} must be a {kind.__name__}, got {value!r}") from None

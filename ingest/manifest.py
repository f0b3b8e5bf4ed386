"""sources/sources.toml: what each document is, and which files in sources/ belong to it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.formats import supported
from kb.errors import ManifestError
from kb.text import language
from kb.types import DOC_TYPES, Document, date_to_int

MANIFEST_NAME = "sources.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_COUNTRY = re.compile(r"^([A-Z]{3}|G7|EU)$")
_DOC_KEYS = {
    "id",
    "title",
    "short_title",
    "issuer",
    "country",
    "date",
    "type",
    "url",
    "file",
    "sha256",
    "aliases",
    "language",
}
_COLLECTION_KEYS = {"glob", "pattern"} | (_DOC_KEYS - {"file", "sha256", "aliases"})


@dataclass(frozen=True)
class Collection:
    """A pattern rule: every file matching `glob` whose name matches `pattern` is a document,
    with metadata templated from the pattern's named groups (e.g. "{country}", "{year}")."""

    glob: str
    pattern: re.Pattern
    fields: dict[str, str]
    line: int


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest."""

    path: Path
    documents: list[Document] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # document id → line of its entry


@dataclass(frozen=True)
class Source:
    """A document to ingest: its metadata and its file (None when not fetched yet)."""

    document: Document
    path: Path | None
    problem: str = ""  # why it cannot be ingested (e.g. the listed file is missing)


def load(path: Path) -> Manifest:
    """Parse and validate the manifest; a missing file is an empty manifest.

    Raises ManifestError naming the line for malformed TOML, unknown keys, bad values or
    duplicate ids, before anything is written to the index.
    """
    if not path.exists():
        return Manifest(path=path)
    raw = path.read_text(encoding="utf-8-sig")
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: malformed TOML: {exc}") from None
    unknown = set(data) - {"document", "collection", "exclude"}
    if unknown:
        raise ManifestError(
            f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
            "expected [[document]], [[collection]] and exclude"
        )
    doc_lines = _header_lines(raw, "document")
    documents, lines = [], {}
    for i, entry in enumerate(data.get("document", [])):
        line = doc_lines[i] if i < len(doc_lines) else 0
        doc = _document(entry, path, line)
        if doc.id in lines:
            raise ManifestError(
                f"{path}, line {line}: duplicate id {doc.id!r} (first at line {lines[doc.id]})"
            )
        lines[doc.id] = line
        documents.append(doc)
    col_lines = _header_lines(raw, "collection")
    collections = [
        _collection(entry, path, col_lines[i] if i < len(col_lines) else 0)
        for i, entry in enumerate(data.get("collection", []))
    ]
    exclude = data.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise ManifestError(f"{path}: exclude must be a list of glob patterns")
    return Manifest(path, documents, collections, exclude, lines)


def discover(manifest: Manifest, sources_dir: Path) -> list[Source]:
    """Every document to ingest: manifest entries, pattern-rule files, then unlisted files.

    Entries without a file (not fetched yet) are left out; entries whose file is missing come
    back with a `problem`.
    """
    sources: list[Source] = []
    claimed: set[Path] = {manifest.path.resolve()}
    for doc in manifest.documents:
        if not doc.file:
            continue
        path = _inside(sources_dir, doc.file)
        if path is None:
            sources.append(Source(doc, None, f"file {doc.file!r} is outside the sources directory"))
            continue
        claimed.add(path.resolve())
        if not path.is_file():
            sources.append(Source(doc, None, f"listed in {MANIFEST_NAME} but the file {doc.file} is missing"))
        else:
            sources.append(Source(doc, path))
    known_ids = {d.id for d in manifest.documents}
    for col in manifest.collections:
        for path in sorted(sources_dir.glob(col.glob)):
            if path.resolve() in claimed or not path.is_file() or _excluded(manifest, sources_dir, path):
                continue
            m = col.pattern.search(path.relative_to(sources_dir).as_posix())
            if not m:
                continue
            claimed.add(path.resolve())
            doc = _from_collection(col, m.groupdict(), path.relative_to(sources_dir).as_posix())
            if doc.id in known_ids:
                sources.append(
                    Source(
                        doc,
                        None,
                        f"id {doc.id!r} made by the [[collection]] rule at line {col.line} is already used",
                    )
                )
                continue
            known_ids.add(doc.id)
            sources.append(Source(doc, path))
    for path in sorted(p for p in sources_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(sources_dir)
        if (
            path.resolve() in claimed
            or any(part.startswith(".") for part in rel.parts)
            or not supported(path)
            or _excluded(manifest, sources_dir, path)
        ):
            continue
        doc = unlisted_document(rel.as_posix(), known_ids)
        known_ids.add(doc.id)
        sources.append(Source(doc, path))
    return sources


def unlisted_document(rel_path: str, taken: set[str]) -> Document:
    """Metadata for a file with no manifest entry; the title is filled in from the file when read."""
    base = slug(Path(rel_path).with_suffix("").as_posix().replace("/", "-")) or "document"
    doc_id, n = base, 2
    while doc_id in taken:
        doc_id, n = f"{base}-{n}", n + 1
    stem = Path(rel_path).stem.replace("_", " ").replace("-", " ").strip()
    return Document(id=doc_id, title=stem, short_title=stem, type="other", file=rel_path, listed=False)


def with_title(doc: Document, title: str | None) -> Document:
    """An unlisted document renamed after the title found in its file."""
    if doc.listed or not title:
        return doc
    title = " ".join(title.split())[:200]
    return replace(doc, title=title, short_title=title if len(title) <= 80 else title[:77] + "…")


def slug(text: str) -> str:
    """A lower-case id made of letters, digits, dots, dashes and underscores."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9._-]+", "-", text.lower())).strip("-.")


def _document(entry: object, path: Path, line: int) -> Document:
    where = f"{path}, line {line}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: [[document]] must be a table")
    unknown = set(entry) - _DOC_KEYS
    if unknown:
        raise ManifestError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_DOC_KEYS))}"
        )
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ManifestError(f"{where}: aliases must be a list of strings")
    for key, value in entry.items():
        if key != "aliases" and not isinstance(value, str):
            raise ManifestError(f"{where}: {key} must be a string (quote it), got {value!r}")
    for key in ("id", "title"):
        if not entry.get(key, "").strip():
            raise ManifestError(f"{where}: {key} is required")
    values = {k: v.strip() for k, v in entry.items() if k != "aliases"}
    doc = Document(**values, aliases=tuple(a.strip() for a in aliases if a.strip()))
    return _checked(doc, f"{where} (id {doc.id!r})")


def _checked(doc: Document, where: str) -> Document:
    if not _ID.match(doc.id):
        raise ManifestError(f"{where}: id must be a slug (lower-case letters, digits, '.', '-', '_')")
    if doc.type not in DOC_TYPES:
        raise ManifestError(f"{where}: type {doc.type!r} is not one of {', '.join(DOC_TYPES)}")
    if doc.country and not _COUNTRY.match(doc.country):
        raise ManifestError(f"{where}: country {doc.country!r} must be an ISO 3166 alpha-3 code or G7")
    if doc.date and not date_to_int(doc.date):
        raise ManifestError(f"{where}: date {doc.date!r} is not an ISO date (YYYY-MM-DD, YYYY-MM or YYYY)")
    if doc.language and not language.is_code(doc.language):
        raise ManifestError(
            f"{where}: language {doc.language!r} is not an ISO 639-1 code; write two lower-case letters "
            'such as "it" or "de", or leave it out to have it detected'
        )
    return doc if doc.short_title else replace(doc, short_title=doc.title)


def _collection(entry: object, path: Path, line: int) -> Collection:
    where = f"{path}, line {line}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: [[collection]] must be a table")
    unknown = set(entry) - _COLLECTION_KEYS
    if unknown:
        raise ManifestError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_COLLECTION_KEYS))}"
        )
    for key in ("glob", "pattern", "id", "title"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ManifestError(f"{where}: {key} is required in a [[collection]] rule")
    try:
        pattern = re.compile(entry["pattern"])
    except re.error as exc:
        raise ManifestError(f"{where}: pattern is not a valid regular expression: {exc}") from None
    fields_ = {k: v for k, v in entry.items() if k not in ("glob", "pattern")}
    for key, template in fields_.items():
        names = set(re.findall(r"{(\w+)}", template))
        missing = names - set(pattern.groupindex)
        if missing:
            raise ManifestError(
                f"{where}: {key} uses {{{', '.join(sorted(missing))}}} but the pattern has no such group"
            )
    return Collection(entry["glob"], pattern, fields_, line)


def _from_collection(col: Collection, groups: dict[str, str], rel_path: str) -> Document:
    values = {k: v.format(**{g: x or "" for g, x in groups.items()}) for k, v in col.fields.items()}
    values["id"] = slug(values["id"])
    return _checked(Document(file=rel_path, **values), f"[[collection]] at line {col.line}, file {rel_path}")


def _header_lines(raw: str, table: str) -> list[int]:
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{table}[ \t]*\]\]", re.M)
    return [raw.count("\n", 0, m.start()) + 1 for m in header.finditer(raw)]


def _inside(root: Path, rel: str) -> Path | None:
    path = (root / rel).resolve()
    return path if path.is_relative_to(root.resolve()) else None


def _excluded(manifest: Manifest, root: Path, path: Path) -> bool:
    rel = path.relative_to(root)
    return any(rel.match(pattern) for pattern in manifest.exclude)

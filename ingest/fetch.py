"""`kb sources fetch`: download listed documents that have a url but no file yet."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import tomlkit

_EXTENSIONS = {
    "application/pdf": ".pdf",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/markdown": ".md",
    "text/plain": ".txt",
}


@dataclass(frozen=True)
class Fetched:
    doc_id: str
    ok: bool
    message: str


def fetch_missing(
    manifest_path: Path, sources_dir: Path, only: set[str] | None = None, timeout: float = 30.0
) -> list[Fetched]:
    """Download each listed document with a url and no file; record file and sha256 in the manifest.

    Failures (offline, HTTP errors, timeouts) are returned, never raised; the manifest is only
    rewritten for documents that were saved.
    """
    import httpx

    from ingest.manifest import load

    load(manifest_path)  # validate first: a malformed manifest is a usage error
    doc = tomlkit.parse(manifest_path.read_text(encoding="utf-8"))
    results: list[Fetched] = []
    changed = False
    for entry in doc.get("document", []):
        doc_id = str(entry.get("id", ""))
        if entry.get("file") or not entry.get("url") or (only and doc_id not in only):
            continue
        url = str(entry["url"])
        try:
            response = httpx.get(
                url,
                timeout=timeout,
                follow_redirects=True,
                headers={"User-Agent": "g7-smuggling-kb (+https://github.com/)"},
            )
            response.raise_for_status()
        except httpx.TimeoutException:
            results.append(Fetched(doc_id, False, f"{url}: no answer within {timeout:.0f} s"))
            continue
        except httpx.HTTPStatusError as exc:
            results.append(Fetched(doc_id, False, f"{url}: HTTP {exc.response.status_code}"))
            continue
        except httpx.HTTPError as exc:
            results.append(
                Fetched(
                    doc_id,
                    False,
                    f"{url}: cannot connect ({exc.__class__.__name__}: {exc}); are you offline?",
                )
            )
            continue
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        suffix = _EXTENSIONS.get(kind) or Path(httpx.URL(url).path).suffix or ".html"
        target = sources_dir / f"{doc_id}{suffix}"
        target.write_bytes(response.content)
        entry["file"] = target.relative_to(sources_dir).as_posix()
        entry["sha256"] = hashlib.sha256(response.content).hexdigest()
        changed = True
        results.append(Fetched(doc_id, True, f"saved {target} ({len(response.content) / 1024:.0f} KB)"))
    if changed:
        manifest_path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return results

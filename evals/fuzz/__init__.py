"""Fuzzing and stress runs over the document readers; not part of `make test` (see docs/reliability-readers-web.md).

- `python -m evals.fuzz --reader pdf --seconds 60`: atheris (libFuzzer) mutates real files for a
  fixed time and stops at the first input that makes `ingest.parse.parse` raise, break its
  contract (paragraphs, or a one-line error) or run longer than the per-input time limit.
- `python -m evals.fuzz.stress`: builds huge and deeply nested files and reads each as the ingest
  does (a spawned worker, the per-file time limit), reporting outcome, seconds and peak RSS.
"""

from __future__ import annotations

import io
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {"pdf": ".pdf", "html": ".html", "docx": ".docx", "markdown": ".md", "text": ".txt"}
# Word parts that a docx input may replace, selected by its first byte (0: the input is the whole file).
DOCX_PARTS = ("word/document.xml", "word/numbering.xml", "word/styles.xml")


def fixtures_build():
    """tests/fixtures_build.py, which builds the real files that seed the fuzzing."""
    sys.path.insert(0, str(ROOT / "tests"))
    import fixtures_build

    return fixtures_build


def seed_inputs(reader: str) -> list[bytes]:
    """The fuzzer's starting inputs for one reader: real files (docx: also their XML parts, tagged)."""
    fb = fixtures_build()
    with tempfile.TemporaryDirectory() as directory:
        files = [path.read_bytes() for path in fb.build_fuzz_seeds(Path(directory))[reader]]
    if reader != "docx":
        return files
    inputs = [b"\x00" + data for data in files]
    with zipfile.ZipFile(io.BytesIO(files[1])) as archive:  # the numbered document has all three parts
        inputs += [bytes([n]) + archive.read(part) for n, part in enumerate(DOCX_PARTS, start=1)]
    return inputs


def docx_template() -> bytes:
    """The Word document whose parts a tagged docx input replaces."""
    fb = fixtures_build()
    with tempfile.TemporaryDirectory() as directory:
        return fb.build_numbered_docx(Path(directory)).read_bytes()


def docx_file(data: bytes, template: bytes) -> bytes:
    """The .docx bytes for a fuzz input: the input itself, or the template with one part replaced."""
    if not data:
        return data
    tag, body = data[0] % (len(DOCX_PARTS) + 1), data[1:]
    if tag == 0:
        return body
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, body if item.filename == DOCX_PARTS[tag - 1] else source.read(item))
    return out.getvalue()


def broken_contract(parsed: object) -> str:
    """What is wrong with parse()'s result ("" when it is paragraphs, or only a one-line error)."""
    from ingest.parse import Parsed  # not at the top: the fuzz target instruments ingest first

    if not isinstance(parsed, Parsed):
        return f"parse() returned {type(parsed).__name__}"
    if parsed.error:
        if parsed.paragraphs:
            return "both paragraphs and an error"
        if "\n" in parsed.error or len(parsed.error) > 400:
            return f"error message not one short line: {parsed.error[:200]!r}"
        return ""
    if not any(p.text for p in parsed.paragraphs):
        return "neither paragraphs nor an error"
    return ""

"""Hostile files through `ingest.parse.parse`, the function the ingest runs on every file.

The only allowed outcomes are paragraphs, or a one-line error for that file: never an exception
out of parse(), never a hang. Hypothesis feeds each reader random bytes, mutated real files
(tests/fixtures_build.py), deep nesting and huge lines. The examples per test are few so that
the whole file runs in well under a minute; `python -m evals.fuzz` fuzzes for longer with atheris.
tests/test_readers.py already covers zero-byte, binary, truncated, encrypted and 200-page files.
"""

from __future__ import annotations

import functools
import io
import tempfile
import zipfile
from pathlib import Path

import fixtures_build as fb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.parse import Parsed, parse

READERS = list(fb.FUZZ_SUFFIXES)
FAST = settings(
    max_examples=40, deadline=10_000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
# Each test stops with a failure rather than hanging the suite.
pytestmark = pytest.mark.timeout(120)


def outcome(data: bytes, suffix: str) -> Parsed:
    """parse() of a file holding `data`, checked: paragraphs with text, or only a one-line error."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"fuzzed{suffix}"
        path.write_bytes(data)
        parsed = parse(str(path))
    assert isinstance(parsed, Parsed)
    if parsed.error:
        assert parsed.paragraphs == []
        assert "\n" not in parsed.error and len(parsed.error) <= 400, parsed.error
        assert "Traceback" not in parsed.error
    else:
        assert parsed.paragraphs, "neither paragraphs nor an error"
        assert all(p.text == p.text.strip() for p in parsed.paragraphs)
        assert any(p.text for p in parsed.paragraphs)
    return parsed


@functools.cache
def seeds() -> dict[str, list[bytes]]:
    """The bytes of the real seed files, by reader (built once; not a fixture, so that Hypothesis
    does not print them with every failing example)."""
    with tempfile.TemporaryDirectory() as directory:
        paths = fb.build_fuzz_seeds(Path(directory))
        return {reader: [path.read_bytes() for path in files] for reader, files in paths.items()}


# Bytes that mean something to one of the formats: a mutation that inserts them reaches deeper
# than a random byte would.
TOKENS = [b"<", b">", b"</p>", b"<div><div>", b"<!--", b"&#x0;", b"&amp", b"\x00", b"\xff\xfe", b"\r",
          b"obj", b"endobj", b"stream\n", b"endstream", b"/Length 999999999", b" R ", b"<<", b">>", b"xref",
          b"**", b"[", b"](", b"![", b"\n\n", b"# ", b"> ", b"1. ", b"- ", b"`", b"\t", b"\x0c", b"---\n"]  # fmt: skip
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete", "truncate", "repeat"]),
        st.floats(0, 1),
        st.one_of(st.binary(min_size=1, max_size=12), st.sampled_from(TOKENS)),
    ),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    """`data` with the edits applied in turn, each at a relative position."""
    out = bytearray(data)
    for kind, where, chunk in edits:
        at = min(int(where * len(out)), len(out))
        if kind == "replace":
            out[at : at + len(chunk)] = chunk
        elif kind == "insert":
            out[at:at] = chunk
        elif kind == "delete":
            del out[at : at + 8 * len(chunk)]
        elif kind == "truncate":
            del out[at:]
        else:  # repeat a slice many times: long runs of one construct
            out[at:at] = out[at : at + 8 * len(chunk)] * 64
    return bytes(out)


# --- random bytes --------------------------------------------------------------------------------

MAGIC = {"pdf": b"%PDF-1.7\n", "html": b"<!DOCTYPE html><html><body>", "docx": b"PK\x03\x04",
         "markdown": b"# ", "text": b""}  # fmt: skip


@pytest.mark.parametrize("reader", READERS)
@FAST
@given(data=st.binary(max_size=4096), magic=st.booleans())
def test_random_bytes(reader, data, magic):
    outcome((MAGIC[reader] if magic else b"") + data, fb.FUZZ_SUFFIXES[reader])


# --- mutated real files --------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
@FAST
@given(choice=st.integers(0, 1_000), edits=EDITS)
def test_mutated_real_files(reader, choice, edits):
    files = seeds()[reader]
    outcome(mutate(files[choice % len(files)], edits), fb.FUZZ_SUFFIXES[reader])


def test_a_pdf_whose_page_pdfium_cannot_load_fails_clearly():
    """Found by the test above: pypdf reads the file, PDFium cannot load its page to look for a scan."""
    files = seeds()["pdf"]
    parsed = outcome(mutate(files[14 % len(files)], [("replace", 0.625, b"\x01")]), ".pdf")
    assert parsed.error.startswith("no text found: no text layer, and no scanned image to read by OCR")


def test_unmutated_seeds_read_or_fail_clearly():
    """The seeds themselves: the valid ones give paragraphs, so mutations start from real structure."""
    for reader, files in seeds().items():
        results = [outcome(data, fb.FUZZ_SUFFIXES[reader]) for data in files]
        assert sum(not parsed.error for parsed in results) >= 2, reader


@FAST
@given(choice=st.integers(0, 1_000), part=st.sampled_from(["word/document.xml", "word/numbering.xml",
                                                            "word/styles.xml", "docProps/core.xml"]),
       edits=EDITS)  # fmt: skip
def test_docx_with_a_mutated_xml_part(choice, part, edits):
    """A valid zip archive whose XML part is damaged: reaches python-docx and the reader's own XML walk."""
    original = seeds()["docx"][choice % 2]  # the two real Word documents
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, mutate(data, edits) if item.filename == part else data)
    outcome(buffer.getvalue(), ".docx")


# --- deep nesting and huge lines ------------------------------------------------------------------

HTML_TAGS = ["div", "p", "span", "b", "a", "li", "ul", "table", "td", "blockquote", "section", "h2", "br"]


@FAST
@given(tags=st.lists(st.sampled_from(HTML_TAGS), min_size=1, max_size=6), depth=st.integers(1, 20_000),
       closed=st.booleans())  # fmt: skip
@example(tags=["div"], depth=100_000, closed=False)
@example(tags=["section", "a"], depth=20_000, closed=False)
def test_deeply_nested_html(tags, depth, closed):
    """Tags nested up to 100,000 deep, closed or not: paragraphs, or the "nested too deeply" error."""
    opening = "".join(f"<{tags[i % len(tags)]}>" for i in range(depth))
    closing = "".join(f"</{tags[i % len(tags)]}>" for i in reversed(range(depth))) if closed else ""
    page = f"<html><body><p>Test fixture, before.</p>{opening}Deep text.{closing}<p>After.</p></body></html>"
    parsed = outcome(page.encode(), ".html")
    if not parsed.error:
        assert parsed.paragraphs[0].text == "Test fixture, before."


MARKDOWN_NESTING = ["> ", "- ", "1. ", "* ", "  - ", "[", "![", "**", "_", "`", "<div>", "(", "\\"]


@FAST
@given(units=st.lists(st.sampled_from(MARKDOWN_NESTING), min_size=1, max_size=4), depth=st.integers(1, 20_000),
       suffix=st.sampled_from([".md", ".txt"]))  # fmt: skip
@example(units=["> "], depth=50_000, suffix=".md")
@example(units=["- "], depth=20_000, suffix=".md")
@example(units=["[", "!["], depth=20_000, suffix=".md")
@example(units=["**"], depth=20_000, suffix=".txt")
def test_markdown_with_pathological_nesting(units, depth, suffix):
    """Quotes in quotes, lists in lists, unclosed links and emphasis, many thousands deep."""
    prefix = "".join(units[i % len(units)] for i in range(depth))
    text = f"# Test fixture\n\nBefore the nesting.\n\n{prefix}Deep text.\n\n**Bold heading**\n\nAfter.\n"
    outcome(text.encode(), suffix)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
def test_a_huge_single_line(tmp_path, suffix):
    """A 20 MB file without a line break reads in linear time as one (very long) paragraph."""
    sentence = b"Smuggling networks exploit people who flee conflict and poverty. "
    parsed = outcome(sentence * (20_000_000 // len(sentence)), suffix)
    assert not parsed.error, parsed.error
    assert len(parsed.paragraphs) == 1 and parsed.paragraphs[0].text.startswith("Smuggling networks")


# Up to 200,000 characters here; longer runs were fuzzed outside CI. markdown-it-py needs about
# 16 µs per character for a run of "[" (2 MB take 33 s): the ingest's per-file time limit bounds that.
@FAST
@given(length=st.integers(1, 200_000), char=st.sampled_from("a .-*#<>[\t\u00a0é\u200b"),
       suffix=st.sampled_from(list(fb.FUZZ_SUFFIXES.values())))  # fmt: skip
def test_a_long_run_of_one_character(length, char, suffix):
    outcome((char * length).encode(), suffix)


# --- regressions: what the fuzzing found -------------------------------------------------------


def test_a_deeply_nested_page_is_refused_and_a_deep_one_still_reads():
    # 20,000 sections, each with a link left open: every link's text was the rest of the page, and
    # reading it for each link took minutes before the walker gave up on the depth anyway.
    page = "<p>Test fixture, before.</p>" + "<section><a>" * 10_000 + "Deep text."
    parsed = outcome(page.encode(), ".html")
    assert parsed.error == "nested too deeply to read (more than 400 levels of tags)"
    ordinary = "<p>Test fixture, before.</p>" + "<div>" * 390 + "Deep text." + "</div>" * 390
    assert [p.text for p in outcome(ordinary.encode(), ".html").paragraphs] == [
        "Test fixture, before.",
        "Deep text.",
    ]


def test_a_docx_with_a_mangled_xml_part_gets_a_short_error():
    # lxml's message quoted the mangled namespace url in full: a 300 kB "one-line" error.
    original = seeds()["docx"][0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = mutate(data[: len(data) // 2], [("repeat", 0.5, b"\x00")])
            target.writestr(item, data)
    parsed = outcome(buffer.getvalue(), ".docx")
    assert parsed.error.startswith("corrupt DOCX: ") and len(parsed.error) <= len("corrupt DOCX: ") + 120

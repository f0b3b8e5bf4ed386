"""Briefings: collected passages exported as a Word document or Markdown, with a reference list.

Each passage appears as a quotation followed by its citation (and the writer's note, if any);
the references at the end give each cited document's full title, issuer, date and url.
Library code: the app's Briefing tab, its `export_briefing` API and scripts all call `export`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from kb.answer.render import human_date
from kb.errors import UsageError
from kb.index.store import Index, cite
from kb.types import Document, Passage

FORMATS = ("docx", "md")
SOURCE_LINE = "Quoted from the G7 migrant smuggling knowledge base"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not allowed in Word's XML
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&#|])")


@dataclass(frozen=True)
class Entry:
    """One passage of a briefing, with its citation and the writer's note."""

    passage: Passage
    document: Document
    citation: str
    note: str = ""


def collect(index: Index, passage_ids: list[str], notes: dict[str, str] | None = None) -> list[Entry]:
    """The briefing entries for these passage ids, in the given order; unknown ids raise UsageError."""
    if not passage_ids:
        raise UsageError("the briefing is empty: add passages to it first")
    found = index.get(list(dict.fromkeys(passage_ids)))
    missing = [pid for pid in passage_ids if pid not in found]
    if missing:
        raise UsageError(
            f"no passage with id {', '.join(map(repr, missing))} in the index (it may have been re-ingested); "
            "remove it from the briefing and add it again from a new search"
        )
    notes = notes or {}
    return [
        Entry(*found[pid], cite(*found[pid]), (notes.get(pid) or "").strip())
        for pid in dict.fromkeys(passage_ids)
    ]


def references(entries: list[Entry]) -> list[Document]:
    """The cited documents, each once, in order of first citation."""
    return list({e.document.id: e.document for e in entries}.values())


def reference(d: Document) -> str:
    """`<short title>: <full title>. <issuer>, <date>. <url>` (parts that are unknown are left out)."""
    short, full = d.cite_title.strip(), d.title.strip().rstrip(".")
    if _plain(full) in _plain(short) or _plain(short) in _plain(full):  # one says all the other does
        head = f"{max(short, full, key=len)}."
    else:
        head = f"{short}: {full}."
    issued = ", ".join(x for x in (d.issuer, human_date(d.date)) if x)
    return " ".join(x for x in (head, f"{issued}." if issued else "", d.url) if x)


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def to_markdown(entries: list[Entry], title: str = "Briefing", date: str | None = None) -> str:
    """The briefing as Markdown; document text is escaped so that it stays literal text."""
    date = date or time.strftime("%Y-%m-%d")
    lines = [f"# {md_escape(title)}", "", f"_{SOURCE_LINE}, {date}._", ""]
    for e in entries:
        if e.passage.cells:  # a table's row: a real table, its caption above
            lines += [f"_{md_escape(e.passage.caption)}_", "", *_md_table(e.passage.cells), ""]
            lines += [f"— {md_escape(e.citation)}", ""]
        else:
            lines += [f"> {md_escape(e.passage.text)}", "", f"— {md_escape(e.citation)}", ""]
        if e.note:
            lines += [f"**Note:** {md_escape(e.note)}", ""]
    lines += ["## References", ""]
    lines += [f"{i}. {md_escape(reference(d))}" for i, d in enumerate(references(entries), start=1)]
    return "\n".join(lines) + "\n"


def write_docx(entries: list[Entry], path: Path, title: str = "Briefing", date: str | None = None) -> Path:
    """Write the briefing as a Word document (quotation, citation, note; references at the end)."""
    from docx import Document as WordDocument
    from docx.shared import Pt

    date = date or time.strftime("%Y-%m-%d")
    doc = WordDocument()
    doc.core_properties.title = _word(title)
    doc.core_properties.author = ""  # python-docx's template names itself otherwise
    doc.core_properties.last_modified_by = ""
    doc.core_properties.comments = ""
    doc.add_heading(_word(title), level=0)
    doc.add_paragraph(f"{SOURCE_LINE}, {date}.").runs[0].italic = True
    for e in entries:
        if e.passage.cells:  # a table's row: a real table (its headings over its values), captioned
            doc.add_paragraph(_word(e.passage.caption), style="Caption")
            table = doc.add_table(rows=2, cols=len(e.passage.cells))
            table.style = "Table Grid"
            for i, (heading, value) in enumerate(e.passage.cells):
                table.cell(0, i).text = _word(heading)
                table.cell(1, i).text = _word(value)
                for run in table.cell(0, i).paragraphs[0].runs:
                    run.bold = True
        else:
            doc.add_paragraph(f"“{_word(e.passage.text)}”", style="Quote")
        last = doc.add_paragraph()
        last.add_run(f"— {_word(e.citation)}").italic = True
        if e.note:
            last = doc.add_paragraph()
            last.add_run("Note: ").bold = True
            last.add_run(_word(e.note))
        last.paragraph_format.space_after = Pt(14)
    doc.add_heading("References", level=1)
    for d in references(entries):
        doc.add_paragraph(_word(reference(d)), style="List Number")
    doc.save(str(path))
    return path


def export(
    index: Index,
    passage_ids: list[str],
    fmt: str = "docx",
    out_dir: Path = Path("."),
    notes: dict[str, str] | None = None,
    title: str = "Briefing",
) -> Path:
    """Write the briefing for these passages into out_dir, named after its title and the time
    (`platforms-briefing-20261204-0512.docx`); returns the path."""
    fmt = fmt.lower().lstrip(".")
    fmt = "md" if fmt in ("markdown", "md") else fmt
    if fmt not in FORMATS:
        raise UsageError(f"unknown briefing format {fmt!r}; choose docx or md")
    entries = collect(index, passage_ids, notes)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{file_stem(title)}-{time.strftime('%Y%m%d-%H%M%S')}.{fmt}"
    title = title.strip() or "Briefing"
    if fmt == "md":
        path.write_text(to_markdown(entries, title), encoding="utf-8")
        return path
    return write_docx(entries, path, title)


def _md_table(cells: tuple[tuple[str, str], ...]) -> list[str]:
    """A table row as a Markdown table: its column headings, then its values."""

    def cell(text: str) -> str:
        return md_escape(text) or " "

    return [
        "| " + " | ".join(cell(h) for h, _ in cells) + " |",
        "|" + "---|" * len(cells),
        "| " + " | ".join(cell(v) for _, v in cells) + " |",
    ]


def md_escape(text: str) -> str:
    """Backslash-escape the characters that make Markdown markup (links, HTML, emphasis, headings)."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def _word(text: str) -> str:
    return _CONTROL.sub("", text)


def file_stem(title: str) -> str:
    """A file name made from a briefing's title: its words in lower case joined by hyphens (letters
    of any script kept), at most 60 characters; "briefing" when nothing is left."""
    words = re.findall(r"\w+", title.lower())
    return "-".join(words)[:60].strip("-") or "briefing"

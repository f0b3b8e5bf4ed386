"""Read HTML pages: the main content's headings and paragraphs, without menus, banners and footers.

BeautifulSoup with explicit rules rather than trafilatura: trafilatura rewrites and sometimes
drops short paragraphs and headings, while a citation needs each paragraph's exact text. The
rules:

- the page's own landmarks go: scripts and styles, <nav>, <aside>, <footer>, the page <header>
  (an <article>'s header stays), ARIA roles for navigation, banners and the like, hidden
  elements, and elements whose class or id says cookie, consent, breadcrumb, share, menu, skip...;
- the content root is <main> (or role="main"), else the only <article>, else <body>;
- a block made mostly of links ("Summits | Meetings | Publications | Home") is a menu, and the
  usual page-footer sentences ("All contents copyright ...", "This page was last updated ...")
  are dropped;
- h1-h6 become headings; p, li, blockquote, td, div... text becomes paragraphs; inside a block a
  line (after <br>) that starts with a paragraph number starts a new paragraph, and two <br> in a
  row end one; a short paragraph that is entirely bold is a heading one level below the last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import (
    BeautifulSoup,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Tag,
)

from ingest.blocks import Block, Extracted, ReadError
from ingest.decoding import decode_html, parse_html
from ingest.lines import collapse, ends_with_punctuation, starts_paragraph

_DROP_TAGS = ["script", "style", "noscript", "template", "svg", "iframe", "nav", "aside", "footer", "button",
              "select", "input", "textarea", "label", "dialog", "canvas", "object", "embed", "map", "head"]  # fmt: skip
_DROP_ROLES = {
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
    "menu",
}
_JUNK_NAME = re.compile(
    r"cookie|consent|gdpr|breadcrumb|(?:^|[-_ ])(?:share|sharing|social|skip|skiplink|nav|navbar|navigation|"
    r"menu|sidebar|advert|ads|newsletter|subscribe|popup|modal|related|promo|toolbar|masthead)(?:$|[-_ ])",
    re.IGNORECASE,
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# Sentences that open a page footer or banner paragraph ("All contents copyright © 2025 ...").
_BOILERPLATE = re.compile(
    r"(?:©|copyright\b|all contents copyright|all rights reserved|this page was last (?:updated|modified)"
    r"|last (?:updated|modified):|please send comments to|this information system is provided by"
    r"|skip to (?:main )?content|we use cookies)",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"©|all rights reserved", re.IGNORECASE)
_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "form", "header", "hr", "html", "li", "main", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BOLD_TAGS = {"b", "strong"}
_BOLD_HEADING_MAX_CHARS = 120
# Deeper pages are refused before any work: the walker recurses once per level and would exhaust
# Python's stack a little deeper anyway, after minutes on a page built to be deep (a link left
# open in each of 20,000 nested sections made every link's text the rest of the page).
_MAX_DEPTH = 400


@dataclass
class _Run:
    """Inline text gathered for the block being built: pieces of (text, in a link, in bold)."""

    pieces: list[tuple[str, bool, bool]] = field(default_factory=list)

    def add(self, text: str, link: bool, bold: bool) -> None:
        self.pieces.append((text, link, bold))


def read_html(path: Path) -> Extracted:
    """The headings and paragraphs of a page's main content; the title is <title>, else the first <h1>.

    Raises ReadError for an empty or binary file.
    """
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    soup = parse_html(decode_html(path.read_bytes()))
    if _deeper_than(soup, _MAX_DEPTH):
        raise ReadError(f"nested too deeply to read (more than {_MAX_DEPTH} levels of tags)")
    title = _title(soup)
    meta = _meta(soup)
    root = _content_root(soup)
    _drop_junk(root)
    blocks = [block for block in _Walker().blocks(root) if not _is_boilerplate(block)]
    if title is None:
        title = next((block.text for block in blocks if block.heading), None)
    return Extracted(blocks=blocks, title=title, meta=meta)


def _deeper_than(soup: BeautifulSoup, limit: int) -> bool:
    """Whether some element is nested more than `limit` levels deep (one pass, no recursion)."""
    depths = {id(soup): 0}
    for node in soup.descendants:
        if isinstance(node, Tag):
            depth = depths[id(node.parent)] + 1
            if depth > limit:
                return True
            depths[id(node)] = depth
    return False


def _title(soup: BeautifulSoup) -> str | None:
    if soup.title is not None:
        title = collapse(soup.title.get_text())
        if title:
            return title
    heading = soup.find("h1")
    if heading is None:
        return None
    return collapse(heading.get_text(" ")) or None


def _meta(soup: BeautifulSoup) -> dict[str, str]:
    meta: dict[str, str] = {}
    for name in ("author", "description", "date", "dcterms.date", "article:published_time"):
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if tag is not None and tag.get("content"):
            meta[name.split(":")[-1].split(".")[-1]] = collapse(str(tag["content"]))
    return meta


def _content_root(soup: BeautifulSoup) -> Tag:
    """<main> or role="main" (the one with most text), else the only <article>, else <body>."""
    mains = soup.find_all("main") or soup.find_all(attrs={"role": "main"})
    if mains:
        return max(mains, key=lambda tag: len(tag.get_text()))
    articles = soup.find_all("article")
    if len(articles) == 1:
        return articles[0]
    return soup.body or soup


def _drop_junk(root: Tag) -> None:
    """Remove navigation, banners, hidden elements and the like from the content root, in place."""
    for tag in root.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in root.find_all("header"):
        if tag.find_parent(["article", "main"]) is None and root.name not in ("article", "main"):
            tag.decompose()
    for tag in list(root.find_all(True)):
        # Removed with an ancestor. Not `tag.decomposed`: on a live tag bs4 answers it by searching
        # the whole subtree for a <_decomposed> tag, which made deeply nested pages take hours.
        if tag.attrs is None:
            continue
        if _is_junk(tag):
            tag.decompose()


def _is_junk(tag: Tag) -> bool:
    if tag.name in ("main", "article", "body", "html"):
        return False
    role = str(tag.get("role", "")).lower()
    if role in _DROP_ROLES or tag.get("aria-hidden") == "true" or tag.has_attr("hidden"):
        return True
    if _HIDDEN_STYLE.search(str(tag.get("style", ""))):
        return True
    if tag.name == "a" and collapse(tag.get_text()).lower().startswith("skip to"):
        return True
    names = " ".join([*tag.get("class", []), str(tag.get("id", ""))])
    # A wrapper whose name sounds like junk but that holds the page's headline is not junk.
    return bool(names.strip() and _JUNK_NAME.search(names)) and tag.find(["h1", "main", "article"]) is None


def _is_boilerplate(block: Block) -> bool:
    """A page-footer paragraph: one that opens with a footer phrase, or a short copyright line."""
    if block.heading:
        return False
    return bool(_BOILERPLATE.match(block.text)) or (
        len(block.text) < 200 and bool(_COPYRIGHT.search(block.text))
    )


class _Walker:
    """Walks the DOM in document order and cuts its text into heading and paragraph blocks."""

    def __init__(self) -> None:
        self.run = _Run()
        self.out: list[Block] = []
        self.last_level = 0
        self.tables = 0  # data tables read as rows so far

    def blocks(self, root: Tag) -> list[Block]:
        self._visit(root, link=False, bold=False)
        self._flush()
        return self.out

    def _visit(self, node: Tag, link: bool, bold: bool) -> None:
        for child in node.children:
            if isinstance(child, (Comment, Doctype, Declaration, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                self.run.add(str(child), link, bold)
            elif isinstance(child, Tag):
                self._visit_tag(child, link, bold)

    def _visit_tag(self, tag: Tag, link: bool, bold: bool) -> None:
        name = tag.name
        if name in _HEADINGS:
            self._flush()
            text = collapse(tag.get_text(" "))
            if text:
                self.out.append(Block(text, heading=True, level=_HEADINGS[name]))
                self.last_level = _HEADINGS[name]
        elif name == "br":
            if self.run.pieces and self.run.pieces[-1][0] == "\n":
                self._flush()  # two <br> in a row end a paragraph
            else:
                self.run.add("\n", link, bold)
        elif name == "table" and self._table(tag):
            return
        elif name in _BLOCK_TAGS:
            self._flush()
            self._visit(tag, link, bold)
            self._flush()
        elif name == "img":
            return
        else:
            self._visit(tag, link or name == "a", bold or name in _BOLD_TAGS)

    def _table(self, tag: Tag) -> bool:
        """A data table becomes one block per row (ingest/table_rows.py); a layout table is walked
        like any other block (False)."""
        from ingest import table_rows
        from ingest.tables.html import table_of_element

        table = table_of_element(tag)
        if not table_rows.is_data_table(table):
            return False
        self._flush()
        self.tables += 1
        self.out.extend(table_rows.row_blocks(table, self.tables))
        return True

    def _flush(self) -> None:
        pieces, self.run = self.run.pieces, _Run()
        for line_pieces in _paragraphs(pieces):
            text = collapse("".join(text for text, _, _ in line_pieces))
            if not text or _is_menu(line_pieces):
                continue
            if _is_bold_heading(line_pieces, text):
                level = min(self.last_level + 1, 6)
                self.out.append(Block(text, heading=True, level=level))
            else:
                self.out.append(Block(text))


def _paragraphs(pieces: list[tuple[str, bool, bool]]) -> Iterator[list[tuple[str, bool, bool]]]:
    """Split a block's pieces into paragraphs at <br> line breaks followed by a paragraph number."""
    current: list[tuple[str, bool, bool]] = []
    at_line_start = False
    for piece in pieces:
        if piece[0] == "\n":
            at_line_start = True
            current.append((" ", piece[1], piece[2]))
            continue
        if at_line_start and piece[0].strip():
            at_line_start = False
            if starts_paragraph(piece[0].lstrip()) and current:
                yield current
                current = []
        current.append(piece)
    if current:
        yield current


def _is_menu(pieces: list[tuple[str, bool, bool]]) -> bool:
    """Whether a paragraph is a row of links: two or more links, and almost no letters outside them."""
    linked = sum(sum(char.isalpha() for char in text) for text, link, _ in pieces if link)
    unlinked = sum(sum(char.isalpha() for char in text) for text, link, _ in pieces if not link)
    links = sum(
        1 for index, (_, link, _) in enumerate(pieces) if link and (index == 0 or not pieces[index - 1][1])
    )
    return links >= 2 and unlinked <= 0.2 * (linked + unlinked)


def _is_bold_heading(pieces: list[tuple[str, bool, bool]], text: str) -> bool:
    """A short paragraph, all in bold, not ending like a sentence: an old page's heading."""
    if len(text) > _BOLD_HEADING_MAX_CHARS or ends_with_punctuation(text):
        return False
    return all(bold for piece, _, bold in pieces if piece.strip())

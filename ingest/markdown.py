"""Read Markdown files with markdown-it-py: each block's text is what the rendered page shows.

Headings are ATX (#) and setext headings, and also a paragraph that is a single line entirely in
bold ("**COMMITMENTS**"), one level below the last heading. Inline formatting goes (`**x**` and
`*x*` give x, `[text](url)` gives text, inline code its text, inline HTML tags and comments
nothing); HTML comment blocks are dropped. List items are separate paragraphs; an ordered item
keeps its number ("3. ..."), as the rendered list shows it. YAML front matter gives the title.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingest import table_rows
from ingest.blocks import Block, Extracted, ReadError
from ingest.decoding import decode, parse_html
from ingest.lines import collapse, ends_with_punctuation
from ingest.tables.model import Cell, Table

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_COMMENT_ONLY = re.compile(r"\s*(?:<!--.*?-->\s*)+", re.DOTALL)
_BOLD_HEADING_MAX_CHARS = 120
_TEXT_TOKENS = {"text", "text_special", "code_inline"}
_BREAK_TOKENS = {"softbreak", "hardbreak"}


def read_markdown(path: Path) -> Extracted:
    """The headings and paragraphs of a Markdown file; the title is front matter's, else the first heading.

    Raises ReadError for an empty or binary file.
    """
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    meta, source = _front_matter(decode(path.read_bytes()))
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    blocks = list(_blocks(parser.parse(source)))
    title = meta.pop("title", None) or next((block.text for block in blocks if block.heading), None)
    return Extracted(blocks=blocks, title=title, meta=meta)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML front matter's string fields, and the text without it (unchanged when there is none)."""
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        return {}, text
    import yaml

    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(data, dict):
        return {}, text
    fields = {
        str(key): collapse(str(value))
        for key, value in data.items()
        if isinstance(value, (str, int, float, datetime.date))
    }
    return fields, text.replace("\r\n", "\n")[match.end() :]


def _blocks(tokens: list[Token]) -> Iterator[Block]:
    """Heading and paragraph blocks from markdown-it's token stream; a data table's rows as blocks
    of their own (ingest/table_rows.py), its caption the paragraph just before it ("Table 2: …")."""
    last_level = 0
    pending_number = ""  # the number of the ordered list item whose first paragraph comes next
    list_depth = 0
    tables = 0
    table_end = -1  # the index of the last token of the table just read as rows
    last_text = ""
    for index, token in enumerate(tokens):
        if index <= table_end:
            continue
        if token.type == "table_open":
            table, end = _table(tokens, index, last_text)
            if table_rows.is_data_table(table):
                tables += 1
                yield from table_rows.row_blocks(table, tables)
                table_end = end
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif token.type == "list_item_open":
            pending_number = f"{token.info}{token.markup}" if token.info else ""
        elif token.type == "heading_open":
            text = _inline_text(tokens[index + 1])
            if text:
                last_level = int(token.tag[1])
                yield Block(text, heading=True, level=last_level)
        elif token.type == "inline" and tokens[index - 1].type in ("paragraph_open", "th_open", "td_open"):
            text = _inline_text(token)
            if not text:
                continue
            if list_depth == 0 and _is_bold_line(token, text):
                yield Block(text, heading=True, level=min(last_level + 1, 6))
                continue
            if pending_number:
                text, pending_number = f"{pending_number} {text}", ""
            last_text = text
            yield Block(text)
        elif token.type in ("fence", "code_block", "html_block") and (text := _block_text(token)):
            yield Block(text)


def _table(tokens: list[Token], start: int, before: str) -> tuple[Table, int]:
    """The table whose `table_open` token is at `start` (a GFM pipe table: a heading row, then
    rows), and the index of its `table_close`; its caption is `before` when that reads as one."""
    cells: list[Cell] = []
    row, col, index = -1, 0, start
    while index < len(tokens) and tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "tr_open":
            row, col = row + 1, 0
        elif token.type in ("th_open", "td_open"):
            text = _inline_text(tokens[index + 1]) if tokens[index + 1].type == "inline" else ""
            cells.append(Cell(row, col, text=text, header=token.type == "th_open"))
            col += 1
        index += 1
    caption = before if table_rows.is_caption(before) else ""
    return Table(0, None, caption, cells), index


def _inline_text(token: Token) -> str:
    """The visible text of an inline token: text, entities and code kept, markup and HTML tags dropped."""
    parts: list[str] = []
    for child in token.children or []:
        # An image token holds its alt text as children; a rendered page shows the picture instead.
        if child.type in _TEXT_TOKENS:
            parts.append(child.content)
        elif child.type in _BREAK_TOKENS:
            parts.append(" ")
    return collapse("".join(parts))


def _is_bold_line(token: Token, text: str) -> bool:
    """A one-line paragraph entirely in bold, short, not ending like a sentence."""
    children = [child for child in token.children or [] if child.type != "text" or child.content.strip()]
    if len(children) < 3 or children[0].type != "strong_open" or children[-1].type != "strong_close":
        return False
    if any(child.type in _BREAK_TOKENS for child in children):
        return False
    # "**a** and **b**" starts and ends in bold but is not all bold.
    depth = 0
    for child in children[:-1]:
        depth += {"strong_open": 1, "strong_close": -1}.get(child.type, 0)
        if depth == 0:
            return False
    return len(text) <= _BOLD_HEADING_MAX_CHARS and not ends_with_punctuation(text)


def _block_text(token: Token) -> str:
    """The text of a code block, or of an HTML block with its tags dropped ("" for a comment)."""
    if token.type != "html_block":
        return collapse(token.content)
    if _COMMENT_ONLY.fullmatch(token.content):
        return ""
    return collapse(parse_html(token.content).get_text(" "))

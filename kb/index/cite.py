"""The one citation format used everywhere: CLI, app, exports, evaluation reports."""

from __future__ import annotations


def citation(
    short_title: str,
    paragraph: str,
    page: int | None = None,
    page_end: int | None = None,
    table: str = "",
    row: str = "",
) -> str:
    """`<short title>, para. N`, or `<short title>, p. P, para. N` for paged documents; a table's
    row is cited by its table and row: `<short title>, p. P, table T, row "Italy"`.

    A paragraph that runs over a page break is cited `pp. P–Q`. Paragraphs before the first
    numbered paragraph of a numbered document carry labels like `preamble 2` and are cited so.
    """
    parts = [short_title]
    if page:
        parts.append(f"pp. {page}–{page_end}" if page_end and page_end != page else f"p. {page}")
    if table:
        parts.append(f"table {table}")
        if row:
            parts.append(f'row "{row}"')
    elif paragraph.startswith("preamble "):
        parts.append(f"preamble, para. {paragraph.removeprefix('preamble ')}")
    elif paragraph:
        parts.append(f"para. {paragraph}")
    return ", ".join(parts)

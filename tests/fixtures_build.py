"""Build the invented documents that the reader tests read: real PDF, DOCX, HTML, Markdown and text files.

Each `build_*` function writes one file into a directory and returns its path. Every document
says in its title that it is a test fixture. The expected texts live in tests/test_readers.py.
"""

from __future__ import annotations

from pathlib import Path

FIXTURE_TITLE = "Test fixture — not an official document: National Action Plan of Testland"
RUNNING_HEADER = "Testland National Action Plan against Migrant Smuggling 2026-2030"
RUNNING_FOOTER = "Test fixture — not an official document"

# The PDF's pages, top to bottom: (kind, lines). Kinds: "h1" bold 16 pt, "h2" bold 13 pt, "h3" bold
# 11 pt, "p" a body paragraph, "sub" a sub-item indented by 18 pt, "cont" the rest of a paragraph
# that began on the previous page (no space above it). Each string is one printed line.
PDF_PAGES: list[list[tuple[str, list[str]]]] = [
    [
        ("h1", ["Test Fixture: National Action Plan of Testland"]),
        ("h2", ["I. Purpose and Scope"]),
        (
            "p",
            [
                "1. The Government of Testland adopts this plan to prevent and counter the",
                "smuggling of migrants and to protect the rights of smuggled persons, in line",
                "with the Protocol against the Smuggling of Migrants by Land, Sea and Air.",
            ],
        ),
        (
            "p",
            [
                "2. The plan covers the years 2026 to 2030 and builds on the sixty-",
                "seventh session of the Commission on Crime Prevention and Criminal Justice",
                "and on the work of the national counter-",
                "terrorism and border agencies.",
            ],
        ),
        ("p", ["3. The plan will be carried out through the following measures:"]),
        (
            "sub",
            [
                "(a) strengthening the implemen-",
                "tation of border controls at all points of entry;",
            ],
        ),
        ("sub", ["(b) improving cooperation with countries of origin and transit;"]),
        ("sub", ["(c) protecting the rights of smuggled migrants."]),
        ("h2", ["II. Measures"]),
        (
            "p",
            [
                "4. A national coordinator will lead the work of all ministries concerned and",
                "will report to the Council of Ministers every six months.",
            ],
        ),
        (
            "p",
            [
                "5. The police, the border guard and the prosecution service will set up joint",
                "investigation teams on smuggling networks and will share information with",
            ],
        ),
    ],
    [
        (
            "cont",
            [
                "partner agencies through a secure platform, subject to the safeguards of",
                "national law.",
            ],
        ),
        (
            "p",
            [
                "6. Financial investigations will accompany every smuggling case, so that",
                "the proceeds of crime can be traced, frozen and confiscated.",
            ],
        ),
        ("p", ["The measures above are complemented by training for all officials concerned."]),
        ("p", ["7. Training will cover the identification of victims of trafficking."]),
        ("p", ["8. Testland will fund awareness campaigns in countries of origin."]),
        ("p", ["9. Online content used to sell smuggling services will be reported to platforms."]),
    ],
    [
        ("p", ["10. Testland will support the United Nations Office on Drugs and Crime."]),
        ("h2", ["III. Monitoring"]),
        ("h3", ["Annual report"]),
        ("p", ["11. The coordinator will publish an annual report on the plan."]),
        ("p", ["12. The plan will be evaluated independently in 2030."]),
    ],
]

_FONTS = {
    "h1": ("Helvetica-Bold", 16),
    "h2": ("Helvetica-Bold", 13),
    "h3": ("Helvetica-Bold", 11),
    "p": ("Helvetica", 11),
    "sub": ("Helvetica", 11),
    "cont": ("Helvetica", 11),
}
_PAGE_NUMBER_STYLES = ("- {n} -", "Page {n} of {total}", "{n}")


def build_pdf(
    directory: Path, name: str = "testland-plan.pdf", pages=PDF_PAGES, title: str | None = FIXTURE_TITLE
) -> Path:
    """A multi-page PDF drawn line by line: running header and footer, page numbers, headings in
    bold larger fonts, numbered paragraphs and sub-items, a paragraph over a page break, hyphens."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = directory / name
    pdf = canvas.Canvas(str(path), pagesize=A4)
    if title:
        pdf.setTitle(title)
    pdf.setAuthor("Reader tests")
    width, height = A4
    for number, page in enumerate(pages, start=1):
        _running_lines(pdf, width, height, number, len(pages))
        y = height - 100
        for kind, lines in page:
            font, size = _FONTS[kind]
            if kind != "cont" and y < height - 100:
                y -= 10 if kind.startswith("h") else 8
            x = 90 if kind == "sub" else 72
            pdf.setFont(font, size)
            for line in lines:
                pdf.drawString(x, y, line)
                y -= size + 4
        pdf.showPage()
    pdf.save()
    return path


def _running_lines(pdf, width: float, height: float, number: int, total: int) -> None:
    pdf.setFont("Helvetica", 9)
    pdf.drawString(72, height - 50, RUNNING_HEADER)
    pdf.setFont("Helvetica-Oblique", 8)
    pdf.drawString(72, 50, RUNNING_FOOTER)
    style = _PAGE_NUMBER_STYLES[(number - 1) % len(_PAGE_NUMBER_STYLES)]
    pdf.setFont("Helvetica", 9)
    pdf.drawCentredString(width / 2, 32, style.format(n=number, total=total))


def build_long_pdf(directory: Path, pages: int = 200) -> Path:
    """A PDF of `pages` pages of numbered paragraphs, for timing the reader."""
    subjects = ["border controls", "victim protection", "financial investigations", "online content",
                "return and readmission", "training of officials", "awareness campaigns"]  # fmt: skip
    body, n = [], 0
    for chapter in range(1, pages + 1):
        page = [("h2", [f"Chapter {chapter}: {subjects[chapter % len(subjects)]}"])]
        for _ in range(9):
            n += 1
            subject = subjects[n % len(subjects)]
            lines = [
                f"{n}. The Government of Testland will report on {subject}, including",
                "the number of smuggling cases investigated and prosecuted, the assistance",
                f"given to smuggled migrants and the cooperation with partners on {subject}.",
            ]
            page.append(("p", lines))
        body.append(page)
    return build_pdf(directory, "long.pdf", pages=body, title=f"{FIXTURE_TITLE} (long)")


def build_encrypted_pdf(directory: Path) -> Path:
    """The fixture PDF encrypted with a user password."""
    from pypdf import PdfReader, PdfWriter

    source = build_pdf(directory, "plain-for-encryption.pdf")
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    path = directory / "encrypted.pdf"
    with path.open("wb") as file:
        writer.write(file)
    return path


def build_owner_only_encrypted_pdf(directory: Path) -> Path:
    """The fixture PDF encrypted with an owner password only: it opens without a password."""
    from pypdf import PdfReader, PdfWriter

    source = build_pdf(directory, "plain-for-owner.pdf")
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    path = directory / "owner-only.pdf"
    with path.open("wb") as file:
        writer.write(file)
    return path


def build_truncated_pdf(directory: Path) -> Path:
    """The first half of the fixture PDF's bytes."""
    data = build_pdf(directory, "whole.pdf").read_bytes()
    path = directory / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    return path


def build_not_a_pdf(directory: Path) -> Path:
    """A text file named .pdf."""
    path = directory / "not-really.pdf"
    path.write_text("Test fixture — not an official document. This is not a PDF.\n", encoding="utf-8")
    return path


def build_image_only_pdf(directory: Path) -> Path:
    """A PDF whose only page holds a filled rectangle and an image, no text (like a scan)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path = directory / "scanned.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle(f"{FIXTURE_TITLE} (scanned)")
    pdf.rect(72, 400, 300, 200, fill=1)
    pdf.drawImage(ImageReader(_tiny_png(directory)), 72, 100, width=100, height=100)
    pdf.showPage()
    pdf.save()
    return path


def _tiny_png(directory: Path) -> str:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * 4 for _ in range(4))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path = directory / "tiny.png"
    path.write_bytes(png)
    return str(path)


def build_empty_file(directory: Path, name: str) -> Path:
    """A zero-byte file called `name`."""
    path = directory / name
    path.write_bytes(b"")
    return path


JUNK_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Test fixture — not an official document: Testland statement on migrant smuggling</title>
<style>body { font-family: sans-serif; } .cookie-banner { position: fixed; }</style>
<script>window.dataLayer = []; function track() { return "Skip to content"; }</script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<div id="cookie-consent" class="cookie-banner"><p>We use cookies to improve your experience.
Accept all cookies?</p><button>Accept</button><button>Reject</button></div>
<header class="site-header">
  <div class="logo">Testland Government</div>
  <nav class="main-menu"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
  <li><a href="/topics">Topics</a></li><li><a href="/contact">Contact</a></li></ul></nav>
</header>
<nav aria-label="Breadcrumb" class="breadcrumbs"><ol><li><a href="/">Home</a></li>
<li><a href="/news">News</a></li><li>Statement</li></ol></nav>
<main id="main">
<article>
<h1>Statement on   Tackling Migrant Smuggling</h1>
<p class="lead">The Minister of the Interior of Testland made the
following statement on 3 March 2026.</p>
<div class="share-buttons"><a href="#">Share on X</a> <a href="#">Share on Facebook</a></div>
<h2>Our commitments</h2>
<p>We will <strong>dismantle</strong> the criminal networks that profit from the
smuggling of migrants, in cooperation with our <a href="/partners">partners</a>.</p>
<ol>
<li>Strengthen border controls at all points of entry.</li>
<li>Protect the rights of smuggled migrants.</li>
</ol>
<ul><li>Training for officials, including <em>online</em> investigations.</li></ul>
<blockquote>No one should profit from the despair of others.</blockquote>
<p>12. The Ministry will report every year on the progress&nbsp;made.</p>
<h3>Contact</h3>
<p>Media enquiries: press@testland.example</p>
</article>
<aside class="related"><h2>Related news</h2><ul><li><a href="/a">Minister visits border post</a></li>
<li><a href="/b">New law adopted</a></li></ul></aside>
</main>
<footer class="site-footer"><p>© 2026 Government of Testland. All rights reserved.</p>
<ul><li><a href="/privacy">Privacy</a></li><li><a href="/terms">Terms</a></li></ul></footer>
<script>track();</script>
</body>
</html>
"""

# Like the G7 Research Group's pages: a table layout, a row of menu links at the top, the text in
# <p> and <font> tags with <br> breaks, an old-style footer.
G7RG_HTML = """<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>Test fixture — not an official document: G7 Testland Ministers' Statement</title>
</head>
<body bgcolor="#FFFFFF">
<table width="100%" border="0"><tr>
<td><a href="/"><img src="/images/g7logo.gif" alt="G7 Information Centre" border="0"></a></td>
</tr><tr>
<td align="center"><font size="2"><a href="/summit/index.htm">Summits</a> |
<a href="/ministerials/index.htm">Meetings</a> | <a href="/publications/index.htm">Publications</a> |
<a href="/research/index.htm">Research</a> | <a href="/search/index.html">Search</a> |
<a href="/index.html">Home</a></font></td>
</tr></table>
<table width="100%"><tr><td width="10%">&nbsp;</td><td>
<h1 align="center">G7 Testland Interior Ministers’ Statement</h1>
<p align="center"><i>Testville, March 3, 2026</i></p>
<p>1. We, the Interior Ministers of the G7, met in Testville to discuss the
“smuggling of migrants” and related crimes.</p>
<p>2. We commit to:<br>
(a) share information on smuggling routes;<br>
(b) freeze the assets of smuggling networks – wherever they are.</p>
<p><b>Next steps</b></p>
<p>3. We will meet again in 2027.</p>
<p align="center"><font size="1">Source: Testland Ministry of the Interior</font></p>
</td></tr></table>
<hr>
<p><font size="1"><i>This Information System is provided by the University of Toronto Library and the
G7 Research Group at the University of Toronto.</i></font></p>
<p><font size="1">Please send comments to: <a href="mailto:g7@utoronto.ca">g7@utoronto.ca</a><br>
This page was last updated March 4, 2026.</font></p>
<p><font size="1">All contents copyright &copy; 2026. University of Toronto unless otherwise stated.
All rights reserved.</font></p>
</body>
</html>
"""


def build_junk_html(directory: Path) -> Path:
    """A modern page: skip link, cookie banner, header menu, breadcrumbs, share buttons, aside, footer."""
    path = directory / "statement.html"
    path.write_text(JUNK_HTML, encoding="utf-8")
    return path


def build_g7rg_html(directory: Path) -> Path:
    """An old table-layout page in windows-1252, like the G7 Research Group's."""
    path = directory / "g7rg.htm"
    path.write_bytes(G7RG_HTML.encode("cp1252"))
    return path


def build_docx(directory: Path) -> Path:
    """A DOCX with a title, headings, body paragraphs, list paragraphs, an empty paragraph and a table."""
    from docx import Document

    document = Document()
    document.core_properties.title = FIXTURE_TITLE
    document.core_properties.author = "Reader tests"
    document.add_heading("National Action Plan of Testland", level=0)
    document.add_heading("Purpose", level=1)
    paragraph = document.add_paragraph("1. The Government of Testland adopts this plan to counter the ")
    paragraph.add_run("smuggling").bold = True
    paragraph.add_run(" of migrants.")
    document.add_paragraph("")
    document.add_paragraph("Strengthen border controls;", style="List Bullet")
    document.add_paragraph("Protect smuggled migrants.", style="List Bullet")
    document.add_heading("Measures", level=2)
    broken = document.add_paragraph("2. A national coordinator will lead the work")
    broken.add_run().add_break()
    broken.add_run("of all   ministries.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Measure"
    table.cell(0, 1).text = "Deadline"
    table.cell(1, 0).text = "Joint investigation teams"
    table.cell(1, 1).text = "2027"
    document.add_paragraph("3. The plan will be evaluated in 2030.")
    path = directory / "plan.docx"
    document.save(str(path))
    return path


_NUMBERING_XML = """<w:abstractNum %s w:abstractNumId="90">
  <w:multiLevelType w:val="multilevel"/>
  <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%%1."/></w:lvl>
  <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%%2)"/></w:lvl>
  <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerRoman"/><w:lvlText w:val="%%3)"/></w:lvl>
</w:abstractNum>"""


def build_numbered_docx(directory: Path) -> Path:
    """A DOCX whose paragraphs Word numbers itself: "1.", "(a)", "i)", with a restart through a start override."""
    from docx import Document
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn

    document = Document()
    document.core_properties.title = f"{FIXTURE_TITLE} (numbered)"
    numbering = document.part.numbering_part.element
    first_num = numbering.find(qn("w:num"))
    abstract = parse_xml(_NUMBERING_XML % nsdecls("w"))
    # Abstract numbering definitions must come before the list instances.
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    numbering.append(
        parse_xml(
            f'<w:num {nsdecls("w")} w:numId="91"><w:abstractNumId w:val="90"/>'
            '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
        )
    )
    items = [
        (90, 0, "Testland adopts this plan."),
        (90, 1, "border controls;"),
        (90, 1, "victim protection."),
        (90, 2, "in ports;"),
        (90, 0, "The coordinator reports every year."),
        (90, 1, "to the Council of Ministers."),
        (91, 0, "A second list starts again at one."),
    ]
    document.add_heading("Numbered paragraphs", level=1)
    for num_id, level, text in items:
        paragraph = document.add_paragraph(text)
        num_pr = parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'
        )
        paragraph._p.get_or_add_pPr().append(num_pr)
    path = directory / "numbered.docx"
    document.save(str(path))
    return path


def build_corrupt_docx(directory: Path) -> Path:
    """A file named .docx that is not a zip archive."""
    path = directory / "corrupt.docx"
    path.write_bytes(b"Test fixture - not an official document; not a DOCX at all\n" * 20)
    return path


def build_docx_missing_document(directory: Path) -> Path:
    """A zip archive named .docx without the main document part."""
    import zipfile

    path = directory / "hollow.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("docProps/core.xml", "<coreProperties/>")
    return path


MARKDOWN = """---
title: "Test fixture — not an official document: Testland notes"
author: Reader tests
---
<!-- Test fixture: not an official document -->

# Testland   Notes on Migrant Smuggling

Setext Heading
--------------

The **Government** of *Testland* publishes these notes with a [link](https://example.org/x)
and some `inline code`.

**COMMITMENTS**

1. Strengthen border controls.
2. Protect smuggled migrants.

- Training for officials;
- Awareness campaigns.

> A quoted paragraph.

<!-- a comment
over two lines -->
Final paragraph with an escaped \\*star\\* and &amp; entity.
"""


def build_markdown(directory: Path) -> Path:
    """A Markdown file with front matter, ATX and setext headings, a bold-line heading, lists, a quote."""
    path = directory / "notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    return path


CP1252_TEXT = (
    "Test fixture \u2014 not an official document: Testland budget\r\n"
    "\r\n"
    "The plan\u2019s \u201cfirst phase\u201d costs \u20ac5 million.\r\n"
    "\r\n"
    "The second phase costs \u20ac7 million \u2013 na\u00efve estimates aside.\r\n"
)


def build_cp1252_text(directory: Path) -> Path:
    """A text file in Windows-1252 with CRLF line ends, smart quotes, dashes and euro signs."""
    path = directory / "budget.txt"
    path.write_bytes(CP1252_TEXT.encode("cp1252"))
    return path


def build_utf8_bom_text(directory: Path) -> Path:
    """A UTF-8 text file that starts with a byte-order mark."""
    path = directory / "bom.txt"
    text = (
        "Test fixture \u2014 not an official document\n\nFirst paragraph, caf\u00e9.\n\nSecond paragraph.\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


# Wrapped lines without blank lines or indents, page furniture in mid-paragraph, hyphenated words.
WRAPPED_TEXT = """Test fixture - not an official document. The Government of Testland
presents this statement on the smuggling of migrants to the sixty-
seventh session. We thank the President for his able leadership of
the Assembly during the past year.
Smuggling networks exploit people who flee conflict and poverty. They
charge high fees and expose migrants to deadly risks at sea and in the
desert. We must work together to stop them and to ensure the implemen-
tation of the Protocol against the Smuggling of Migrants by Land, Sea


26-01234 27

and Air by all States Parties. Testland has adopted a national plan for
that purpose.
1. The plan has three parts.
(a) Prevention;
(b) Protection.
Finally, we call on all Member States to join the counter-
terrorism and anti-smuggling efforts of the United Nations.
"""


def build_wrapped_text(directory: Path) -> Path:
    """A text file with lines wrapped at about 70 characters, like the UN records of 2012."""
    path = directory / "wrapped.txt"
    path.write_text(WRAPPED_TEXT, encoding="utf-8")
    return path


def build_binary_txt(directory: Path) -> Path:
    """Binary content (a PNG's bytes) in a file named .txt."""
    path = directory / "image.txt"
    path.write_bytes(Path(_tiny_png(directory)).read_bytes() * 20)
    return path


# --- seeds for the fuzz tests (tests/test_fuzz.py, python -m evals.fuzz) ------------------------

FUZZ_SUFFIXES = {"pdf": ".pdf", "html": ".html", "docx": ".docx", "markdown": ".md", "text": ".txt"}


def build_uncompressed_pdf(directory: Path) -> Path:
    """The fixture PDF with its page content streams left uncompressed, so that a mutation of its
    bytes changes the drawn text and operators rather than breaking a zlib stream."""
    from reportlab import rl_config

    saved = rl_config.pageCompression
    rl_config.pageCompression = 0
    try:
        return build_pdf(directory, "uncompressed.pdf")
    finally:
        rl_config.pageCompression = saved


def build_fuzz_seeds(directory: Path) -> dict[str, list[Path]]:
    """Real files to mutate, by reader: the fixtures above (valid and broken) and the bundled documents."""
    root = Path(__file__).resolve().parent.parent
    corpus = sorted((root / "evals" / "corpus").glob("*"))
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "pdf": [build_pdf(directory), build_uncompressed_pdf(directory), build_truncated_pdf(directory),
                build_encrypted_pdf(directory), build_image_only_pdf(directory)],
        "html": [build_junk_html(directory), build_g7rg_html(directory)],
        "docx": [build_docx(directory), build_numbered_docx(directory), build_docx_missing_document(directory)],
        "markdown": [build_markdown(directory), *(root / "sources").glob("*.md"),
                     *(p for p in corpus if p.suffix == ".md")],
        "text": [build_cp1252_text(directory), build_utf8_bom_text(directory), build_wrapped_text(directory),
                 *(p for p in corpus if p.suffix == ".txt")],
    }  # fmt: skip

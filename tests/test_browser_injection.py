"""Markup in documents, in each source format, shown as text in a real browser and never run.

tests/test_browser.py covers <script>, <img onerror> and a Markdown javascript: link in a text
file and an issuer. Here: the same and more (SVG, iframe, style, attribute break-out, entities,
template syntax) in a text file, an HTML page whose entities decode to markup, a Markdown file with
link and image injection, and a javascript: url in the manifest; plus the page an error leaves.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import copy_declaration, settings_for
from helpers import free_port
from test_browser import playwright_api

import app
from ingest import pipeline
from kb.index import generations

pytestmark = pytest.mark.browser
expect = playwright_api.expect

TITLE = "Test fixture — not an official document"
# Each case is a literal that must appear, as text, in the passage that holds it.
TEXT_CASES = [
    "<script>window.__pwned=11</script>",
    '<img src=x onerror="window.__pwned=12">',
    '<svg onload="window.__pwned=13"></svg>',
    '<iframe srcdoc="<script>parent.__pwned=14</script>"></iframe>',
    "<style>body{display:none}</style>",
    '"><script>window.__pwned=15</script>',
    '<a href="javascript:window.__pwned=16">link</a>',
    "[click](javascript:window.__pwned=17)",
    "![x](javascript:window.__pwned=18)",
    "&lt;b&gt;not bold&lt;/b&gt; &amp;amp; &#60;i&#62;",
    "{{7*7}} ${7*7} <%= 7*7 %>",
]
TEXT_DOC = f"{TITLE}: text markup\n\n" + "\n\n".join(
    f"{n}. Testport ledger entry {n} reads {case} and ends here." for n, case in enumerate(TEXT_CASES, 1)
)
# An HTML page: its entities decode to markup, which is then text of the passage.
HTML_DOC = f"""<html><head><title>{TITLE}: html entities</title></head><body>
<p>Harbourside clerk wrote &lt;script&gt;window.__pwned=21&lt;/script&gt; in the harbour log.</p>
<p>Harbourside clerk drew &lt;img src=x onerror="window.__pwned=22"&gt; beside the entry.</p>
<p>Harbourside clerk linked <a href="javascript:window.__pwned=23">the schedule</a> for inspectors.</p>
<script>window.__pwned=24</script>
</body></html>"""
HTML_TEXTS = [
    "<script>window.__pwned=21</script>",
    '<img src=x onerror="window.__pwned=22">',
    "Harbourside clerk linked the schedule for inspectors.",
]
MARKDOWN_DOC = f"""# {TITLE}: markdown injection

Quayside warden notes [the schedule](javascript:window.__pwned=31) for the quay.

Quayside warden notes ![tracker](http://tracker.example/pixel.png) on the quay.

Quayside warden notes <img src=x onerror="window.__pwned=32"> inline html on the quay.

Quayside warden notes `<script>window.__pwned=33</script>` as code on the quay.
"""
MANIFEST = f"""
[[document]]
id = "fixture-text-markup"
title = "{TITLE}: text markup"
issuer = "Testport Harbour Authority (test fixture)"
country = "TST"
date = "2026-01-15"
type = "other"
file = "text-markup.txt"
url = "javascript:window.__pwned=41"

[[document]]
id = "fixture-html-entities"
title = "{TITLE}: html entities"
issuer = "Testport Harbour Authority (test fixture)"
country = "TST"
date = "2026-01-16"
type = "other"
file = "html-entities.html"

[[document]]
id = "fixture-markdown-injection"
title = "{TITLE}: markdown injection"
issuer = "Testport Harbour Authority (test fixture)"
country = "TST"
date = "2026-01-17"
type = "other"
file = "markdown-injection.md"
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("injection")
    sources = root / "sources"
    sources.mkdir()
    copy_declaration(sources)
    (sources / "text-markup.txt").write_text(TEXT_DOC, encoding="utf-8")
    (sources / "html-entities.html").write_text(HTML_DOC, encoding="utf-8")
    (sources / "markdown-injection.md").write_text(MARKDOWN_DOC, encoding="utf-8")
    with (sources / "sources.toml").open("a", encoding="utf-8") as f:
        f.write(MANIFEST)
    settings = settings_for(sources, root / ".kb", port=free_port())
    summary = pipeline.run(settings, progress=False)
    assert summary.exit_code == 0, summary.to_dict()
    demo, url = app.serve(settings, block=False, quiet=True)
    yield url, settings
    demo.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.dialogs, p.outside = [], []
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    p.on(
        "request",
        lambda r: None if r.url.startswith((site[0], "data:", "blob:")) else p.outside.append(r.url),
    )
    p.goto(site[0])
    expect(p.locator("#kb-status")).to_contain_text("4 documents")
    yield p
    assert p.outside == [], f"the page fetched from outside the machine: {p.outside}"
    context.close()


def nothing_ran(page) -> None:
    page.wait_for_timeout(300)  # time for an injected handler to fire, had one been created
    assert page.evaluate("window.__pwned") is None and page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.locator("img[src='x'], svg[onload], iframe[srcdoc], a[href^='javascript']").count() == 0
    assert page.evaluate("[...document.scripts].some(s => s.textContent.includes('__pwned'))") is False
    assert page.locator("body").is_visible()  # an injected <style> did not hide the page


def read_document(page, doc_id: str):
    """Open a document in the Documents tab's reader."""
    page.get_by_role("tab", name="Documents").click()
    page.locator("#kb-documents").get_by_text(doc_id).click()
    reader = page.locator("#kb-reader")
    expect(reader.locator(".kb-para").first).to_be_visible(timeout=15_000)
    return reader


def test_markup_in_a_text_file_reads_as_text(page):
    reader = read_document(page, "fixture-text-markup")
    for case in TEXT_CASES:
        expect(reader).to_contain_text(case)
    assert reader.locator("a[href^='javascript']").count() == 0  # the manifest's javascript: url is no link
    nothing_ran(page)


def test_markup_in_search_results_reads_as_text(page):
    page.get_by_label("Your question").fill("Testport ledger entry reads and ends here")
    page.get_by_role("button", name="Ask", exact=True).click()
    cards = page.locator(".kb-card").filter(has_text="Testport ledger entry")
    expect(cards.first).to_be_visible(timeout=30_000)
    shown = " ".join(cards.locator(".kb-text").all_text_contents())
    assert sum(case in shown for case in TEXT_CASES) >= 3, shown
    nothing_ran(page)


def test_entities_in_an_html_page_decode_to_text_not_markup(page):
    reader = read_document(page, "fixture-html-entities")
    for text in HTML_TEXTS:
        expect(reader).to_contain_text(text)
    expect(reader).not_to_contain_text("__pwned=24")  # the page's own <script> is dropped by the reader
    nothing_ran(page)


def test_markdown_links_and_images_are_not_followed_or_loaded(page):
    reader = read_document(page, "fixture-markdown-injection")
    # markdown-it refuses javascript: link targets, so the whole link stays literal text.
    expect(reader).to_contain_text("[the schedule](javascript:window.__pwned=31) for the quay.")
    expect(reader).to_contain_text(
        "Quayside warden notes on the quay."
    )  # the image: neither shown nor loaded
    expect(reader).to_contain_text("<script>window.__pwned=33</script>")  # inline code keeps its text
    assert reader.locator("img").count() == 0
    nothing_ran(page)  # includes: no request to tracker.example


def test_an_error_page_shows_a_message_without_internals(browser, site, tmp_path):
    """The index's Chroma store replaced by garbage: the page says so in one line, no traceback."""
    settings = site[1]
    damaged = tmp_path / ".kb"
    shutil.copytree(settings.index_dir, damaged)
    for path in (generations.current(damaged) / "chroma").rglob("*"):
        if path.is_file():
            path.write_bytes(b"Test fixture: not a database" * 100)
    demo, url = app.serve(
        settings_for(settings.sources_dir, damaged, port=free_port()), block=False, quiet=True
    )
    try:
        p = browser.new_page()
        p.goto(url)
        p.get_by_label("Your question").fill("Which commitments cover online platforms?")
        p.get_by_role("button", name="Ask", exact=True).click()
        error = p.locator("#kb-answer .kb-error")
        expect(error).to_be_visible(timeout=30_000)
        text = p.locator("body").inner_text()
        for internal in ("Traceback", 'File "', ".py", "site-packages", "object at 0x"):
            assert internal not in text, internal
        p.close()
    finally:
        demo.close()

"""The app in a real browser: Playwright drives Debian's Chromium against a running app.

The index holds the bundled declaration, a text document full of markup that must stay text,
and a PDF (printed by Chromium) to open at its page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import docx
import pytest
from conftest import DECLARATION_ID, copy_declaration, settings_for
from helpers import ROOT, free_port

import app
from ingest import pipeline

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

OUTPUT = ROOT / "test-output"
DECLARATION_SHORT = "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026)"
PARA_4 = f"{DECLARATION_SHORT}, para. 4"
INJECTION_TITLE = "Test fixture — not an official document: injection test"
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
LINK = "[click](javascript:window.__pwned=3)"
ISSUER = 'Testport Harbour Authority <img src=x onerror="window.__pwned=4"> (test fixture)'
INJECTION_TEXT = f"""{INJECTION_TITLE}

1. The harbour master of Testport keeps the cargo manifests in a ledger. {SCRIPT} The ledger is checked daily.

2. Testport customs officers photograph every manifest. {IMG} The photographs are archived.

3. Testport publishes its inspection schedule online. See {LINK} for the schedule.
"""
MANIFEST_EXTRA = f"""
[[document]]
id = "fixture-injection"
title = "{INJECTION_TITLE}"
issuer = 'Testport Harbour Authority <img src=x onerror="window.__pwned=4"> (test fixture)'
country = "TST"
date = "2026-01-15"
type = "other"
file = "fixture-injection.txt"

[[document]]
id = "fixture-harbour-pdf"
title = "Test fixture — not an official document: Testland Harbour Report"
issuer = "Testland Harbour Authority (test fixture)"
country = "TST"
date = "2026-03"
type = "national-report"
file = "fixture-harbour.pdf"
"""
HARBOUR_HTML = """<html><head><title>Test fixture — not an official document: Testland Harbour Report</title></head>
<body style="font-family: serif; font-size: 12pt">
<h1>Test fixture: Testland Harbour Report</h1>
<h2>I. Harbour inspections</h2>
<p>1. The harbour authority of Testland inspected 412 refrigerated containers for concealed migrants in 2026.</p>
<p>2. Inspectors used heartbeat detectors and carbon dioxide probes on every refrigerated lorry.</p>
<div style="page-break-before: always"></div>
<h2>II. Results</h2>
<p>3. Refrigerated lorry checks found 37 people hidden in lorries, and 5 drivers were referred for prosecution.</p>
</body></html>"""


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    """The app over the declaration, the markup fixture and a PDF; yields (url, settings)."""
    root = tmp_path_factory.mktemp("browser")
    sources = root / "sources"
    sources.mkdir()
    copy_declaration(sources)
    (sources / "fixture-injection.txt").write_text(INJECTION_TEXT, encoding="utf-8")
    with (sources / "sources.toml").open("a", encoding="utf-8") as f:
        f.write(MANIFEST_EXTRA)
    page = browser.new_page()
    page.set_content(HARBOUR_HTML)
    page.pdf(path=str(sources / "fixture-harbour.pdf"), format="A4")
    page.close()
    settings = settings_for(sources, root / ".kb", port=free_port())
    summary = pipeline.run(settings, progress=False)
    assert summary.exit_code == 0, summary.to_dict()
    demo, url = app.serve(settings, block=False, quiet=True)
    yield url, settings
    demo.close()


@pytest.fixture
def page(browser, site):
    """A fresh page at 1280 px wide that records dialogs and any request leaving the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site[0])
    p = context.new_page()
    p.dialogs, p.outside, p.accept_dialogs = [], [], False
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.accept() if p.accept_dialogs else d.dismiss()))
    p.on(
        "request",
        lambda r: None if r.url.startswith((site[0], "data:", "blob:")) else p.outside.append(r.url),
    )
    p.goto(site[0])
    expect(p.locator("#kb-status")).to_contain_text("3 documents")
    yield p
    assert p.outside == [], "the app fetched something from outside the machine"
    context.close()


def ask(page, question: str):
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    cards = page.locator(".kb-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    return cards


def card_with(page, citation: str):
    return page.locator(".kb-card").filter(has=page.locator(".kb-citation", has_text=citation))


def test_ask_copy_and_show_in_document(page):
    cards = ask(page, "What does the 2026 declaration say about sanctions?")
    card = card_with(page, PARA_4)
    expect(card).to_be_visible()
    expect(card.locator(".kb-citation")).to_have_text(PARA_4)
    expect(card.locator(".kb-title")).to_have_text("G7 Leaders' Declaration on Tackling Migrant Smuggling")
    expect(card.locator(".kb-docmeta")).to_have_text("G7 Leaders · June 2026 · para. 4")
    expect(card.locator(".kb-text")).to_contain_text("intensify our cooperation with online platforms")
    assert cards.count() == 5
    answer = page.locator("#kb-answer")
    expect(answer.locator(".kb-meta").first).to_contain_text("answered in")
    if answer.locator(
        ".kb-answer-text"
    ).count():  # the answer quotes para. 4 and links its marker to the card
        expect(card.locator("mark.kb-hl").first).to_contain_text("targeted sanctions")
        marker = card.get_attribute("data-marker")
        answer.locator(f"a.kb-marker[data-marker='{marker}']").first.click()
        expect(card).to_be_in_viewport()
        expect(card).not_to_have_class(re.compile("kb-flash"), timeout=5_000)
        # "Passages cited" holds exactly the passages the answer quotes; the rest are "Other passages found".
        linked = set(
            answer.locator(".kb-answer-text a.kb-marker").evaluate_all(
                "els => els.map(e => e.dataset.marker)"
            )
        )
        sections = page.evaluate(
            """() => { const out = {}; let h = null;
              for (const el of document.querySelectorAll('#kb-answer h3, #kb-answer .kb-card')) {
                if (el.tagName === 'H3') { h = el.textContent; out[h] = []; } else out[h].push(el.dataset.marker); }
              return out; }"""
        )
        assert set(sections["Passages cited"]) == linked, sections
        assert len(sections["Passages cited"]) + len(sections.get("Other passages found", [])) == 5
    OUTPUT.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(OUTPUT / "ask.png"), full_page=True)
    # test-output/ask.png is what docs/screenshot-ask.png (the README's) is refreshed from, by hand:
    # a test run leaves the work tree as it was.

    card.get_by_role("button", name="Copy passage with citation").click()
    expect(card.get_by_role("button", name="Copied ✓")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "intensify our cooperation with online platforms" in copied and copied.endswith(PARA_4)
    card.get_by_role("button", name="Copy citation").click()
    page.wait_for_function(f"navigator.clipboard.readText().then(t => t === {json.dumps(PARA_4)})")

    card.get_by_role("button", name="Show in document").click()
    selected = page.locator("#kb-reader .kb-para.kb-selected")
    expect(selected).to_be_visible()
    expect(selected).to_contain_text("intensify our cooperation with online platforms")
    expect(selected.locator(".kb-label")).to_have_text("para. 4")
    expect(selected).to_be_in_viewport()
    expect(page.locator("#kb-reader h4").first).to_have_text(
        "LEADERS' DECLARATION ON TACKLING MIGRANT SMUGGLING"
    )
    page.screenshot(path=str(OUTPUT / "document.png"))


def test_an_abstaining_or_answered_question_is_labelled(page):
    ask(page, "What is the recipe for apple pie with cinnamon?")
    answer = page.locator("#kb-answer")
    expect(answer.locator(".kb-abstain")).to_contain_text("No answer in the documents.")
    expect(answer.locator("h3")).to_have_text("Closest passages (not an answer)")


def test_a_misspelled_question_is_answered_with_its_correction_shown(page):
    ask(page, "wich comitments cover onlin platforms")
    answer = page.locator("#kb-answer")
    expect(answer.locator(".kb-searched")).to_contain_text(
        "Searched for: which commitments cover online platforms"
    )
    expect(answer.locator(".kb-searched b")).to_have_text(["which", "commitments", "online"])
    expect(answer.locator(".kb-abstain")).to_have_count(0)
    expect(answer.locator("h3").first).to_have_text("Answer")
    expect(card_with(page, PARA_4)).to_be_visible()


def test_an_example_question_runs_and_filters_restrict_the_documents(page):
    page.get_by_text("What does the 2026 declaration say about sanctions?").first.click()
    expect(page.get_by_label("Your question")).to_have_value(
        "What does the 2026 declaration say about sanctions?"
    )
    expect(card_with(page, PARA_4)).to_be_visible(timeout=30_000)

    page.get_by_text("Filter by document type, country, issuer, language or date").click()
    page.get_by_label("Document type").click()
    page.get_by_role("option", name="national-report").click()
    page.keyboard.press("Escape")
    ask(page, "Which commitments cover online platforms?")
    expect(page.locator("#kb-answer .kb-title").first).to_have_text(
        "Test fixture — not an official document: Testland Harbour Report"
    )
    assert set(page.locator("#kb-answer .kb-title").all_text_contents()) == {
        "Test fixture — not an official document: Testland Harbour Report"
    }
    page.get_by_label("Dated from").fill("soon")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator("#kb-answer .kb-error")).to_contain_text("'soon' is not a date")


def assert_nothing_ran(page):
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.evaluate("[...document.scripts].some(s => s.textContent.includes('__pwned'))") is False


def test_markup_in_a_document_is_shown_as_text_and_runs_nothing(page):
    ask(page, "Testport harbour cargo manifests ledger photographs inspection schedule")
    cards = page.locator(".kb-card").filter(has_text="Testport")
    expect(cards.first).to_be_visible()
    texts = " ".join(cards.locator(".kb-text").all_text_contents())
    assert SCRIPT in texts and IMG in texts and LINK in texts
    assert_nothing_ran(page)

    cards.first.get_by_role("button", name="Show in document").click()
    reader = page.locator("#kb-reader")
    expect(reader.locator("h3")).to_have_text(INJECTION_TITLE)
    for literal in (SCRIPT, IMG, LINK):
        expect(reader).to_contain_text(literal)
    expect(page.locator("#kb-documents")).to_contain_text(INJECTION_TITLE)
    expect(page.locator("#kb-documents")).to_contain_text(ISSUER)
    expect(reader.locator(".kb-meta").first).to_contain_text(ISSUER)
    page.get_by_role("tab", name="Ask").click()
    page.get_by_text("Filter by document type, country, issuer, language or date").click()
    page.get_by_label("Issuer").click()
    expect(page.get_by_role("option", name=ISSUER)).to_be_visible()
    page.wait_for_timeout(300)  # give an injected handler the chance to fire, had one been created
    assert_nothing_ran(page)


def test_three_quick_adds_to_the_briefing_are_all_kept(page):
    """Gradio drops an event sent while the previous one of its kind runs: each add carries every
    passage added since, so quick clicks on three cards lose none."""
    cards = ask(page, "Which commitments cover online platforms?")
    buttons = [cards.nth(i).get_by_role("button", name="Add to briefing") for i in range(3)]
    for button in buttons:
        button.click()
    expect(page.get_by_role("tab", name="Briefing (3)")).to_be_visible()


def test_a_passage_removed_from_the_briefing_stays_out_when_another_is_added(page):
    """Each add carries every passage added from the answer: one removed from the briefing since is
    not put back by adding another, only by clicking its own card again."""
    cards = ask(page, "Which commitments cover online platforms?")
    cited = [cards.nth(i).locator(".kb-citation").text_content() for i in range(3)]
    basket = page.locator(".kb-basket-item .kb-citation")

    def add(i: int, count: int) -> None:
        page.get_by_role("tab", name="Ask").click()
        cards.nth(i).locator("button[data-action='add']").click()
        page.get_by_role("tab", name=f"Briefing ({count})").click()

    add(0, 1)
    add(1, 2)
    expect(basket).to_have_text(cited[:2])
    page.get_by_role("button", name="Remove").first.click()
    expect(basket).to_have_text(cited[1:2])
    add(2, 2)
    expect(basket).to_have_text(cited[1:])
    add(0, 3)
    expect(basket).to_have_text([*cited[1:], cited[0]])


def test_add_to_briefing_reorder_note_then_export_word_and_markdown(page, tmp_path):
    cards = ask(page, "Which commitments cover online platforms?")
    other = cards.filter(has_not=page.locator(".kb-citation", has_text=PARA_4)).first
    other_citation = other.locator(".kb-citation").text_content()
    for card in (other, card_with(page, PARA_4)):
        card.get_by_role("button", name="Add to briefing").click()
        expect(card.get_by_role("button", name="In briefing ✓")).to_be_visible()
    briefing_tab = page.get_by_role("tab", name="Briefing (2)")
    expect(briefing_tab).to_be_visible()
    briefing_tab.click()
    citations = page.locator(".kb-basket-item .kb-citation")
    expect(citations).to_have_text([other_citation, PARA_4])
    page.get_by_role("button", name="↑ Move up").nth(1).click()
    expect(citations).to_have_text([PARA_4, other_citation])
    # The downloads read each note from its box, found by the passage id its item carries.
    expect(page.locator(".kb-basket-row .kb-basket-item[data-pid]")).to_have_count(2)
    page.get_by_label("Briefing title").fill("Platforms briefing")
    # The note goes in the box of PARA_4's row (a row holds a passage and its note box; the boxes
    # are found by row, as the downloads find them, not by their order in the page).
    para_4_row = page.locator(".kb-basket-row").filter(has=page.locator(".kb-citation", has_text=PARA_4))
    para_4_row.get_by_label("Your note (optional)").fill("Use for the platforms section.")
    expect(para_4_row.get_by_label("Your note (optional)")).to_have_value("Use for the platforms section.")
    with page.expect_download(timeout=15_000) as download:  # one click: the file is saved at once
        page.get_by_role("button", name="Download as Word (.docx)").click()
    assert re.fullmatch(r"platforms-briefing-\d{8}-\d{6}\.docx", download.value.suggested_filename)
    path = tmp_path / "briefing.docx"
    download.value.save_as(path)
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    assert paragraphs[0] == "Platforms briefing"
    assert any("intensify our cooperation with online platforms" in p for p in paragraphs)
    cited = [p for p in paragraphs if p.startswith("— ")]
    assert cited == [f"— {PARA_4}", f"— {other_citation}"]
    assert paragraphs[paragraphs.index(f"— {PARA_4}") + 1] == "Note: Use for the platforms section."
    page.screenshot(path=str(OUTPUT / "briefing.png"), full_page=True)

    with page.expect_download(timeout=15_000) as download:
        page.get_by_role("button", name="Download as Markdown (.md)").click()
    assert download.value.suggested_filename.endswith(".md")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"— {PARA_4}\n\n**Note:** Use for the platforms section.\n" in text, text

    page.reload()  # the briefing, its title and its notes are kept in the browser
    page.get_by_role("tab", name="Briefing (2)").click()
    expect(citations).to_have_text([PARA_4, other_citation])
    expect(page.get_by_label("Briefing title")).to_have_value("Platforms briefing")
    expect(para_4_row.get_by_label("Your note (optional)")).to_have_value("Use for the platforms section.")
    page.get_by_role("button", name="Remove").first.click()
    expect(citations).to_have_text([other_citation])
    # Emptying asks first: cancelled, nothing changes; confirmed, the briefing is empty.
    page.get_by_role("button", name="Empty the briefing").click()
    page.wait_for_timeout(1000)
    expect(citations).to_have_text([other_citation])
    assert page.dialogs[-1] == "Empty the briefing? Its passages and notes will be removed."
    page.accept_dialogs = True
    page.get_by_role("button", name="Empty the briefing").click()
    expect(page.locator("#kb-basket-empty")).to_contain_text("Your briefing is empty.")
    expect(page.get_by_role("tab", name="Briefing", exact=True)).to_be_visible()


def test_feedback_is_saved_in_the_index_dir(page, site):
    ask(page, "Which commitments cover online platforms?")
    page.get_by_label("Comment (optional)").fill("The second passage is off topic.")
    page.get_by_role("button", name="Wrong passage").click()
    expect(page.locator("#kb-feedback")).to_contain_text("Thank you: your report (Wrong passage) was saved.")
    lines = (site[1].index_dir / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    report = json.loads(lines[-1])
    assert report["question"] == "Which commitments cover online platforms?"
    assert report["verdict"] == "wrong-passage" and report["comment"] == "The second passage is off topic."


def test_a_pdf_opens_at_the_page_of_its_passage(page):
    ask(page, "refrigerated lorry checks found people hidden")
    card = page.locator(".kb-card").filter(has_text="Testland Harbour Report").first
    link = card.get_by_role("link", name="Open the PDF at page 2")
    expect(link).to_have_attribute("href", "kb/pdf/fixture-harbour-pdf#page=2")
    response = page.request.get(page.url + "kb/pdf/fixture-harbour-pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    assert page.request.get(page.url + "kb/pdf/" + DECLARATION_ID).status == 404
    assert page.request.get(page.url + "kb/pdf/..%2Fsources.toml").status == 404


def test_a_missing_index_shows_what_to_run(browser, tmp_path):
    demo, url = app.serve(
        settings_for(tmp_path, tmp_path / "none", port=free_port()), block=False, quiet=True
    )
    try:
        p = browser.new_page()
        p.goto(url)
        expect(p.locator("#kb-status")).to_contain_text("run `kb ingest`")
        p.get_by_label("Your question").fill("returns")
        p.get_by_role("button", name="Ask", exact=True).click()
        expect(p.locator("#kb-answer .kb-error")).to_contain_text("no index in")
        p.close()
    finally:
        demo.close()


def test_with_no_national_documents_the_commitments_tab_says_so_and_greys_the_matrix(page):
    """Only the declaration and two non-G7 fixtures are indexed: no member has a national document,
    and no G7 text is older than the declaration. Nothing may read as a finding of non-compliance."""
    page.get_by_role("tab", name="Commitments").click()
    table = page.locator("#kb-commitments")
    expect(table).to_contain_text("adopt targeted sanctions", timeout=30_000)
    expect(page.locator("#kb-commitment-count")).to_contain_text("9 commitments")
    expect(table).to_contain_text("no earlier G7 text")
    expect(table).not_to_contain_text("declaration-migrant-smuggling:")  # no long keys: a short id column
    row = table.get_by_role("gridcell", name="2026-7", exact=True)
    assert row.bounding_box()["height"] < 50  # one line per row: ten rows fit on a screen
    row.click()
    detail = page.locator("#kb-commitment-detail")
    expect(detail.locator("h3")).to_have_text(f"2026-7 · {PARA_4}")
    expect(detail).to_contain_text("Lineage: no earlier G7 text indexed")
    expect(detail.locator(".kb-evidence[data-country='ITA']")).to_contain_text(
        "no documents from ITA indexed"
    )
    expect(detail).not_to_contain_text("compliance -1")
    # Instead of a grey wall, what to add to see more.
    expect(page.locator("#kb-commitment-count")).to_contain_text(
        "No national document of a G7 member is indexed yet"
    )
    expect(page.locator("#kb-commitment-count")).to_contain_text("kb sources fetch")
    page.get_by_text("Compliance matrix: commitment × country").click()
    expect(page.locator("#kb-matrix-legend")).to_contain_text("Grey: no document of that country indexed")
    expect(page.locator("#kb-matrix-legend")).to_contain_text("Suggested scores until confirmed")
    page.get_by_role("button", name="Draw the commitment × country matrix").click()
    grid = page.locator("#kb-matrix table.kb-matrix")
    expect(grid).to_be_visible(timeout=30_000)
    expect(grid.locator("tr.kb-matrix-summary td.kb-none").first).to_have_text("no docs")
    expect(grid.locator("td.kb-cell.kb-minus")).to_have_count(0)  # no cell reads as non-compliance
    link = page.locator("a[href*='commitment-matrix'][href$='.csv']").first
    expect(link).to_be_attached()
    csv = page.request.get(link.get_attribute("href")).text()
    assert "no documents" in csv and ",-1," not in csv, csv[:400]


def test_a_question_with_markup_is_answered_as_its_words_and_runs_nothing(page):
    ask(page, '<img src=x onerror="window.__pwned=5"> What about returns?')
    answer = page.locator("#kb-answer")
    expect(answer.locator(".kb-abstain")).to_have_count(0)
    expect(answer.locator("h3").first).to_have_text("Answer")
    expect(card_with(page, f"{DECLARATION_SHORT}, para. 6")).to_be_visible()  # the paragraph on returns
    assert page.evaluate("window.__pwned === undefined")


def test_ask_is_disabled_while_it_answers_and_quoted_passages_are_numbered_first(page):
    # Whether the button was ever disabled is recorded as it happens, so a fast answer cannot
    # slip between two looks.
    page.evaluate(
        """() => { window.__sawDisabled = false;
        new MutationObserver(() => { const b = document.querySelector('#kb-ask');
          if (b && b.disabled) window.__sawDisabled = true; })
        .observe(document.body, {subtree: true, attributes: true, childList: true}); }"""
    )
    cards = ask(page, "What did the leaders say about returns and protecting the most vulnerable?")
    button = page.locator("#kb-ask")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Ask")
    assert page.evaluate("window.__sawDisabled")
    quoted = [
        int(m)
        for m in page.locator(".kb-answer-text a.kb-marker").evaluate_all(
            "els => els.map(e => e.dataset.marker)"
        )
    ]
    assert quoted and quoted[0] == 1 and sorted(set(quoted)) == list(range(1, max(quoted) + 1))
    assert [int(x) for x in cards.evaluate_all("els => els.map(e => e.dataset.marker)")] == list(
        range(1, cards.count() + 1)
    )  # the quoted passages' cards first, [1]…[n], then the others

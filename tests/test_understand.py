"""Question understanding: the constraints read from a question, shown, applied first, removable."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import settings_for
from helpers import ROOT, free_port, kb

from ingest import pipeline
from kb.answer.ask import ask
from kb.index.store import Index
from kb.search.query import Filters
from kb.search.reading import read
from kb.search.understand import NOTHING_THERE, understand

UNGDC = ROOT.parent / "shared" / "ungdc"


def read_(question: str, documents, removed=()):
    """The constraints of a question, read as kb.answer.ask reads it."""
    return understand(read(question, documents), documents, removed)


def test_a_question_is_read_into_countries_years_kinds_and_phrases_with_their_words(fixtures_index):
    documents = fixtures_index.documents()
    read = read_('What did the French reports say in 2025 about "online content"?', documents)
    assert [(c.kind, c.value, c.label, c.words) for c in read.constraints] == [
        ("phrase", "online content", "“online content”", '"online content"'),
        ("country", "FRA", "France", "French"),
        ("year", "2025", "2025", "2025"),
        ("type", "national-report", "national reports", "reports"),
    ]
    assert read.read_as == "“online content” · France · 2025 · national reports"
    assert read.narrowed(Filters()) == Filters(
        types=("national-report",), countries=("FRA",), since="2025", until="2025-12-31"
    )
    # A filter the user set wins over what the question says; a removed constraint no longer applies.
    assert read.narrowed(Filters(countries=("ITA",))).countries == ("ITA",)
    fewer = read_('What did the French reports say in 2025 about "online content"?', documents, ["year:2025"])
    assert fewer.narrowed(Filters()).since == "" and "2025" not in fewer.read_as
    # Nothing is guessed silently: a year no document has is shown, and restricts nothing.
    old = read_("What did the 2019 summit say about smuggling since 2019?", documents)
    assert [(c.value, c.indexed) for c in old.constraints] == [
        ("G7", True),  # "the summit": a G7 summit
        ("2019", False),
        ("since 2019", True),
    ]
    assert "2019 (no indexed document)" in old.read_as
    # A document named is a constraint too; its year and kind are part of its name, not extra ones.
    named = read_("What does the 2026 declaration say about sanctions?", documents)
    assert [c.kind for c in named.constraints] == ["document"]


@pytest.mark.parametrize(
    "question, cue",
    [
        ("Which commitments cover online platforms?", "commitments"),
        ("What does the declaration say about returns?", "the declaration"),
        ("What did the leaders say about protecting refugees?", "leaders"),
        ("Quels engagements concernent les plateformes en ligne ?", "engagements"),
        ("Welche Verpflichtungen betreffen Online-Plattformen?", "Verpflichtungen"),
        ("Quali impegni riguardano le piattaforme online?", "impegni"),
        ("オンライン・プラットフォームに関する首脳の約束は？", "首脳"),
    ],
)
def test_a_question_about_commitments_or_the_declaration_is_answered_from_the_g7_texts_first(
    fixtures_index, question, cue
):
    answer = ask(fixtures_index, question, answer=False)
    g7 = [c for c in answer.understood.constraints if c.key == "country:G7"]
    assert [(c.label, c.words) for c in g7] == [("G7 texts", cue)]  # a chip, removable like the others
    assert answer.passages[0].hit.document.country == "G7"
    wider = ask(fixtures_index, question, answer=False, removed=("country:G7",))
    assert "G7" not in wider.understood.read_as


def test_a_question_naming_a_country_is_not_read_as_about_the_g7_texts(fixtures_index):
    read = read_("What has Italy committed to on returns?", fixtures_index.documents())
    assert [c.value for c in read.constraints if c.kind == "country"] == ["ITA"]


def test_a_stated_country_is_searched_first_and_can_be_taken_away(fixtures_index):
    question = "How does France get smuggling content taken down online?"
    answer = ask(fixtures_index, question)
    assert answer.understood.read_as == "France"
    assert not answer.abstained
    assert answer.passages[0].hit.document.country == "FRA"
    data = answer.to_dict()["understood"]
    assert data["constraints"][0] | {"key": "country:FRA"} == data["constraints"][0]
    wider = ask(fixtures_index, question, removed=("country:FRA",))
    assert wider.understood.removed == ("country:FRA",)
    assert {p.hit.document.country for p in wider.passages} - {"FRA"}, "other countries' passages come back"

    printed = kb("ask", question, "--index", str(fixtures_index.dir))
    assert "Read as: France\n" in printed.stdout
    assert "--without KEY, with KEY among country:FRA" in " ".join(printed.stdout.split())
    without = json.loads(
        kb("ask", question, "--without", "country:FRA", "--json", "--index", str(fixtures_index.dir)).stdout
    )
    assert without["understood"]["removed"] == ["country:FRA"]


@pytest.fixture(scope="module")
def un_index(tmp_path_factory) -> Index:
    """Twelve real UN General Debate statements: Germany, Italy, Japan and France, 2015-2017."""
    if not UNGDC.is_dir():
        pytest.skip(f"the UN General Debate corpus is not at {UNGDC}")
    root = tmp_path_factory.mktemp("ungdc")
    sources = root / "sources"
    for year in ("2015", "2016", "2017"):
        (sources / year).mkdir(parents=True)
        for path in (UNGDC / year).glob("*.txt"):
            if path.name.split("_")[0] in ("DEU", "ITA", "JPN", "FRA"):
                shutil.copy(path, sources / year / path.name)
    shutil.copy(ROOT / "evals" / "corpora" / "ungdc.toml", sources / "sources.toml")
    settings = settings_for(sources, root / ".kb")
    assert pipeline.run(settings, progress=False).exit_code == 0
    return Index(settings)


def test_in_year_how_did_country_is_answered_from_that_countrys_statement_of_that_year(un_index):
    answer = ask(un_index, "In 2016, what did Germany say about refugees?")
    assert answer.understood.read_as == "Germany · 2016"
    assert not answer.abstained
    assert answer.passages[0].hit.document.id == "ungdc-deu-2016"
    cited = {answer.passages[s.marker - 1].hit.document.id for s in answer.sentences}
    assert cited == {"ungdc-deu-2016"}


def test_when_the_stated_country_and_year_hold_nothing_the_answer_says_so(un_index):
    """Japan's 2016 statement says nothing of smuggling across the Mediterranean; France's 2017 one does."""
    answer = ask(un_index, "In 2016, what did Japan say about migrant smuggling in the Mediterranean?")
    assert answer.notice.startswith(NOTHING_THERE.format(where="Japan · 2016"))
    assert "ungdc-jpn-2016" not in {p.hit.document.id for p in answer.passages[:1]}


@pytest.mark.browser
def test_the_chips_show_the_reading_and_a_click_on_x_asks_again_without_it(fixtures_index, browser):
    """The app: "Read as: [France ×]"; the × asks the same question again over every country."""
    from playwright.sync_api import expect

    import app

    settings = settings_for(fixtures_index.settings.sources_dir, fixtures_index.dir, port=free_port())
    demo, url = app.serve(settings, block=False, quiet=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        question = "How does France get smuggling content taken down online?"
        page.get_by_label("Your question").fill(question)
        page.get_by_role("button", name="Ask", exact=True).click()
        chips = page.locator("#kb-answer .kb-understood")
        expect(chips).to_contain_text("Read as: France", timeout=30_000)
        citations = page.locator("#kb-answer .kb-card .kb-citation")
        narrowed = [p.hit.citation for p in ask(fixtures_index, question).passages]
        wider = [p.hit.citation for p in ask(fixtures_index, question, removed=("country:FRA",)).passages]
        assert narrowed != wider
        expect(citations).to_have_text(narrowed)
        page.get_by_role("button", name="Ask again without France").click()
        expect(chips).to_have_count(0)
        expect(citations).to_have_text(wider)
        page.close()
    finally:
        demo.close()


def test_removed_must_be_a_list_of_keys(fixtures_index):
    from kb.api import Library
    from kb.errors import UsageError

    library = Library(fixtures_index.settings)
    with pytest.raises(UsageError, match="removed must be a list of constraint keys"):
        library.ask("smuggling", removed="country:FRA")


def test_every_question_of_the_main_suite_about_the_g7_texts_leads_with_a_g7_text(fixtures_index):
    import yaml

    suite = yaml.safe_load((ROOT / "evals" / "suites" / "g7-smuggling.yaml").read_text(encoding="utf-8"))
    scoped = 0
    for q in suite["queries"]:
        answer = ask(fixtures_index, q["question"], answer=False)
        if "country:G7" in {c.key for c in answer.understood.constraints}:
            scoped += 1
            assert answer.passages[0].hit.document.country == "G7", (q["id"], q["question"])
    assert scoped >= 15  # the commitments, the declaration, the leaders, "the G7" …


def test_the_country_of_a_presidency_is_the_g7_chair_not_a_country_asked_about(fixtures_index):
    question = "Did the leaders follow up on the Canadian presidency's work with social media companies?"
    read = read_(question, fixtures_index.documents())
    assert [(c.value, c.words) for c in read.constraints if c.kind == "country"] == [("G7", "leaders")]

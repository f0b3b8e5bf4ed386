"""Misspelled questions: corrected from the index's own words, the correction shown, the rest as typed."""

from __future__ import annotations

import json

from helpers import kb

from kb.answer.ask import ask

PARA_4 = "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4"


def test_a_misspelled_question_is_answered_as_corrected_and_says_what_it_searched_for(bundled):
    typed = "wich comitments cover onlin platforms"
    answer = ask(bundled, typed)
    assert answer.searched_for == "which commitments cover online platforms"
    assert answer.corrections == (("wich", "which"), ("comitments", "commitments"), ("onlin", "online"))
    assert answer.question == typed
    assert not answer.abstained
    assert answer.passages[0].hit.citation == PARA_4
    assert "cooperation with online platforms" in answer.text


def test_words_that_are_real_names_quoted_or_in_the_documents_stay_as_typed(bundled):
    for question in (
        "Which commitments cover online platforms?",  # every word is the documents' own
        "How much climate finance did the G7 pledge for adaptation?",  # real words the documents lack
        "What did Meloni say about Tunisia?",  # a name and a country
        'Where is "sanctoins" written?',  # quoted: searched as typed
        "What is the IOMM view on returns?",  # an acronym
    ):
        answer = ask(bundled, question)
        assert (answer.searched_for, answer.corrections) == ("", ()), question
    unanswerable = ask(bundled, "How much climate finnance did the G7 pledge for adaptation?")
    assert unanswerable.abstained  # the correction is not a licence to answer


def test_a_capitalised_misspelling_keeps_its_capital_and_the_cli_and_json_show_the_correction(bundled):
    answer = ask(bundled, "Sanctoins against smuggling networks")
    assert answer.corrections == (("Sanctoins", "Sanctions"),)
    assert answer.searched_for == "Sanctions against smuggling networks"
    asked = kb("ask", "wich comitments cover onlin platforms", "--index", str(bundled.dir))
    assert asked.returncode == 0, asked.stderr
    assert "Searched for: which commitments cover online platforms\n" in asked.stdout
    assert "put a word in quotes to search it as typed" in " ".join(asked.stdout.split())
    data = json.loads(kb("ask", "smugling routes", "--json", "--index", str(bundled.dir)).stdout)
    assert data["searched_for"] == "smuggling routes"
    assert data["corrections"] == [{"typed": "smugling", "searched": "smuggling"}]

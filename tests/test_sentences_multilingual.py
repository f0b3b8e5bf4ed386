"""Sentence splitting in the languages of national documents: Punkt's model of each language with
its abbreviations, and a splitter at 。！？ for Japanese and Chinese. Every sentence is quoted
exactly, so each must be an exact substring at its span."""

from __future__ import annotations

import pytest

from kb.text.sentences import sentence_spans, sentences


def spans_are_exact(text: str, language: str) -> list[str]:
    """The sentences, after checking that each span is its text with no surrounding white space."""
    found = []
    for a, b in sentence_spans(text, language):
        piece = text[a:b]
        assert piece and piece == piece.strip(), (language, piece)
        found.append(piece)
    assert found == sentences(text, language)
    return found


def test_japanese_is_split_at_full_stops_with_exact_substrings():
    text = (
        "2025年、警察庁は密航事案を87件摘発した。  うち52人が起訴された。\n"
        "出入国在留管理庁は「偽造旅券対策」を強化した。"
        "なぜ空港が狙われるのか？ 答えは簡単だ！最後の文には句点がない"
    )
    assert spans_are_exact(text, "ja") == [
        "2025年、警察庁は密航事案を87件摘発した。",
        "うち52人が起訴された。",
        "出入国在留管理庁は「偽造旅券対策」を強化した。",
        "なぜ空港が狙われるのか？",
        "答えは簡単だ！",
        "最後の文には句点がない",
    ]


def test_japanese_closing_brackets_stay_with_their_sentence():
    text = "大臣は「対策を強化する。」次に、関係機関が協議した。（詳細は別紙参照。）以上。"
    assert spans_are_exact(text, "ja") == [
        "大臣は「対策を強化する。」",
        "次に、関係機関が協議した。",
        "（詳細は別紙参照。）",
        "以上。",
    ]


def test_chinese_uses_the_same_splitter():
    assert spans_are_exact("七国集团发表宣言。各国将加强合作！", "zh-Hans") == [
        "七国集团发表宣言。",
        "各国将加强合作！",
    ]


def test_german_abbreviations_do_not_end_sentences():
    text = (
        "Die Plattformen melden z. B. Anzeigen für Schleusungen. Nach § 96 Abs. 2 AufenthG und Nr. 5 "
        "der Richtlinie gilt dies auch für Messenger-Dienste, vgl. Art. 3 bzw. Anlage 4. "
        "Das BKA führt d. h. auch Finanzermittlungen, u. a. gem. Nr. 7. Die Länder wirken mit."
    )
    assert spans_are_exact(text, "de") == [
        "Die Plattformen melden z. B. Anzeigen für Schleusungen.",
        "Nach § 96 Abs. 2 AufenthG und Nr. 5 der Richtlinie gilt dies auch für Messenger-Dienste, "
        "vgl. Art. 3 bzw. Anlage 4.",
        "Das BKA führt d. h. auch Finanzermittlungen, u. a. gem. Nr. 7.",
        "Die Länder wirken mit.",
    ]


def test_french_abbreviations_do_not_end_sentences():
    text = (
        "M. Dupont, préfet du Pas-de-Calais, a présenté le plan. Selon l'art. 3 du décret (cf. p. 12), "
        "Mme Martin coordonne les enquêtes. L'OLTIM compte 200 enquêteurs."
    )
    assert spans_are_exact(text, "fr") == [
        "M. Dupont, préfet du Pas-de-Calais, a présenté le plan.",
        "Selon l'art. 3 du décret (cf. p. 12), Mme Martin coordonne les enquêtes.",
        "L'OLTIM compte 200 enquêteurs.",
    ]


def test_italian_abbreviations_do_not_end_sentences():
    text = (
        "Ai sensi dell'art. 12 del d.lgs. n. 286 del 1998 il reato è punito severamente. "
        "Il dott. Rossi ha illustrato la c.d. rotta balcanica, ecc. Le procure hanno aperto 214 fascicoli."
    )
    assert spans_are_exact(text, "it") == [
        "Ai sensi dell'art. 12 del d.lgs. n. 286 del 1998 il reato è punito severamente.",
        "Il dott. Rossi ha illustrato la c.d. rotta balcanica, ecc.",
        "Le procure hanno aperto 214 fascicoli.",
    ]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("es", "El Sr. García citó el art. 318 bis del Código Penal. Luego habló.", 2),
        ("pt-BR", "O Sr. Silva apresentou o art. 5 da lei. Depois saiu.", 2),
        ("nl", "De politie werkt o.a. samen met Europol, bijv. in Rotterdam. Daarna volgt meer.", 2),
    ],
)
def test_other_punkt_languages(language, text, expected):
    assert len(spans_are_exact(text, language)) == expected


def test_english_is_the_default_and_the_fallback():
    text = "Mr. Smith met the U.K. delegation. Then he left."
    expected = ["Mr. Smith met the U.K. delegation.", "Then he left."]
    assert sentences(text) == sentences(text, "en") == sentences(text, "") == expected
    assert sentences(text, "sw") == expected  # no Punkt model for Swahili: the English one

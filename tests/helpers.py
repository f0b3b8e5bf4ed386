"""Small helpers shared by tests: running the real `kb` command, free ports, generated documents."""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def kb(
    *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the installed `kb` command (as a user would) and capture its output."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kb.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TOPICS = [
    "online platforms remove advertisements for smuggling services",
    "financial investigators trace the proceeds of smuggling networks",
    "transport operators check travel documents before boarding",
    "joint investigation teams share evidence across borders",
    "return procedures respect the dignity of the persons concerned",
    "awareness campaigns warn migrants about the risks of irregular journeys",
    "border guards receive training on identifying victims of trafficking",
    "countries of transit cooperate on dismantling criminal networks",
]


def generated_text_document(seed: int, paragraphs: int = 30) -> str:
    """A plain-text test fixture with numbered paragraphs of plausible policy prose."""
    rng = random.Random(seed)
    lines = [f"Test fixture — not an official document: generated report number {seed}", ""]
    for n in range(1, paragraphs + 1):
        sentences = [
            f"In {rng.choice(['2024', '2025', '2026'])} the ministry noted that {rng.choice(_TOPICS)}.",
            f"Measure {seed}.{n} requires that {rng.choice(_TOPICS)} in every region.",
            f"The report recommends that {rng.choice(_TOPICS)}.",
        ]
        lines += [f"{n}. " + " ".join(sentences), ""]
    return "\n".join(lines)


def chroma_written_up_to(chroma_dir: Path) -> dict[str, int]:
    """The last change each of Chroma's segments (METADATA, VECTOR) has written to disk, from its
    own bookkeeping: a new process replays the changes after the VECTOR one from Chroma's log."""
    with sqlite3.connect(chroma_dir / "chroma.sqlite3") as db:
        rows = db.execute("SELECT s.scope, m.seq_id FROM max_seq_id m JOIN segments s ON s.id = m.segment_id")
        return dict(rows.fetchall())

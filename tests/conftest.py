"""Shared fixtures: real indexes built once per session with the real model and Chroma."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from ingest import pipeline  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.index.store import Index  # noqa: E402

# `make test` (and so CI) runs the property tests on the same examples every time, so that main
# passes or fails for its code, not for a draw; plain pytest draws new examples, and keeps what
# fails in .hypothesis/. Longer fuzzing: python -m evals.fuzz.
settings.register_profile("ci", derandomize=True, database=None)

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources"
DECLARATION_ID = "g7-2026-leaders-declaration-migrant-smuggling"


# Debian's Chromium, driven by Playwright (make test installs it; Playwright's own browser build
# would need a download).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's tests (skipped when Chromium or Playwright is missing)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make test installs it)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def settings_for(sources: Path, index: Path, **changes) -> Settings:
    """Settings for a test: its own sources and index directories, nothing from the environment."""
    return Settings(sources_dir=sources, index_dir=index, **changes)


@pytest.fixture(scope="session")
def bundled(tmp_path_factory) -> Index:
    """An index of the bundled sources/ directory."""
    index_dir = tmp_path_factory.mktemp("bundled") / ".kb"
    settings = settings_for(SOURCES, index_dir)
    summary = pipeline.run(settings, progress=False)
    assert summary.exit_code == 0, summary.to_dict()
    return Index(settings)


@pytest.fixture
def workspace(tmp_path) -> tuple[Path, Settings]:
    """An empty sources directory and index for one test."""
    sources = tmp_path / "sources"
    sources.mkdir()
    return sources, settings_for(sources, tmp_path / ".kb")


def copy_declaration(sources: Path) -> None:
    """Put the bundled declaration and its manifest entry into a test sources directory."""
    shutil.copy(SOURCES / f"{DECLARATION_ID}.md", sources)
    (sources / "sources.toml").write_text(
        (SOURCES / "sources.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )


CORPUS = ROOT / "evals" / "corpus"


def merge_sources(target: Path, *folders: Path) -> Path:
    """One sources directory holding the files of several, with their manifests concatenated."""
    target.mkdir(parents=True, exist_ok=True)
    manifests = []
    for folder in folders:
        for path in folder.iterdir():
            if path.name == "sources.toml":
                manifests.append(path.read_text(encoding="utf-8"))
            elif path.is_file():
                shutil.copy(path, target / path.name)
    (target / "sources.toml").write_text("\n".join(manifests), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def fixtures_index(tmp_path_factory) -> Index:
    """An index of the bundled declaration and the labelled test fixtures of evals/corpus."""
    root = tmp_path_factory.mktemp("fixtures")
    settings = settings_for(merge_sources(root / "sources", SOURCES, CORPUS), root / ".kb")
    summary = pipeline.run(settings, progress=False)
    assert summary.exit_code == 0, summary.to_dict()
    return Index(settings)

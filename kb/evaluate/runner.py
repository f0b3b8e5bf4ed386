"""Ask a suite's questions under each (configuration, retrieval mode) and keep what came back.

Every configuration's index is built and every judgment resolved against it before the first
question is asked, so a suite that does not match the index fails before anything is scored.
Suites go through `kb.answer.ask` (what the CLI and the app call, with its abstention);
BEIR datasets through `kb.search.retrieve.search` with one passage per document and no scoping to
documents a question names, as in the published BEIR evaluation (retrieval only: no abstention).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from kb.api import AskRequest, Library
from kb.config import Settings
from kb.evaluate.checks import CheckResult, run_check
from kb.evaluate.corpus import Config, index_for
from kb.evaluate.suite import hit_unit, resolve
from kb.evaluate.types import Judged, Query, Suite
from kb.types import Hit


@dataclass(frozen=True)
class Ranked:
    """One question in one run: the passages returned, the unit each counts as, and the evidence."""

    query_id: str
    hits: tuple[Hit, ...]
    units: tuple[str | None, ...]  # None for a repeat of a unit already ranked higher
    evidence: (
        float | None
    )  # Answer.evidence: what ask() compares with RankingSettings.abstain_below (None for BEIR)
    abstained: bool | None  # whether ask() abstains at the current threshold (None for BEIR)
    seconds: float

    def ranking(self) -> list[str]:
        """The units in rank order, each once: what the metrics score."""
        return [u for u in self.units if u is not None]

    def first_relevant(self, relevant: dict[str, int]) -> int | None:
        """The rank (as the user sees it) of the first passage that counts as relevant, or None."""
        return next((h.rank for h, u in zip(self.hits, self.units) if u in relevant), None)


@dataclass
class RunResult:
    """All questions and checks of a suite under one configuration and mode."""

    name: str  # the mode, or "config/mode" for configurations other than the default
    config: str
    mode: str
    ranked: dict[str, Ranked] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)


@dataclass(frozen=True)
class ConfigInfo:
    """A configuration as the report records it."""

    name: str
    model: str
    changes: dict
    index_dir: str
    documents: int
    passages: int
    not_indexed: tuple[str, ...]
    ingest_seconds: float


@dataclass
class Results:
    """Everything a report needs."""

    suite: Suite
    k: int
    modes: tuple[str, ...]
    configs: list[ConfigInfo]
    qrels: dict[str, dict[str, int]]
    runs: list[RunResult]
    abstain_below: float
    environment: dict
    seconds: float = 0.0
    passage_languages: dict[str, str] = field(default_factory=dict)  # query id → Judged.languages


def run_name(config: str, mode: str) -> str:
    """How a run is named in reports and in `--min RUN:METRIC=VALUE`."""
    return mode if config == "default" else f"{config}/{mode}"


def run_suite(
    suite: Suite,
    configs: list[Config],
    modes: tuple[str, ...],
    base: Settings,
    cache: Path,
    k: int | None = None,
    progress: bool = False,
) -> Results:
    """Index the suite's corpus under each configuration, then ask every question in every mode."""
    started = time.perf_counter()
    k = k or suite.k
    prepared: list[tuple[Config, Library, Judged]] = []
    infos: list[ConfigInfo] = []
    for config in configs:
        library, summary = index_for(suite.corpus, config.settings(base), cache, progress)
        prepared.append((config, library, resolve(suite, library)))
        infos.append(
            ConfigInfo(
                config.name,
                library.settings.model_id,
                dict(config.changes),
                str(library.settings.index_dir),
                len(library.records()),
                library.count(),
                tuple(f"{o.file or o.doc_id}: {o.reason}" for o in summary.failed),
                round(summary.seconds, 1),
            )
        )
    qrels: dict[str, dict[str, int]] = {}
    for _, _, judged in prepared:
        for qid, units in judged.qrels.items():
            mine = qrels.setdefault(qid, {})
            for unit, grade in units.items():
                mine[unit] = max(mine.get(unit, 0), grade)
    runs = []
    for config, library, judged in prepared:
        for mode in modes:
            run = RunResult(run_name(config.name, mode), config.name, mode)
            total = len(suite.queries) + len(suite.checks)
            with tqdm(
                total=total, desc=run.name, unit="q", disable=not progress, file=sys.stderr, leave=False
            ) as bar:
                for q in suite.queries:
                    run.ranked[q.id] = ask_one(library, suite, judged, q, mode, k)
                    bar.update(1)
                for c in suite.checks:
                    run.checks.append(run_check(library, c, judged, mode, k))
                    bar.update(1)
            runs.append(run)
    for _, library, _ in prepared:
        library.close()
    return Results(
        suite,
        k,
        tuple(modes),
        infos,
        qrels,
        runs,
        base.ranking.abstain_below,
        environment(),
        round(time.perf_counter() - started, 1),
        prepared[0][2].languages if prepared else {},  # every configuration indexes the same documents
    )


def ask_one(library: Library, suite: Suite, judged: Judged, q: Query, mode: str, k: int) -> Ranked:
    """Retrieve for one question and map each passage to the unit it counts as."""
    t0 = time.perf_counter()
    if suite.unit == "document":
        request = AskRequest(q.question, mode, k, q.filters, answer=False, per_doc=1, scope=False)
        hits = library.search(request)
        evidence, abstained = None, None  # BEIR measures retrieval only
    else:
        result = library.answer(AskRequest(q.question, mode, k, q.filters, answer=False))
        hits, evidence, abstained = (
            [c.hit for c in result.passages],
            float(result.evidence),
            bool(result.abstained),
        )
    seen: set[str] = set()
    units: list[str | None] = []
    for h in hits:
        unit = hit_unit(suite, judged, q.id, h)
        units.append(None if unit in seen else unit)
        seen.add(unit)
    return Ranked(q.id, tuple(hits), tuple(units), evidence, abstained, time.perf_counter() - t0)


def environment() -> dict:
    """Where and when the evaluation ran: git commit, date, machine."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else False
    import torch

    return {
        "git_commit": (commit + (" (with uncommitted changes)" if dirty else ""))
        or "none (not a git checkout, or no commit yet)",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)",
        "python": platform.python_version(),
    }

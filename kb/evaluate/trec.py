"""TREC run and qrels files, for other tools (trec_eval, ir_measures, ranx), and their names."""

from __future__ import annotations

from kb.evaluate.runner import Ranked

QRELS_FILE = "qrels.trec"


def run_file_name(name: str) -> str:
    return name.replace("/", "__")


def trec_qrels(qrels: dict[str, dict[str, int]]) -> str:
    """Qrels in TREC format: `query 0 unit grade`."""
    return "".join(
        f"{qid} 0 {unit} {grade}\n" for qid, units in qrels.items() for unit, grade in units.items()
    )


def trec_run(name: str, ranked: dict[str, Ranked]) -> str:
    """A run in TREC format: `query Q0 unit rank score tag`, each unit once, score 1/rank."""
    lines = []
    for qid, x in ranked.items():
        for rank, unit in enumerate(x.ranking(), start=1):
            lines.append(f"{qid} Q0 {unit} {rank} {1.0 / rank:.8f} {run_file_name(name)}\n")
    return "".join(lines)

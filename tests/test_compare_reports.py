"""evals.compare_reports on the committed reference reports: a report against itself, and two suites' reports refused."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT

from evals import compare_reports

REPORTS = ROOT / "evals" / "reports"


def test_a_report_against_itself_has_equal_means_and_p_one(capsys):
    assert (
        compare_reports.main(
            [str(REPORTS / "g7-smuggling"), str(REPORTS / "g7-smuggling"), "--runs", "hybrid"]
        )
        == 0
    )
    row = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("hybrid"))
    assert row.count("(p 1.000)") == 3
    recall = json.loads((REPORTS / "g7-smuggling" / "report.json").read_text())["runs"]["hybrid"]["metrics"]
    figure = f"{recall['recall@5']:.3f}"
    assert f"{figure} → {figure}" in row  # the reference report's hybrid Recall@5, on both sides


def test_reports_of_two_suites_are_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        compare_reports.main([str(REPORTS / "g7-smuggling"), str(REPORTS / "multilingual")])
    assert stop.value.code == 2
    assert "not the same suite version" in capsys.readouterr().err

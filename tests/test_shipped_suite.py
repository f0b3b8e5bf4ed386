"""The shipped suite's floors, checked on every `make test`: `kb eval` on the main suite, hybrid,
exits 1 when recall@5 or nDCG@10 falls below the floors the Makefile states (EVAL_FLOORS, the
measured values of evals/reports/g7-smuggling minus a small margin). Run among the other tests, not
after them, so that it shares the machine with them instead of adding its minute at the end."""

from __future__ import annotations

import re
import shlex

import pytest
from helpers import ROOT, kb


def floors() -> list[str]:
    """The `--min RUN:METRIC=VALUE` options of the Makefile's EVAL_FLOORS."""
    found = re.search(r"^EVAL_FLOORS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "the Makefile states no EVAL_FLOORS"
    return shlex.split(found.group(1))


@pytest.mark.slow
def test_the_shipped_suite_meets_its_floors(tmp_path):
    options = floors()
    assert options.count("--min") >= 2 and "hybrid:ndcg@10=0.91" in options
    result = kb(
        "eval", "evals/suites/g7-smuggling.yaml", "--mode", "hybrid", "--out", str(tmp_path), "-q", *options
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "floor missed" not in result.stderr and (tmp_path / "report.md").exists()

"""Reliability scenarios that exercise the real `kb` command, Chroma and the app: SIGKILL during
ingest (`python -m evals.reliability.crash`) and many clients at once, with a Chroma server
restarted in the middle (`python -m evals.reliability.load`). tests/test_crash.py and
tests/test_load.py run short versions of the same scenarios in CI."""

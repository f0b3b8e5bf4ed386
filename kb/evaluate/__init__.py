"""Retrieval evaluation: suites of judged questions (or BEIR datasets) in, IR metrics and a report out.

suite.py reads and validates suite files; beir.py reads BEIR datasets; corpus.py builds the
cached index a suite searches; runner.py asks the questions; checks.py runs the behavioural
checks; metrics.py scores with ranx; report.py writes report.md, report.json, TREC files and
the chart.
"""

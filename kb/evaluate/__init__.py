"""Retrieval evaluation: suites of judged questions (or BEIR datasets) in, IR metrics and a report out.

types.py is the plain data of a suite; suite.py loads suite files (validate.py checks their
parts) and resolves their judgments against an index; beir.py reads BEIR datasets; corpus.py
builds the cached index a suite searches; runner.py asks the questions; checks.py runs the
behavioural checks; metrics.py scores with ranx; report.py makes the report and writes it with
report.md (markdown.py), the TREC files (trec.py) and the chart (chart.py).
"""

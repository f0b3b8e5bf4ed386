"""`kb bench`: how fast ingest and queries are, against the hardware's ceiling and a naive
llama-index baseline, on corpora of increasing size.

corpus.py builds the corpora (real UN statements, synthetic beyond them) and their questions;
runner.py measures each size in child processes (measures.py, workers.py); baseline.py is the
llama-index baseline; quality.py scores both on the shipped suite; scans.py makes the scanned PDF whose
ingest through OCR is measured once; machine.py says what it ran on; report.py writes the JSON
and the table.
"""

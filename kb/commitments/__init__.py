"""The commitment tracker: G7 commitments extracted, tagged, traced across summits and linked to
national evidence of their implementation.

Modules: rules.py (rules.toml), topics.py (topics.toml), extract.py, lineage.py, evidence.py,
compliance.py (sources/compliance.toml), matrix.py, store.py (results kept with the index),
evaluate.py (against evals/commitments/gold.yaml), types.py (the plain data).
"""

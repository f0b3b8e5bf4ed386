# Two commands on a fresh machine:
#   make run    install what is needed, index the bundled sources, start the app
#   make test   install what is needed (test extras, Chromium), then lint and run the tests
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What running needs (make run), and beside it the test extras (make test).
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# Installed last of Tesseract's language packs: stands for Tesseract and all of them.
TESSERACT := /usr/share/tesseract-ocr/5/tessdata/jpn.traineddata
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test test-fast install lint audit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# CPU torch first: an unpinned torch would pull a multi-GB CUDA build. pip shows what it fetches:
# the first `make run` downloads about 1 GB and takes minutes.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing what the app needs into $(VENV)/ (the first time takes a few minutes)…"
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	$(BIN)/python -m pip install --progress-bar on torch==2.13.0
	$(BIN)/python -m pip install --progress-bar on -e .
	touch $@

# While the test extras install, ranx's metrics are compiled (numba) into kb eval's cache, once:
# the test workers would each compile them at the same time otherwise (57 s of one core each, cold).
# Should that fail, the workers compile them as before.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m kb.evaluate.metrics & warming=$$!; \
		$(BIN)/python -m pip install -q -e '.[test]' && { wait $$warming || echo "(ranx not compiled ahead)"; }
	touch $@

install: $(STAMP)

run: $(STAMP) $(TESSERACT)
	$(BIN)/kb serve --ingest

# Tesseract OCR and its language packs read scanned PDF pages (ingest/ocr.py).
$(TESSERACT):
	@command -v apt-get >/dev/null || { echo "Install Tesseract OCR (Debian packages tesseract-ocr, tesseract-ocr-fra, -deu, -ita, -jpn) to read scanned PDFs"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr \
		tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-deu tesseract-ocr-ita tesseract-ocr-jpn >/dev/null

/usr/bin/chromium:
	@command -v apt-get >/dev/null || { echo "Install Chromium (Debian package 'chromium') for the browser tests"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

lint: $(TEST_STAMP)
	$(BIN)/ruff check kb ingest app.py tests evals tools
	$(BIN)/ruff format --check kb ingest app.py tests evals tools

# The shipped suite's floors: the measured values (evals/reports/g7-smuggling) minus a small margin
# (kb eval evals/suites/g7-smuggling.yaml --mode hybrid $(EVAL_FLOORS), run by tests/test_shipped_suite.py).
EVAL_FLOORS := --min hybrid:recall@5=0.88 --min hybrid:ndcg@10=0.91

# Known vulnerabilities in the installed dependencies; accepted ones are listed in
# docs/pip-audit-accepted.txt. Prints a notice, without failing, when the service is unreachable.
audit: $(TEST_STAMP)
	$(BIN)/python tools/audit.py

# The shipped suite's floors (EVAL_FLOORS) are checked by tests/test_shipped_suite.py, among the tests.
test: $(TEST_STAMP) /usr/bin/chromium $(TESSERACT) lint audit
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations 40 --hypothesis-profile=ci

# The inner loop: lint and every test but the browser's and the long end-to-end runs (-m slow),
# stopping at the first failure; `make test` runs them all.
test-fast: $(TEST_STAMP) $(TESSERACT) lint
	$(BIN)/python -m pytest -q -x -n auto --maxprocesses 4 --dist loadfile -m "not slow and not browser" --hypothesis-profile=ci

bench: $(STAMP)
	$(BIN)/kb bench

clean:
	rm -rf .kb build *.egg-info

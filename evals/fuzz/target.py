"""One reader under atheris; started by `python -m evals.fuzz` with libFuzzer's options.

    python -m evals.fuzz.target READER [-max_total_time=S -timeout=T ...] CORPUS_DIR [SEED_DIR]

Each input is written to a file with the reader's suffix and read with `ingest.parse.parse`; an
exception or a broken contract (see `broken_contract`) is a crash, and libFuzzer saves the input.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

# Instrumented for coverage feedback: our readers and the pure-Python libraries under them.
with atheris.instrument_imports(include=["ingest", "pypdf", "bs4", "docx", "markdown_it"]):
    import ingest.docx
    import ingest.html
    import ingest.markdown
    import ingest.pdf
    import ingest.text  # noqa: F401
    from ingest.parse import parse

from evals.fuzz import SUFFIXES, broken_contract, docx_file, docx_template  # noqa: E402


def main(argv: list[str]) -> None:
    reader = argv[1]
    template = docx_template() if reader == "docx" else b""
    shm = Path("/dev/shm")
    directory = Path(tempfile.mkdtemp(prefix="kb-fuzz-", dir=shm if shm.is_dir() else None))
    path = directory / f"input{SUFFIXES[reader]}"

    def one_input(data: bytes) -> None:
        path.write_bytes(docx_file(data, template) if reader == "docx" else data)
        problem = broken_contract(parse(str(path)))
        if problem:
            raise AssertionError(problem)

    atheris.Setup([argv[0], *argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)

"""Is an index brought up to date by `kb ingest` always the index a rebuild would give? A seeded
random walk of what users do to a sources folder, each step followed by `kb ingest` and compared
with a fresh build of the same sources.

    python -m evals.reliability.incremental --steps 80 --seed 1 [--out report.md]

The folder starts with the bundled G7 declaration (listed in sources.toml) and national reports
(test fixtures of evals/corpus and evals/corpus-multilingual: English, German, French, Italian,
Japanese; Markdown, text, Word and HTML). Each step does one of what analysts do: add a report,
change one (a new figure, a new paragraph), remove, rename, move it into a subfolder, touch it
without changing it, copy it under another name, list an unlisted file in sources.toml or unlist a
listed one, retitle an entry, empty a file, overwrite it with bytes no reader accepts, restore
it, exclude a subfolder or include it again, or kill an ingest midway (SIGKILL, its readers too)
before the step's own ingest. After every step:

- the index equals a fresh build of the same sources: passage ids, texts, provenance and vectors,
  registry rows (documents, metadata, fingerprints) and the files it could not read, the BM25
  snapshot holding exactly the stored passages, nothing left beside the generation in service;
- `kb search`'s hits for a few questions are the same passages with the same scores, in the same
  order (an index with no documents answers with the same clear error);
- the run reported what changed against the index in service when it began (added, updated,
  unchanged, removed), the same failed files as the fresh build, with the same exit code;
- a second run right after it changes nothing: nothing read or embedded, the same generation in
  service (a file that keeps failing does not rewrite the index on every run).

Every divergence found this way became a named test in tests/test_daily_loop.py.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from evals.reliability import crash

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "Which commitments cover online platforms?",
    "How many smuggling advertisements were removed?",
    "Rückführungen und Schleusernetzwerke",
    "financial investigators trace the proceeds",
]
# The reports the walk adds and changes: (file in the repository, its text's language).
REPORTS = [
    "evals/corpus/fixture-ita-2026-implementation-report.md",
    "evals/corpus/fixture-jpn-2026-countermeasures-report.txt",
    "evals/corpus/fixture-usa-2026-interagency-report.txt",
    "evals/corpus-multilingual/fixture-deu-2026-bericht-schleusungskriminalitaet.md",
    "evals/corpus-multilingual/fixture-fra-2026-rapport-mise-en-oeuvre.md",
]
DECLARATION = "g7-2026-leaders-declaration-migrant-smuggling.md"
LISTED_HEADER = (
    "# Test fixture manifest for evals/reliability/incremental.py: the bundled declaration's entry "
    "and entries the walk adds.\n"
)
ACTIONS = {  # weights: the common ones more often
    "add": 4,
    "change": 4,
    "remove": 2,
    "rename": 1,
    "move": 1,
    "touch": 1,
    "copy": 1,
    "list": 1,
    "unlist": 1,
    "retitle": 1,
    "empty": 1,
    "break": 1,
    "restore": 1,
    "exclude": 1,
    "kill": 1,
}


@dataclass
class Folder:
    """The sources folder the walk changes, and the manifest entries it wrote."""

    dir: Path
    rng: random.Random
    entries: dict[str, str] = field(default_factory=dict)  # file (relative) → its [[document]] entry
    excluded: bool = False
    broken: dict[str, bytes] = field(default_factory=dict)  # file → the bytes it had before it broke
    edits: int = 0

    def files(self) -> list[str]:
        return sorted(
            p.relative_to(self.dir).as_posix()
            for p in self.dir.rglob("*")
            if p.is_file() and p.name != "sources.toml"
        )

    def write_manifest(self) -> None:
        declaration = (ROOT / "sources" / "sources.toml").read_text(encoding="utf-8")
        exclude = 'exclude = ["drafts/*"]\n\n' if self.excluded else ""
        (self.dir / "sources.toml").write_text(
            exclude + LISTED_HEADER + declaration + "\n" + "\n".join(self.entries.values()), encoding="utf-8"
        )

    def apply(self, action: str) -> str:
        """Do one action; what was done, for the log ("" when the action had nothing to act on)."""
        rng, present = self.rng, self.files()
        absent = [
            r for r in REPORTS + _generated_names() if Path(r).name not in {Path(p).name for p in present}
        ]
        readable = [p for p in present if p not in self.broken]
        if action == "add" and absent:
            name = rng.choice(absent)
            target = self.dir / Path(name).name
            if name in REPORTS:
                shutil.copy(ROOT / name, target)
            else:
                target.write_bytes(_generated(name, 0))
            return f"add {target.name}"
        if action == "change" and readable:
            name = rng.choice(readable)
            self.edits += 1
            path = self.dir / name
            if path.suffix in (".docx", ".html"):
                path.write_bytes(_generated(path.name, self.edits))
            else:
                text = path.read_text(encoding="utf-8")
                edit = rng.choice(["figure", "paragraph"])
                if edit == "figure" and any(c.isdigit() for c in text):
                    text = _changed_figure(text, rng)
                else:
                    text += f"\n\nTest fixture addition {self.edits}: {rng.choice(crash._TOPICS)}.\n"
                path.write_text(text, encoding="utf-8")
            return f"change {name}"
        if action == "remove" and present:
            name = rng.choice(present)
            (self.dir / name).unlink()
            self.broken.pop(name, None)
            return f"remove {name}"
        if action in ("rename", "move", "copy") and readable:
            name = rng.choice(readable)
            path = self.dir / name
            if action == "move":
                folder = rng.choice(["national", "drafts"])
                target = self.dir / folder / path.name
            else:
                target = path.with_name(f"{'copy-of-' if action == 'copy' else 'renamed-'}{path.name}")
            if target.exists():
                return ""
            target.parent.mkdir(exist_ok=True)
            (shutil.copy if action == "copy" else shutil.move)(path, target)
            self._follow(name, target.relative_to(self.dir).as_posix(), keep=action == "copy")
            return f"{action} {name} -> {target.relative_to(self.dir).as_posix()}"
        if action == "touch" and present:
            name = rng.choice(present)
            os.utime(self.dir / name)
            return f"touch {name}"
        if action == "list":
            unlisted = [p for p in present if p not in self.entries and p != DECLARATION]
            if unlisted:
                name = rng.choice(unlisted)
                self.entries[name] = _entry(name, f"Test fixture — listed report {self.edits}")
                self.write_manifest()
                return f"list {name}"
        if action == "unlist" and self.entries:
            name = rng.choice(sorted(self.entries))
            del self.entries[name]
            self.write_manifest()
            return f"unlist {name}"
        if action == "retitle" and self.entries:
            name = rng.choice(sorted(self.entries))
            self.edits += 1
            self.entries[name] = _entry(name, f"Test fixture — retitled report {self.edits}")
            self.write_manifest()
            return f"retitle {name}"
        if action in ("empty", "break") and readable:
            name = rng.choice(readable)
            path = self.dir / name
            self.broken[name] = path.read_bytes()
            path.write_bytes(b"" if action == "empty" else b"\x00\xff\x13 not a readable file \x00" * 8)
            return f"{action} {name}"
        if action == "restore" and self.broken:
            name = rng.choice(sorted(self.broken))
            (self.dir / name).write_bytes(self.broken.pop(name))
            return f"restore {name}"
        if action == "exclude":
            self.excluded = not self.excluded
            self.write_manifest()
            return "exclude drafts/" if self.excluded else "include drafts/ again"
        return ""

    def _follow(self, old: str, new: str, keep: bool) -> None:
        """A listed file renamed keeps its entry under its new name (as a user would edit it) half
        the time; otherwise the entry names a missing file."""
        if old in self.broken:
            self.broken[new] = self.broken[old] if keep else self.broken.pop(old)
        if old in self.entries and not keep and self.rng.random() < 0.5:
            self.entries[new] = _entry(new, f"Test fixture — moved report {self.edits}")
            del self.entries[old]
            self.write_manifest()


def _entry(file: str, title: str) -> str:
    doc_id = "listed-" + Path(file).stem.lower().replace("_", "-")[:40]
    return (
        f'[[document]]\nid = "{doc_id}"\ntitle = "{title}"\nissuer = "Test fixture issuer"\n'
        f'country = "ITA"\ndate = "2026-03-01"\ntype = "national-report"\nfile = "{file}"\n'
    )


def _generated_names() -> list[str]:
    return ["fixture-generated-report.docx", "fixture-generated-report.html", "fixture-generated-note.txt"]


def _generated(name: str, version: int) -> bytes:
    """A small test-fixture document of the format its name says, at a version."""
    rng = random.Random(zlib.crc32(name.encode()) + version)
    paragraphs = [
        f"Paragraph {n}, version {version}: {rng.choice(crash._TOPICS)}; {rng.randint(10, 9999)} cases in 2026."
        for n in range(1, 4 + version % 3)
    ]
    title = f"Test fixture — not an official document: {Path(name).stem} v{version}"
    if name.endswith(".docx"):
        import io

        from docx import Document

        doc = Document()
        doc.add_heading(title, level=1)
        for text in paragraphs:
            doc.add_paragraph(text)
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()
    if name.endswith(".html"):
        body = "".join(f"<p>{t}</p>" for t in paragraphs)
        return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>".encode()
    return "\n\n".join([title, *paragraphs]).encode() + b"\n"


def _changed_figure(text: str, rng: random.Random) -> str:
    import re

    figures = list(re.finditer(r"\d[\d,]*", text))
    m = rng.choice(figures)
    return text[: m.start()] + f"{rng.randint(2, 9999):,}" + text[m.end() :]


# --- comparing --------------------------------------------------------------------------------------


def hits(settings, question: str) -> list[tuple[str, float]] | str:
    """`kb search`'s passages for a question (id, score), or its error message."""
    from kb.api import AskRequest, Library
    from kb.errors import KBError

    library = Library(settings)
    try:
        return [(h.passage.id, round(h.score, 4)) for h in library.search(AskRequest(question, k=8))]
    except KBError as error:
        return str(error).replace(str(settings.index_dir), "INDEX")
    finally:
        if library._index is not None:
            library._index.close()


def differences(settings, clean, ran, fresh, before: dict[str, str]) -> list[str]:
    """Where the updated index (and what its run reported) differs from a fresh build."""
    problems = crash.compare_with_clean(settings, clean)
    problems += [
        f"fresh build: {p}" for p in crash.compare_with_clean(clean, clean) if "left beside" not in p
    ]
    got, want = _failures(settings), _failures(clean)
    if got != want:
        problems.append(f"files it could not read: {got} vs a fresh build's {want}")
    for q in QUESTIONS:
        a, b = hits(settings, q), hits(clean, q)
        if a != b:
            problems.append(f"kb search {q!r}: {a} vs a fresh build's {b}")
    failed, fresh_failed = {o.doc_id for o in ran.failed}, {o.doc_id for o in fresh.failed}
    if failed != fresh_failed or ran.exit_code != fresh.exit_code:
        problems.append(f"failed {sorted(failed)} (exit {ran.exit_code}) vs {sorted(fresh_failed)}")
    after = _records(settings)
    expected = {
        **{
            d: ("added" if d not in before else "unchanged" if before[d] == fp else "updated")
            for d, fp in after.items()
        },
        **{d: "removed" for d in before if d not in after and d not in failed},
    }
    reported = {o.doc_id: o.status for o in ran.outcomes if o.status != "failed"}
    if reported != expected:
        wrong = {
            d: (reported.get(d), expected.get(d))
            for d in set(reported) | set(expected)
            if reported.get(d) != expected.get(d)
        }
        problems.append(f"reported (got, expected): {wrong}")
    return problems


def _records(settings) -> dict[str, str]:
    index = crash.open_index(settings)
    try:
        return {doc_id: r.fingerprint for doc_id, r in index.records().items()}
    finally:
        index.close()


def _failures(settings) -> dict[str, str]:
    index = crash.open_index(settings)
    try:
        return {doc_id: fp for doc_id, (fp, _) in index.failures().items()}
    finally:
        index.close()


def _in_service(settings) -> tuple[str, dict[str, str], dict[str, str]]:
    """The generation in service, its documents' fingerprints and its failures ({} before the first
    build)."""
    from kb.errors import IndexMissingError
    from kb.index import generations

    live = generations.current(settings.index_dir).name
    try:
        return live, _records(settings), _failures(settings)
    except IndexMissingError:
        return live, {}, {}


def kill_an_ingest(settings, rng: random.Random, log: Path) -> str:
    """Start `kb ingest` and SIGKILL it (with its readers) as a power cut would: before it wrote
    anything, or after its first or second write to the registry of the generation it changes."""
    from kb.index import generations

    live = generations.current(settings.index_dir)
    watched = crash.written_generation(settings.index_dir, rebuild=False)
    trigger = rng.choice([("write", 0.0), ("write", 1.0), ("pending", 0.0), ("delay", rng.uniform(0.5, 2.0))])
    run = crash.Launcher(fresh=True, log=log).start(
        ["ingest", "-q", "--index", str(settings.index_dir), "--sources", str(settings.sources_dir)]
    )
    killed, seconds = crash.kill_at(run, trigger, watched, crash.registry_state(live)[0], rng)
    where = f"{trigger[0]} {trigger[1]:.0f}" if trigger[0] != "delay" else f"{trigger[1]:.1f} s"
    return f"killed ({where}) after {seconds:.1f} s" if killed else f"not killed: finished before {where}"


# --- the walk ---------------------------------------------------------------------------------------


@dataclass
class Step:
    number: int
    did: str
    problems: list[str]
    seconds: float


@dataclass
class Report:
    seed: int
    steps: list[Step]
    ingests: int

    @property
    def problems(self) -> list[str]:
        return [f"step {s.number} ({s.did}): {p}" for s in self.steps for p in s.problems]

    def markdown(self) -> str:
        lines = [
            f"# Incremental ingest against a fresh build: seed {self.seed}",
            "",
            f"{len(self.steps)} steps, {self.ingests} ingests, {len(self.problems)} divergences.",
            "",
            "| step | what the user did | divergences | s |",
            "|---:|---|---:|---:|",
        ]
        lines += [f"| {s.number} | {s.did} | {len(s.problems)} | {s.seconds:.1f} |" for s in self.steps]
        lines += ["", *[f"- {p}" for p in self.problems]]
        return "\n".join(lines) + "\n"


def walk(
    root: Path, steps: int, seed: int, log=print, every_action: bool = False, stop: bool = False
) -> Report:
    """Run the walk in `root` (a new, empty folder); every divergence is in the report.
    `every_action`: the steps take each action in turn (in a shuffled order) instead of drawing them;
    `stop`: stop at the first divergence, keeping that step's fresh build (root/fresh-N) to compare."""
    from ingest import pipeline
    from kb.config import Settings
    from kb.index import generations

    rng = random.Random(seed)
    folder = Folder(root / "sources", rng)
    folder.dir.mkdir(parents=True)
    shutil.copy(ROOT / "sources" / DECLARATION, folder.dir)
    shutil.copy(ROOT / REPORTS[0], folder.dir)
    folder.write_manifest()
    settings = Settings(sources_dir=folder.dir, index_dir=root / ".kb")
    report = Report(seed, [], 0)
    pipeline.run(settings, progress=False)
    report.ingests += 1
    actions, weights = zip(*ACTIONS.items(), strict=True)
    order = rng.sample(actions, len(actions))
    for number in range(1, steps + 1):
        started = time.perf_counter()
        action = order[(number - 1) % len(order)] if every_action else rng.choices(actions, weights)[0]
        if action == "kill":
            changes = [folder.apply(a) for a in ("add", "change", "remove", "add")]
            did = (
                f"{', '.join(c for c in changes if c)}, {kill_an_ingest(settings, rng, root / 'killed.log')}"
            )
            report.ingests += 1
        else:
            did = folder.apply(action)
            for _ in range(20):  # nothing to act on (no entry to unlist, no broken file to restore)
                if did:
                    break
                did = folder.apply(rng.choices(actions[:-1], weights[:-1])[0])
        live, before, failures_before = _in_service(settings)
        ran = pipeline.run(settings, progress=False)
        clean = Settings(sources_dir=folder.dir, index_dir=root / f"fresh-{number}")
        fresh = pipeline.run(clean, progress=False)
        in_service = generations.current(settings.index_dir).name
        again = pipeline.run(settings, progress=False)
        report.ingests += 3
        problems = differences(settings, clean, ran, fresh, before)
        if (
            again.changed
            or again.passages_embedded
            or generations.current(settings.index_dir).name != in_service
        ):
            problems.append(
                "a second run changed the index: "
                f"{[(o.doc_id, o.status) for o in again.outcomes if o.status not in ('unchanged', 'failed')]}, "
                f"{again.passages_embedded} passages embedded"
            )
        if (before, failures_before) == (_records(settings), _failures(settings)) and live != in_service:
            problems.append("a run that changed nothing put a new generation in service")
        step = Step(number, did, problems, time.perf_counter() - started)
        report.steps.append(step)
        log(f"step {number:3d} {did:<70} {'ok' if not problems else '; '.join(problems)}")
        if problems and stop:
            break
        shutil.rmtree(clean.index_dir)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.reliability.incremental",
        description="Random sequences of what users do to sources/, each followed by `kb ingest` and "
        "compared with a fresh build of the same sources. Exit 1 when any step diverged.",
    )
    parser.add_argument("--steps", type=int, default=80, help="steps of the walk (default 80)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the walk (default 1)")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a new temporary folder)")
    parser.add_argument("--out", type=Path, help="also write the report as Markdown to this file")
    parser.add_argument(
        "--stop",
        action="store_true",
        help="stop at the first divergence and keep both indexes (needs --workdir)",
    )
    args = parser.parse_args(argv)
    import tempfile

    root = args.workdir or Path(tempfile.mkdtemp(prefix="kb-walk-"))
    report = walk(root, args.steps, args.seed, stop=args.stop)
    text = report.markdown()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    seconds = sum(s.seconds for s in report.steps)
    print(
        f"{len(report.steps)} steps, {report.ingests} ingests in {seconds:.0f} s, seed {args.seed}: "
        f"{len(report.problems)} divergences"
    )
    for problem in report.problems:
        print(f"  {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())

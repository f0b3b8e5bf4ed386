"""The measurements that run in a child process of their own, one process per task and size, so
that each peak RSS belongs to one job and no size inherits another's caches or loaded model.

`python -m kb.bench.workers TASK 'JSON-ARGS' RESULT.json` runs one task and writes its result
(with the process's peak RSS) to RESULT.json; progress goes to stderr. kb/bench/runner.py starts
these; they are not a user interface.
"""

from __future__ import annotations

import cProfile
import importlib
import io
import json
import os
import pstats
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

import kb  # noqa: F401  (offline environment first)
from ingest.passages import lead_ins
from kb.config import Settings
from kb.types import Document, Passage

MODES = ("dense", "bm25", "hybrid", "answer")  # "answer": kb.answer.ask, hybrid + sentence highlights
WARMUP = 5
K = 5

# Functions whose cumulative time a profile reports as a phase (file suffix, function name).
INGEST_PHASES = {
    "model load": ("kb/models/embed.py", "_onnx"),
    "fingerprints": ("ingest/pipeline.py", "fingerprint"),
    "waiting for the reader process (parse)": ("ingest/readers.py", "parsed"),
    "passages (sentences, tokens)": ("ingest/passages.py", "make_passages"),
    # The model embeds in a background thread, which the profile does not see: this is the main
    # thread waiting for each batch's vectors, then storing it (the next row is the storing part).
    "embedding thread wait, then storing": ("ingest/pipeline.py", "store"),
    "Chroma upserts": ("kb/index/store.py", "write"),
    "registry rows": ("kb/index/registry.py", "record"),
    "BM25 snapshot rebuild": ("ingest/pipeline.py", "rebuild_lexical"),
    "commitments refresh": ("kb/commitments/store.py", "refresh"),
    "total (pipeline.run)": ("ingest/pipeline.py", "run"),
}
QUERY_PHASES = {
    "question embedding": ("kb/models/embed.py", "encode"),
    "index.refresh": ("kb/index/store.py", "refresh"),
    "registry records": ("kb/index/registry.py", "records"),
    "reading the question": ("kb/search/reading.py", "read"),
    "BM25 snapshot load": ("kb/index/lexical.py", "load"),
    "BM25 scoring": ("kb/search/retrieve.py", "_bm25_scores"),
    "BM25 top": ("kb/index/lexical.py", "top"),
    "Chroma vector query": ("kb/search/retrieve.py", "_dense"),
    "mentions": ("kb/search/query.py", "mentions"),
    "hydrate (Chroma get)": ("kb/search/retrieve.py", "_hydrate"),
    "candidates (stage 1)": ("kb/search/retrieve.py", "gather"),
    "fusion (stage 2)": ("kb/search/retrieve.py", "fuse"),
    "convex fusion": ("kb/search/retrieve.py", "_convex"),
    "answer: support rater": ("kb/answer/ask.py", "__init__"),
    "answer: diversify": ("kb/answer/ask.py", "_diversify"),
    "answer: pick sentences": ("kb/answer/quote.py", "pick_sentences"),
    "total (retrieve)": ("kb/search/retrieve.py", "retrieve"),
    "total (ask)": ("kb/answer/ask.py", "ask"),
}


def settings_for(index: str, sources: str) -> Settings:
    """Settings from the environment, with the benchmark's index and sources (embedded Chroma)."""
    return Settings.from_env(index_dir=index, sources_dir=sources, chroma_url="")


def ingest(
    index: str, sources: str, manifest: str, profile: str = "", raw_encode: bool = True, launched: float = 0.0
) -> dict:
    """One `kb ingest` (ingest.pipeline.run, what the command calls) of a corpus into a new index;
    then (raw_encode) the raw encode of the same passages in the same process, which has the
    model loaded already. The ingest's peak RSS is read before the raw encode starts;
    `launched` (time.time() when the parent started this process) gives the whole process's time
    to the end of the ingest, interpreter start and imports included, as `kb ingest` takes."""
    from ingest import pipeline

    settings = settings_for(index, sources)
    run = lambda: pipeline.run(settings, Path(manifest), progress=sys.stderr.isatty())  # noqa: E731
    with TreeRSS() as tree:
        summary = _profiled(run, profile, INGEST_PHASES, "one ingest") if profile else run()
    result = {
        "seconds": summary.seconds,
        "process_s": time.time() - launched if launched else None,
        "passages_embedded": summary.passages_embedded,
        "documents": len(summary.outcomes),
        "added": summary.count("added"),
        "failed": [f"{o.file}: {o.reason}" for o in summary.failed],
        "peak_rss_mb": _peak_rss_mb(),
        # with the reader and embedding processes: what the machine must have for a `kb ingest`
        "processes_peak_rss_mb": max(tree.peak_mb, _peak_rss_mb()),
    }
    return {"ingest": result, "encode": encode(settings) if raw_encode else None}


ENCODE_SAMPLE = 10_000  # passages; beyond, an evenly spaced sample keeps large sizes to hours, not days


def encode(settings: Settings, chunk: int = 8192) -> dict:
    """Raw SentenceTransformer.encode throughput over the texts the ingest embedded (the same
    passages with the same context, the configured batch size): the practical ceiling. Above
    ENCODE_SAMPLE passages, over an evenly spaced sample of that many (a rate, so a sample
    measures it)."""
    from kb.config import MINILM
    from kb.index.store import Index
    from kb.models import e5, embed

    # e5 runs in its own engine, not in sentence-transformers: the PyTorch reference is then MiniLM's
    # (a ceiling for another model; its vectors are not compared).
    other = e5.wanted(settings.embed_model)
    t0 = time.perf_counter()
    model = embed.model(settings.with_(embed_model=MINILM) if other else settings)
    loaded = time.perf_counter()
    opened = Index(settings)
    by_doc: dict[str, tuple[Document, list[Passage]]] = {}
    for p, d in opened.all_passages():
        by_doc.setdefault(d.id, (d, []))[1].append(p)
    opened.close()
    texts = []
    for d, passages in by_doc.values():
        passages.sort(key=lambda p: p.seq)
        texts += [
            embed.embedding_text(p.text, d.cite_title, p.heading, settings.embed_context, lead)
            for p, lead in zip(passages, lead_ins(passages), strict=True)
        ]
    total = len(texts)
    from kb.bench.baseline import word_pieces

    pieces = word_pieces(model, texts)
    if total > ENCODE_SAMPLE:
        texts = [texts[i * total // ENCODE_SAMPLE] for i in range(ENCODE_SAMPLE)]
    t1 = time.perf_counter()
    reference = []
    for i in range(0, len(texts), chunk):
        reference.append(
            model.encode(
                texts[i : i + chunk],
                batch_size=settings.embed_batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )
        if len(texts) > chunk:
            print(f"  raw encode {min(i + chunk, len(texts)):,}/{len(texts):,}", file=sys.stderr)
    seconds = time.perf_counter() - t1
    embed.encode(settings, texts[:16])  # the ingest's encoder (ONNX export cached): warm, not timed
    t2 = time.perf_counter()
    backend = [embed.encode(settings, texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    backend_s = time.perf_counter() - t2
    # How far the configured backend's vectors are from PyTorch's (both unit length): the cost of int8.
    cosine = (
        (np.concatenate(backend) * np.concatenate(reference)).sum(axis=1)
        if texts and not other
        else np.ones(1)
    )
    return {
        "passages": len(texts),
        "of_passages": total,
        "word_pieces": pieces,  # of all the ingest's texts, what the model reads of them
        "seconds": seconds,
        "passages_per_s": len(texts) / seconds if seconds else None,
        "batch_size": settings.embed_batch_size,
        "model_load_s": loaded - t0,
        # the same texts through kb.models.embed.encode, the encoder the ingest uses (KB_EMBED_BACKEND)
        "backend": settings.embed_backend,
        "backend_seconds": backend_s,
        "backend_passages_per_s": len(texts) / backend_s if backend_s else None,
        "backend_cosine": None if other else {"mean": float(cosine.mean()), "min": float(cosine.min())},
    }


def queries(index: str, sources: str, queries: str, profile: str = "") -> dict:
    """Latency of each retrieval mode and of the full answer over the corpus's questions, in
    one warm process (WARMUP questions per mode first, not timed). Each question is new to the
    process when it is timed: the embeddings of questions asked before (by another mode) are
    forgotten first. The answer's stages are timed too (Answer.stages_ms)."""
    from kb.answer.ask import ask
    from kb.index.store import Index
    from kb.models import embed
    from kb.search.retrieve import search

    settings = settings_for(index, sources)
    questions = [q["text"] for q in json.loads(Path(queries).read_text())["queries"]]
    opened = Index(settings)
    calls = {
        "dense": lambda q: search(opened, q, mode="dense", k=K),
        "bm25": lambda q: search(opened, q, mode="bm25", k=K),
        "hybrid": lambda q: search(opened, q, mode="hybrid", k=K),
        "answer": lambda q: stages.append(ask(opened, q, k=K).stages_ms),
    }
    latency, stages = {}, []
    for mode in MODES:
        for q in questions[:WARMUP]:
            calls[mode](q)
        stages.clear()
        print(f"  {mode}: {len(questions)} questions", file=sys.stderr)
        latency[mode] = _timed(calls[mode], questions, before=embed.forget_questions)
    for stage in stages[0] if stages else ():
        latency[f"answer: {stage}"] = _percentiles([s.get(stage, 0.0) for s in stages])
    result = {
        "questions": len(questions),
        "k": K,
        "latency_ms": latency,
        "passages": opened.count(),
        "documents": len(opened.records()),
        "index_bytes": opened.size_on_disk(),
    }
    result["peak_rss_mb"] = _peak_rss_mb()  # before any profiling pass
    if profile:
        for mode in ("hybrid", "answer"):
            path = Path(profile.replace("{mode}", mode))
            _profiled(
                lambda m=mode: [calls[m](q) for q in questions],
                str(path),
                QUERY_PHASES,
                f"{len(questions)} {mode} questions",
            )
    opened.close()
    return result


def baseline(sources: str, manifest: str, directory: str, queries: str, build: bool) -> dict:
    """The llama-index baseline: built (if asked), then its retriever's latency on the questions."""
    from kb.bench import baseline as base

    settings = settings_for(directory, sources)
    built = base.build(Path(sources), Path(manifest), Path(directory), settings) if build else None
    index = base.open_index(Path(directory), settings)
    retriever = index.as_retriever(similarity_top_k=K)
    questions = [q["text"] for q in json.loads(Path(queries).read_text())["queries"]]
    for q in questions[:WARMUP]:
        retriever.retrieve(q)
    latency = _timed(retriever.retrieve, questions)
    size = sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())
    return {"build": built, "latency_ms": {"dense": latency}, "index_bytes": size}


def quality(cache: str, with_baseline: bool) -> dict:
    """Recall@5 and nDCG@10 of both systems on the shipped suite (kb/bench/quality.py)."""
    from kb.bench import quality as q

    return q.measure(Settings.from_env(chroma_url=""), Path(cache), with_baseline)


# A task is a function here or, for the bench's scenario files, "module:function" in the module
# that builds the file (a scanned PDF, a table-heavy PDF), imported only by the worker that runs it.
TASKS = {
    "ingest": ingest,
    "queries": queries,
    "baseline": baseline,
    "ocr": "kb.bench.scans:ingest_worker",
    "tables": "kb.bench.tables:ingest_worker",
    "quality": quality,
}


def _timed(call, questions: list[str], before=None) -> dict:
    times = []
    for q in questions:
        if before is not None:
            before()
        t0 = time.perf_counter()
        call(q)
        times.append((time.perf_counter() - t0) * 1000)
    return _percentiles(times)


def _percentiles(times: list[float]) -> dict:
    a = np.array(times)
    return {
        "n": len(times),
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "mean": float(a.mean()),
        "max": float(a.max()),
    }


def _profiled(call, path: str, phases: dict[str, tuple[str, str]], what: str):
    """Run `call` under cProfile; write the phases and the top functions to `path` (text)."""
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    result = profile.runcall(call)
    total = time.perf_counter() - t0
    stats = pstats.Stats(profile)
    lines = [f"# cProfile of {what} ({total:.1f} s under the profiler; the main process only)", ""]
    lines += ["Phase (cumulative seconds, calls):"]
    for name, (suffix, func) in phases.items():
        hits = [(v[3], v[1]) for k, v in stats.stats.items() if k[0].endswith(suffix) and k[2] == func]
        if hits:
            ct = sum(h[0] for h in hits)
            lines.append(
                f"  {name:<42} {ct:8.2f} s  {100 * ct / total:5.1f} %  ({sum(h[1] for h in hits)} calls)"
            )
    for order, n in (("cumulative", 40), ("tottime", 25)):
        buf = io.StringIO()
        pstats.Stats(profile, stream=buf).strip_dirs().sort_stats(order).print_stats(n)
        lines += ["", f"## Top {n} by {order}", buf.getvalue().split("\n", 4)[-1].rstrip()]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return result


class TreeRSS:
    """The peak of the summed RSS of this process and its descendants, sampled every 0.2 s."""

    def __init__(self, every: float = 0.2):
        self.every = every
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bench-rss", daemon=True)

    def __enter__(self) -> TreeRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self.peak_mb = max(self.peak_mb, sum(_rss_mb(pid) for pid in _tree(os.getpid())))


def _tree(root: int) -> list[int]:
    """root and its live descendants, from /proc (empty where there is no /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _rss_mb(pid: int | str) -> float:
    return _status_mb(pid, "VmRSS") or 0.0


def _status_mb(pid: int | str, field: str) -> float | None:
    """A memory figure of /proc/PID/status in MiB (None when the process or the field is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, not getrusage's ru_maxrss, which Linux carries over from the
    parent through fork and exec (a worker of a runner that had loaded the model reported its RSS)."""
    peak = _status_mb("self", "VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB


def main(argv: list[str]) -> int:
    task, args, out = argv
    run = TASKS[task]
    if isinstance(run, str):
        module, name = run.split(":")
        run = getattr(importlib.import_module(module), name)
    result = run(**json.loads(args))
    result.setdefault("peak_rss_mb", _peak_rss_mb())
    Path(out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

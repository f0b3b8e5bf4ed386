"""No import circles in kb/, ingest/ and app.py: every import counts, also one inside a function
(a circle hidden by a late import is still a circle). The graph is read from the source with
`ast`, so nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def local_modules() -> dict[str, Path]:
    """Every module of kb/, ingest/ and app.py by dotted name (a package by its own name)."""
    paths = [*ROOT.glob("kb/**/*.py"), *ROOT.glob("ingest/**/*.py"), ROOT / "app.py"]
    modules = {}
    for path in paths:
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """The local modules a module imports (each with the line of its first import), wherever the
    import statement stands. `from package import name` counts as importing the submodule `name`
    when there is one, else the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                add(submodule if submodule in modules else origin, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """Module → the local modules it imports → the line of the import."""
    modules = local_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One circle through each group of modules that import each other (Tarjan's strongly
    connected components, then a shortest way round inside each), as [a, b, ..., a]."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_shortest_round(min(group), group, graph) for group in groups]


def _shortest_round(start: str, group: set[str], graph: dict[str, dict[str, int]]) -> list[str]:
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    return [*paths[v], start]
                if w in group and w not in paths:
                    paths[w] = [*paths[v], w]
                    following.append(w)
        frontier = following
    raise AssertionError(f"no way round in {sorted(group)}")


def _described(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_no_import_cycles():
    graph = import_graph()
    found = [_described(c, graph) for c in cycles(graph)]
    assert not found, "import cycles:\n  " + "\n  ".join(found)


def test_the_checker_sees_late_and_relative_imports(tmp_path):
    # The checker itself, on a made-up package: a circle closed by an import inside a function.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from .a import x\n    return x\n")
    (tmp_path / "pkg" / "c.py").write_text("import pkg.b\n")
    modules = {f"pkg.{n}": tmp_path / "pkg" / f"{n}.py" for n in "abc"} | {
        "pkg": tmp_path / "pkg" / "__init__.py"
    }
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    assert (
        graph["pkg.a"] == {"pkg.b": 1} and graph["pkg.b"] == {"pkg.a": 2} and graph["pkg.c"] == {"pkg.b": 1}
    )
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert _described(cycles(graph)[0], graph) == "pkg.a (line 1) -> pkg.b (line 2) -> pkg.a"


def test_every_surface_goes_through_the_service():
    """The CLI, the app (app.py and each tab), `kb eval`, the JSON API, the MCP server and the
    llama-index retriever reach the index and the commitment store
    only through kb.api.Library, the one service boundary."""
    surfaces = ("app", "kb.app", "kb.cli", "kb.evaluate", "kb.web_api", "kb.integrations")
    reaching = {
        f"{name}:{line} imports {target}"
        for name, targets in import_graph().items()
        if any(name == s or name.startswith(s + ".") for s in surfaces)
        for target, line in targets.items()
        if target in ("kb.index.store", "kb.index.registry", "kb.commitments.store")
    }
    assert not reaching, sorted(reaching)


# The packages of kb/ from the bottom up: a module may import its own package and the layers below
# its own, never one above or beside it. kb/text is read by all; the index and the models by search
# and ingest; search by the answer and the commitments; the front ends (the service kb.api, the CLI,
# the app and its launcher, `kb eval`, `kb bench`) use everything.
LAYERS = [
    ("kb.text",),
    ("kb.index", "kb.models"),
    ("kb.search",),
    ("kb.answer", "kb.commitments"),
    ("kb.api", "kb.evaluate", "kb.bench", "kb.cli", "kb.app", "app"),
]
# ingest reads sources into the index: it may use kb/text, kb/index, kb/models and the commitment
# extraction it refreshes after each ingest, never the search, the answer or a front end.
INGEST_MAY_USE = ("kb.text", "kb.index", "kb.models", "kb.commitments")


def _package(module: str) -> str | None:
    for layer in LAYERS:
        for package in layer:
            if module == package or module.startswith(package + "."):
                return package
    return "ingest" if module == "ingest" or module.startswith("ingest.") else None


def _layer(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def test_packages_import_one_way_down_the_layers():
    wrong = []
    for name, targets in import_graph().items():
        source = _package(name)
        for target, line in targets.items():
            to = _package(target)
            if source is None or to is None or source == to:
                continue
            if source == "ingest":
                allowed = to in INGEST_MAY_USE
            elif to == "ingest":
                allowed = _layer(source) == len(LAYERS) - 1  # `kb ingest`, `kb serve`, `kb bench`
            elif _layer(source) == len(LAYERS) - 1:
                allowed = True  # the front ends among themselves: the CLI starts the app
            else:
                allowed = _layer(to) < _layer(source)
            if not allowed:
                wrong.append(f"{name}:{line} imports {target}")
    assert not wrong, "imports against the layers:\n  " + "\n  ".join(sorted(wrong))


PRIVATE_OF = ("chromadb", "bm25s", "llama_index", "gradio", "nltk")


def test_library_internals_are_reached_only_through_compat():
    """No import of a private name (`_x`) of chromadb, bm25s, llama-index, gradio or NLTK outside
    kb/compat.py, where each has a contract test (tests/test_compat.py)."""
    found = []
    for name, path in local_modules().items():
        if name == "kb.compat":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PRIVATE_OF:
                dotted = [node.module, *(alias.name for alias in node.names)]
            elif isinstance(node, ast.Import):
                dotted = [a.name for a in node.names if a.name.split(".")[0] in PRIVATE_OF]
            else:
                continue
            if any(part.startswith("_") and part != "__future__" for d in dotted for part in d.split(".")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "private library names imported outside kb/compat.py: " + ", ".join(found)


# Numbers at module level in the packages that rank, abstain and quote, that are not ranking
# settings: BM25's k1 and b are the BM25 snapshot's (changing them means rebuilding the index, so
# they live with it), and _NEAR is how far from a figure the thing it counts is looked for.
NOT_RANKING = {("kb.index.lexical", "BM25_K1"), ("kb.index.lexical", "BM25_B"), ("kb.search.wanted", "_NEAR")}


def test_ranking_constants_live_in_ranking_settings():
    """No module-level number or flag in kb/search, kb/answer or kb/index outside RankingSettings
    (kb/config.py), where each carries its measured reason and evals.ablate can vary it."""
    found = []
    for name, path in local_modules().items():
        if not name.startswith(("kb.search", "kb.answer", "kb.index")):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            value = getattr(node, "value", None)
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, (int, float))  # bool is an int
                and (name, target.id) not in NOT_RANKING
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {target.id} = {value.value!r}")
    assert not found, "ranking constants outside RankingSettings: " + ", ".join(found)


# What reading a text is: a regular expression run over it, a string method that looks inside it,
# `in` on it, or a function of kb.text (analysis, language, places) or kb.search.wanted given it.
_LOOKS_INSIDE = {"lower", "upper", "casefold", "split", "rsplit", "replace", "startswith", "endswith"}
_LOOKS_INSIDE |= {"find", "rfind", "count", "partition", "index", "encode"}
_REGEX = {"search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}


def _is_question(node: ast.AST) -> bool:
    """A name or attribute that holds a question's text: `question`, `spelled_question`, `x.question`."""
    return any(
        (isinstance(n, ast.Name) and n.id.endswith("question"))
        or (isinstance(n, ast.Attribute) and n.attr.endswith("question"))
        for n in ast.walk(node)
    )


def question_readings(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a module reads a question's text (line, source)."""
    text_functions = {"re"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            ("kb.text", "kb.search.wanted")
        ):
            text_functions |= {a.asname or a.name for a in node.names}
        if isinstance(node, ast.ImportFrom) and node.module == "kb.search":
            text_functions |= {a.asname or a.name for a in node.names if a.name == "wanted"}
    found = []
    for node in ast.walk(tree):
        reads = False
        if isinstance(node, ast.Call):
            func, args = node.func, [*node.args, *(k.value for k in node.keywords)]
            root = func
            while isinstance(root, ast.Attribute):
                root = root.value
            reads = (
                isinstance(func, ast.Attribute) and func.attr in _LOOKS_INSIDE and _is_question(func.value)
            ) or (
                any(_is_question(a) for a in args)
                and isinstance(root, ast.Name)
                and (
                    root.id in text_functions
                    or (
                        isinstance(func, ast.Attribute)
                        and func.attr in _REGEX
                        and root.id.lstrip("_").isupper()
                    )
                )
            )
        elif isinstance(node, ast.Compare):
            reads = any(isinstance(o, ast.In | ast.NotIn) for o in node.ops) and any(
                _is_question(c) for c in node.comparators
            )
        if reads:
            found.append((node.lineno, ast.unparse(node)[:80]))
    return found


def test_only_kb_search_reads_the_question():
    """The question is read once, by kb.search.reading (and the search modules it serves), into a
    `Question` that every later stage reads; no other module parses its text again. kb/text holds
    the analysers that kb/search calls; kb/evaluate checks a suite's questions are not empty."""
    found = []
    for name, path in local_modules().items():
        if name.startswith(("kb.search", "kb.text")):
            continue
        for line, source in question_readings(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{path.relative_to(ROOT)}:{line} {source}")
    assert not found, "the question's text read outside kb/search: " + "; ".join(found)


def test_the_question_checker_sees_regexes_methods_and_analysers():
    source = """
import re
from kb.text import analyzer
_ASKS = re.compile("x")
def f(question, spelled):
    _ASKS.search(question)
    re.findall(r"\\w+", question)
    analyzer.analyze(spelled.question, "en")
    question.lower()
    "G7" in question
    PROMPT.format(question=question)
    retrieve(index, question)
"""
    assert [line for line, _ in question_readings(ast.parse(source))] == [6, 7, 8, 9, 10]

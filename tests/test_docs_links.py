"""The documentation holds together: every relative link in README.md, docs/ and evals/ reaches a
file that exists (and, for `page.md#anchor`, a heading of that page), the README stays short
enough to finish, and every setting and command is documented on its page. Reads files only: no
model, no index."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from kb.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 250  # what a newcomer reads to the end; everything else lives in docs/

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def pages() -> list[Path]:
    """README.md, docs/*.md and the Markdown files under evals/ (reports included)."""
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "evals").rglob("*.md")),
    ]


def prose(path: Path) -> list[tuple[int, str]]:
    """The lines of a Markdown file outside fenced code blocks, with their numbers."""
    out, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if _FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            out.append((number, line))
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """Every link target (and image source) outside code, with its line; inline code spans skipped."""
    found = []
    for number, line in prose(path):
        for match in _LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            found.append((number, match.group(1)))
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a page's headings, numbered as GitHub numbers repeated ones (-1, -2…)."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose(path):
        m = _HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken(path: Path, root: Path = ROOT) -> list[str]:
    """One line per relative link of a page whose file or heading does not exist."""
    problems = []
    for number, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:…
            continue
        file_part, _, anchor = target.partition("#")
        where = f"{path.relative_to(root)}:{number}: {target}"
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{where}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where}: no heading #{anchor} in {dest.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken(page) == []


def test_the_readme_is_short_enough_to_finish():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_every_docs_page_is_reachable_from_the_readme():
    reached, todo = set(), [(ROOT / "README.md").resolve()]
    while todo:  # follow links from page to page, starting at the README
        page = todo.pop()
        if page in reached or page.suffix != ".md" or not page.exists():
            continue
        reached.add(page)
        todo += [(page.parent / t.partition("#")[0]).resolve() for _, t in links(page) if "://" not in t]
    orphans = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in reached]
    assert orphans == [], f"no link leads from README.md to {orphans}"


def test_every_setting_is_documented_on_the_configuration_page():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    variables = [f"KB_{f.name.upper()}" for f in fields(Settings) if f.name != "ranking"]
    missing = [name for name in variables if f"`{name}`" not in text]
    assert missing == [], f"not in docs/configuration.md: {missing}"
    assert "RankingSettings" in text  # the settings no variable sets, and where to change them


def commands() -> list[str]:
    """Every command and subcommand of `kb`, as typed (`kb ask`, `kb commitments matrix`)."""
    from kb.cli import build_parser

    def named(parser, prefix: str) -> list[str]:
        out = []
        for action in parser._actions:  # argparse keeps its subcommands there, nowhere public
            if isinstance(getattr(action, "choices", None), dict):
                for name, sub in action.choices.items():
                    out += [f"{prefix} {name}", *named(sub, f"{prefix} {name}")]
        return out

    return named(build_parser(), "kb")


def test_every_command_is_documented_on_the_cli_page():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    found = commands()
    assert "kb commitments matrix" in found and "kb ask" in found
    missing = [c for c in found if f"`{c}" not in text]
    assert missing == [], f"not in docs/cli.md: {missing}"


def test_the_checker_finds_a_broken_link_and_a_missing_heading(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text(
        "# Where the index lives\n\n## Where the index lives\n", encoding="utf-8"
    )
    page.write_text(
        "See [a](other.md#where-the-index-lives-1), [b](missing.md), [c](other.md#nowhere),\n"
        "[d](https://example.org/x), `[e](not-a-link.md)`, ![f](other.md) and [g](#top).\n\n"
        "```\n[h](inside-code.md)\n```\n\n# Top\n",
        encoding="utf-8",
    )
    assert broken(page, tmp_path) == [
        "page.md:1: missing.md: no such file",
        "page.md:1: other.md#nowhere: no heading #nowhere in other.md",
    ]

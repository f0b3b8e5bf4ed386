"""The manifest: validation errors name the line; pattern rules; unlisted files."""

from __future__ import annotations

import pytest

from ingest import manifest
from kb.errors import ManifestError


def write(tmp_path, text: str):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_toml_names_the_line(tmp_path):
    path = write(tmp_path, '[[document]]\nid = "a"\ntitle = "A"\ntype = declaration\n')
    with pytest.raises(ManifestError, match=r"line 4"):
        manifest.load(path)


def test_bad_type_names_the_entry_line_and_the_allowed_values(tmp_path):
    path = write(
        tmp_path,
        '[[document]]\nid = "a"\ntitle = "A"\n\n[[document]]\nid = "b"\ntitle = "B"\ntype = "decl"\n',
    )
    with pytest.raises(ManifestError, match=r"line 5.*'b'.*type 'decl'.*declaration, statement"):
        manifest.load(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('id = "a"\ntitle = "A"\ntitel = "typo"', "unknown key"),
        ('id = "A B"\ntitle = "A"', "slug"),
        ('title = "A"', "id is required"),
        ('id = "a"\ntitle = "A"\ncountry = "Italy"', "alpha-3"),
        ('id = "a"\ntitle = "A"\ndate = "4 October 2024"', "ISO date"),
        ('id = "a"\ntitle = "A"\ndate = 2024-10-04', "must be a string"),
    ],
)
def test_entry_errors(tmp_path, entry, message):
    with pytest.raises(ManifestError, match=message):
        manifest.load(write(tmp_path, f"[[document]]\n{entry}\n"))


def test_duplicate_ids(tmp_path):
    path = write(tmp_path, '[[document]]\nid = "a"\ntitle = "A"\n[[document]]\nid = "a"\ntitle = "B"\n')
    with pytest.raises(ManifestError, match=r"line 4: duplicate id 'a' \(first at line 1\)"):
        manifest.load(path)


def test_pattern_rule_gives_metadata_from_file_names(tmp_path):
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "ITA_79_2024.txt").write_text("Text.", encoding="utf-8")
    (tmp_path / "2024" / "notes.txt").write_text("Not matched by the pattern.", encoding="utf-8")
    path = write(
        tmp_path,
        """
[[collection]]
glob = "*/*.txt"
pattern = '(?P<country>[A-Z]{3})_(?P<session>\\d+)_(?P<year>\\d{4})\\.txt$'
id = "ungd-{country}-{year}"
title = "Statement of {country} at the UN General Debate, session {session} ({year})"
short_title = "UNGD {country} {year}"
country = "{country}"
date = "{year}"
type = "statement"
issuer = "Government of {country}"
""",
    )
    sources = manifest.discover(manifest.load(path), tmp_path)
    by_id = {s.document.id: s.document for s in sources}
    doc = by_id["ungd-ita-2024"]
    assert (doc.country, doc.date, doc.type, doc.short_title) == ("ITA", "2024", "statement", "UNGD ITA 2024")
    assert doc.file == "2024/ITA_79_2024.txt"
    assert not by_id["2024-notes"].listed  # not matched: still ingested, as unlisted


def test_pattern_rule_template_needs_a_group(tmp_path):
    path = write(
        tmp_path,
        '[[collection]]\nglob = "*.txt"\npattern = "(?P<year>\\\\d{4})"\nid = "x-{country}"\ntitle = "X"\n',
    )
    with pytest.raises(ManifestError, match=r"line 1: id uses \{country\}"):
        manifest.load(path)


def test_missing_file_and_path_outside_sources_are_problems(tmp_path):
    path = write(
        tmp_path,
        '[[document]]\nid = "a"\ntitle = "A"\nfile = "gone.pdf"\n[[document]]\nid = "b"\ntitle = "B"\nfile = "../../etc/passwd"\n'
        '[[document]]\nid = "c"\ntitle = "C"\nurl = "https://example.org/c"\n',
    )
    problems = {s.document.id: s.problem for s in manifest.discover(manifest.load(path), tmp_path)}
    assert problems == {
        "a": "listed in sources.toml but the file gone.pdf is missing",
        "b": "file '../../etc/passwd' is outside the sources directory",
    }

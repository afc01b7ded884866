"""Every clinical number carries its source: each source text in the built-in scenarios and the validation
targets cites a key of docs/sources.md in square brackets (or says `illustrative`, `calibrated`, or what a
scenario asks), and every key cited there, in the schema and in the docs is listed in docs/sources.md. The
scenario files stay readable in a diff: no line over 120 characters, and a source's lines never look like a
table header to a line-based reader (iimsim calibrate edits the files line by line)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios" / "builtin").glob("*.toml"))
TARGETS = ROOT / "iimsim" / "experiments" / "validation_targets.toml"
SOURCES = ROOT / "docs" / "sources.md"
# A key in square brackets: an author and year (Aggarwal2017, Aggarwal2024a) or parts joined by hyphens
# (BMJ-BP-IIM, GC-CV-ARD2021); not a Markdown link's text.
KEY = re.compile(r"\[([A-Za-z]+\d{4}[a-z]?|[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+)\](?!\()")
LABELS = ("illustrative", "calibrated", "scenario question", "teaching counterfactual")


def listed(text: str) -> list[str]:
    """The keys of docs/sources.md, in order: the first column of its tables, under their `key` heading."""
    return [key for key in re.findall(r"^\| ([A-Za-z][A-Za-z0-9-]*) \|", text, flags=re.MULTILINE) if key != "key"]


def listed_keys() -> set[str]:
    return set(listed(SOURCES.read_text("utf-8")))


def scenario_sources(data: dict, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(where, text) for every `source` and every entry of a `sources` table in a scenario."""
    for key, value in data.items():
        if key == "source" and isinstance(value, str):
            yield ".".join((*path, key)), value
        elif key == "sources" and isinstance(value, dict):
            for field, text in value.items():
                yield ".".join((*path, key, field)), text
        elif isinstance(value, dict):
            yield from scenario_sources(value, (*path, key))


def cited_sources() -> list[tuple[str, str]]:
    """(where, text) for every source text of the built-in scenarios and the validation targets."""
    cited = []
    for file in SCENARIOS:
        data = tomllib.loads(file.read_text("utf-8"))
        cited += [(f"{file.name}: {where}", text) for where, text in scenario_sources(data)]
    for target in tomllib.loads(TARGETS.read_text("utf-8"))["target"]:
        cited.append((f"{TARGETS.name}: {target['key']}.source", target["source"]))
        cited.append((f"{TARGETS.name}: {target['key']}.note", target.get("note", "")))
    return cited


def test_the_bibliography_lists_the_clinical_documents_and_studies():
    keys = listed_keys()
    assert {"BMJ-BP-IIM", "PRAXIS-IIM", "GDT-MYOSITIS", "GDT-PM", "GDT-AIM", "Aggarwal2017", "Monks2019"} <= keys
    assert len(listed(SOURCES.read_text("utf-8"))) == len(keys), "a key is listed twice"


def test_every_source_text_cites_a_key_or_says_why_it_has_none():
    missing = [f"{where}: {text[:80]}" for where, text in cited_sources()
               if text and not KEY.search(text) and not text.lower().startswith(LABELS) and ".note" not in where]
    assert not missing, "\n".join(missing)


def test_every_cited_key_is_in_the_bibliography():
    keys = listed_keys()
    texts = [(where, text) for where, text in cited_sources()]
    texts += [(path.relative_to(ROOT).as_posix(), path.read_text("utf-8"))
              for path in [*SCENARIOS, ROOT / "scenarios" / "schema.py", *sorted((ROOT / "docs").glob("*.md")),
                           ROOT / "README.md"]]
    unknown = sorted({f"{where}: [{key}]" for where, text in texts for key in KEY.findall(text) if key not in keys})
    assert not unknown, "\n".join(unknown)


@pytest.mark.parametrize("file", SCENARIOS, ids=lambda f: f.name)
def test_scenario_lines_are_short_and_sources_never_look_like_headers(file):
    lines = file.read_text("utf-8").splitlines()
    long = [f"{file.name}:{n}: {len(line)} characters" for n, line in enumerate(lines, 1) if len(line) > 120]
    assert not long, "\n".join(long)
    headers = [f"{file.name}:{n}: {line}" for n, line in enumerate(lines, 1)
               if line.startswith("[") and not re.fullmatch(r"\[\[?[A-Za-z0-9_.\"+-]+\]\]?\s*", line)]
    assert not headers, "\n".join(headers)


def test_the_key_pattern_tells_keys_from_other_brackets():
    assert KEY.findall("[BMJ-BP-IIM] and [Aggarwal2017], [deGroot2009], [GC-CV-ARD2021]") == [
        "BMJ-BP-IIM", "Aggarwal2017", "deGroot2009", "GC-CV-ARD2021"]
    assert KEY.findall("[infusion_unit] [region] [docs/model.md](model.md) [Teach] [SECTION.sources] "
                       "list[RatePer100PatientYears]") == []

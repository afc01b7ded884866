"""The generated references (docs/scenario_reference.md, docs/tables_reference.md) match their sources: the schema,
the built-in scenarios and the table contract."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from docs import generate
from iimsim.scenarios import load_scenario, schema
from iimsim.simulation.tables import TABLES


@pytest.mark.parametrize("name", sorted(generate.REFERENCES))
def test_the_generated_reference_is_up_to_date(name):
    written = (generate.DOCS / name).read_text("utf-8")
    assert written == generate.REFERENCES[name](), (
        f"docs/{name} is stale: its source changed. Run `{generate.COMMAND}` and commit the result.")


def rows_of(text: str) -> dict[str, list[str]]:
    """The reference's table rows by their first cell (a path or a column), each as its cells, and its sections
    by their heading."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("## `"):
            rows[line.removeprefix("## ").strip("`")] = []
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0].startswith("`"):
            rows.setdefault(cells[0].strip("`"), cells)
    return rows


def test_every_schema_field_is_in_the_scenario_reference():
    """Each model's fields (a field added to the schema included, with nothing else to do) appear as a part of some
    path; a section's `source` and `sources` are given once, at its heading."""
    paths = rows_of(generate.scenario_reference())
    parts = {part for path in paths for part in path.split(".")}
    models = [m for m in vars(schema).values() if isinstance(m, type) and issubclass(m, BaseModel)
              and m.__module__ == schema.__name__ and m not in (schema.Strict, schema.BySubtype, schema.BySex)]
    missing = sorted(f"{m.__name__}.{name}" for m in models for name in m.model_fields
                     if name not in parts and name not in ("source", "sources") and m is not schema.Scenario)
    missing += sorted(name for name in schema.Scenario.model_fields
                      if not any(path == name or path.startswith(name + ".") for path in paths))
    assert missing == []


def test_a_field_shows_its_type_unit_bounds_default_baseline_value_meaning_and_source():
    rows = rows_of(generate.scenario_reference())
    baseline = load_scenario("baseline")
    path, kind, unit, bounds, default, value, meaning, source = rows["glucocorticoids.taper_slack"]
    assert (kind, bounds, default) == ("`float`", "≥ 0, ≤ 10", "0")
    assert value == f"{baseline.glucocorticoids.taper_slack:g}"
    assert meaning.startswith("Clinicians walk the ladder at their own pace")
    assert source == baseline.glucocorticoids.sources.get("taper_slack", "")
    path, kind, unit, bounds, default, value, meaning, source = rows["agents.ivig.intolerance_window_days"]
    assert (kind, unit, default) == ("`PositiveDays`", "days", "required")
    assert value == f"{baseline.agents['ivig'].intolerance_window_days:g}" and source == baseline.agents["ivig"].sources["intolerance_window_days"]
    assert "ProDERM" in source
    # a section the baseline leaves out is shown with a built-in scenario that has it
    assert rows["region.population"][5] != "—" and rows["region.incidence_per_100k_person_years"][2] == (
        "per 100,000 person-years")


def test_every_number_in_the_schema_has_a_unit_or_says_what_it_counts():
    assert generate.fields_without_unit_or_meaning() == []


def test_the_tables_reference_lists_every_column_with_its_type_and_unit():
    rows = rows_of(generate.tables_reference())
    assert set(rows) >= {name for columns in TABLES.values() for name, _, _ in columns} | set(TABLES)
    assert rows["pred_cum_mg"][1:3] == ["double", "mg"]
    assert rows["followup_days"][1:3] == ["double", "days"]
    assert rows["ivig_g"][2] == "g"

"""Write the generated references: docs/scenario_reference.md from the scenario schema (scenarios/schema.py) and
the built-in scenarios, docs/tables_reference.md from the table contract (simulation/tables.py).

    python -m docs.generate

A field's description is its `Field(description=...)` or, as schema.py writes them, the comment on its line or
the comment lines just above it; its unit comes from its name (`_mg_per_day`, `_days`, ...) or its type
(`Probability`, `PositiveDays`, ...). tests/test_docs.py fails when a file here is older than its source.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from iimsim.scenarios import builtin_names, load_scenario
from iimsim.scenarios import schema
from iimsim.simulation import tables

DOCS = Path(__file__).resolve().parent
COMMAND = "python -m docs.generate"
BASELINE = "baseline"

# Units named by a field's or column's name, tried in order (the longest ending first).
UNIT_BY_NAME = (
    (r"_mg_per_kg_per_day$", "mg/kg/day"), (r"_mg_per_kg$", "mg/kg"), (r"_mg_per_day$", "mg/day"),
    (r"_per_mg$", "currency per mg"), (r"_per_g$", "currency per g"), (r"_mg$", "mg"), (r"_g$", "g"),
    (r"_per_m2$", "dose_unit per m2"),
    (r"_per_100_patient_years$", "per 100 patient-years"),
    (r"_per_100k_person_years$", "per 100,000 person-years"), (r"_per_year$", "per year"),
    (r"_person_years$", "person-years"), (r"_per_qaly$", "currency per QALY"), (r"(_|^)days?$", "days"),
    (r"_days_|_day_", "days"), (r"(_|^)years($|_)", "years"), (r"_kg$", "kg"), (r"_cm$", "cm"),
    (r"_percent$", "percentage points"), (r"_hours$", "hours"), (r"_hour$", "hour of the day (0-24)"),
    (r"_cost(_discounted)?$", "currency"), (r"^p_", "probability (0-1)"), (r"(hazard|rate)_ratio", "ratio"),
    (r"_ratio(_|$)", "ratio"), (r"_sd$", "lognormal sd"), (r"(^|_)qalys?(_|$)", "QALYs"),
    (r"life_years", "years"),
)
# Units carried by the schema's types (the aliases at the top of schema.py).
UNIT_BY_TYPE = {"Probability": "probability (0-1)", "PositiveDays": "days", "NonNegativeDays": "days",
                "LogUnits": "log units of activity", "LogSd": "lognormal sd (log scale)", "Ratio": "ratio",
                "DeathRatePerYear": "per year", "RatePer100PatientYears": "per 100 patient-years",
                "Score": "TIS points (0-100)", "Count": "count"}
NUMBERS = (int, float)


def numeric(annotation: str) -> bool:
    """Whether a field's annotation (as written) holds numbers."""
    return re.search(r"\b(float|int|Real|NonNegative|Positive|Normal|PositiveNormal|GrowthReference)\b", annotation) \
        is not None or any(re.search(rf"\b{alias}\b", annotation) for alias in UNIT_BY_TYPE)


def unit_from_name(name: str) -> str:
    for pattern, unit in UNIT_BY_NAME:
        if re.search(pattern, name):
            return unit
    return ""


# -- what the schema's source says of each field --------------------------------------------------------------

@dataclass(frozen=True)
class FieldText:
    annotation: str  # the annotation as written, with its Annotated bounds taken out (they have a column)
    comment: str  # the comment on the field's line, or the comment lines just above it


def annotation_text(node: ast.expr) -> str:
    """An annotation as written, `Annotated[X, Field(...)]` shown as X (its bounds have their own column)."""
    if isinstance(node, ast.Subscript):
        head = annotation_text(node.value)
        if head == "Annotated":
            return annotation_text(node.slice.elts[0])
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return f"{head}[{', '.join(annotation_text(part) for part in inner)}]"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return f"{annotation_text(node.left)} | {annotation_text(node.right)}"
    if isinstance(node, ast.Constant):
        return repr(node.value) if isinstance(node.value, str) else str(node.value)
    return ast.unparse(node)


@cache
def schema_texts() -> tuple[dict[str, dict[str, FieldText]], dict[str, str]]:
    """Each class's fields as written in schema.py, and each top-level alias's comment."""
    source = Path(schema.__file__).read_text("utf-8")
    lines = source.splitlines()
    comments = {token.start[0]: token.string.lstrip("#").strip()
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT}

    def comment_of(node: ast.stmt) -> str:
        trailing = [comments[n] for n in range(node.lineno, node.end_lineno + 1) if n in comments]
        above, n = [], node.lineno - 1
        while n >= 1 and lines[n - 1].strip().startswith("#"):
            above.insert(0, comments[n])
            n -= 1
        return " ".join(text for text in [*above, *trailing] if text and not text.startswith("noqa"))

    classes: dict[str, dict[str, FieldText]] = {}
    aliases: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {item.target.id: FieldText(annotation_text(item.annotation), comment_of(item))
                                  for item in node.body
                                  if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            aliases[node.targets[0].id] = comment_of(node)
    return classes, aliases


def field_text(model: type[BaseModel], name: str) -> FieldText:
    classes, _ = schema_texts()
    for cls in model.__mro__:
        base = cls.__pydantic_generic_metadata__["origin"] if hasattr(cls, "__pydantic_generic_metadata__") else None
        texts = classes.get((base or cls).__name__, {})
        if name in texts:
            return texts[name]
    return FieldText("", "")


# -- types and bounds ------------------------------------------------------------------------------------------

def _bound_words(metadata) -> list[str]:
    words = []
    for item in metadata:
        for kind, attribute, sign in ((at.Ge, "ge", "≥"), (at.Gt, "gt", ">"), (at.Le, "le", "≤"),
                                      (at.Lt, "lt", "<")):
            if isinstance(item, kind):
                words.append(f"{sign} {number(getattr(item, attribute))}")
        if isinstance(item, at.MinLen):
            words.append(f"length ≥ {item.min_length}")
        if isinstance(item, at.MaxLen):
            words.append(f"length ≤ {item.max_length}")
        if hasattr(item, "metadata"):  # a FieldInfo inside Annotated
            words.extend(_bound_words(item.metadata))
    return words


def _strip_optional(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(kept) == 1:
            return kept[0]
    return annotation


def bounds(annotation, metadata) -> str:
    """The field's own bounds, then its items' ("each ...") for a list, a table or a by-subtype value."""
    words = _bound_words(metadata)
    optional = _strip_optional(annotation)
    if typing.get_origin(optional) is typing.Annotated:  # `Positive | None`: the bounds of Positive
        words += _bound_words(typing.get_args(optional)[1:])
        annotation = typing.get_args(optional)[0]
    inner = item_type(annotation)
    if inner is not None:
        item_words = _bound_words(typing.get_args(inner)[1:]) if typing.get_origin(inner) is typing.Annotated \
            else []
        if isinstance(inner, type) and issubclass(inner, (schema.BySubtype, schema.BySex)):
            item_words = []
        if item_words:
            words.append("each " + ", ".join(item_words))
    if isinstance(annotation, type) and issubclass(annotation, (schema.BySubtype, schema.BySex)):
        first = next(iter(annotation.model_fields.values()))
        if first.metadata:
            words.append("each " + ", ".join(_bound_words(first.metadata)))
    return ", ".join(words)


def item_type(annotation):
    """A list's or a table's item type (Annotated kept, for its bounds); None for anything else."""
    annotation = _strip_optional(annotation)
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and args:
        return args[0]
    if typing.get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    return None


def sourced_model(annotation) -> type[BaseModel] | None:
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) \
            and not issubclass(annotation, (schema.BySubtype, schema.BySex)):
        return annotation
    return None


# -- values ----------------------------------------------------------------------------------------------------

def number(value) -> str:
    return f"{value:,g}" if isinstance(value, float) and abs(value) >= 10_000 else f"{value:g}" \
        if isinstance(value, float) else str(value)


def shown(value, limit: int = 70) -> str:
    """A value as the reference shows it: compact, one line, cut at `limit` characters."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, NUMBERS):
        text = number(value)
    elif isinstance(value, str):
        text = f'"{" ".join(value.split())}"'
    elif value is None:
        text = "none"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k} = {shown(v, limit)}" for k, v in value.items()) + "}"
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(shown(v, limit) for v in value) + "]"
    else:
        text = str(value)
    if len(text) > limit:
        items = f" ({len(value)} items)" if isinstance(value, (list, dict)) else ""
        text = text[:limit - 1].rstrip() + "…" + items
    return text.replace("|", "\\|")


def default_of(info) -> str:
    if info.default_factory is not None:
        return shown(info.default_factory())
    return "required" if info.default is PydanticUndefined else shown(info.default)


# -- the scenario reference ------------------------------------------------------------------------------------

@dataclass
class Row:
    path: str
    type: str
    unit: str
    bounds: str
    default: str
    value: str
    description: str
    source: str


@dataclass
class Section:
    path: str
    model: type[BaseModel]
    source: str
    values_from: str  # the built-in scenario whose values the section shows
    rows: list[Row]


def _value_in(scenario, path: list[str]):
    node = scenario
    for part in path:
        if node is None:
            return None
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
    return node


def _values_for(path: list[str], builtins: dict):
    """The baseline's value at `path`, or the first built-in scenario's that has one."""
    for name, scenario in builtins.items():
        value = _value_in(scenario, path)
        if value is not None:
            return value, name
    return None, ""


def _rows(model: type[BaseModel], value, prefix: str, sources: dict, section_source_key: str | None,
          sections: list[Section], builtins: dict, path: list[str]) -> list[Row]:
    rows = []
    for name, info in model.model_fields.items():
        if issubclass(model, schema.Sourced) and name in ("source", "sources"):
            continue
        text = field_text(model, name)
        field_value = None if value is None else getattr(value, name)
        dotted = f"{prefix}{name}"
        sub = sourced_model(info.annotation)
        if sub is not None and (issubclass(sub, schema.Sourced) or not prefix):
            _sections(sub, [*path, name], builtins, sections)
            continue
        if sub is not None:  # a value made of numbers (a distribution, a definition): its fields in this section
            rows.extend(_rows(sub, field_value, f"{dotted}.", sources, section_source_key or name, sections,
                              builtins, [*path, name]))
            continue
        item = sourced_model(item_type(info.annotation) or object)
        if item is not None and typing.get_origin(_strip_optional(info.annotation)) is dict:
            keys = list(field_value or {}) or ["<name>"]
            for key in keys:
                item_value = (field_value or {}).get(key)
                written = f'"{key}"' if "." in key else key  # a dotted key is quoted, as TOML writes it
                if issubclass(item, schema.Sourced):
                    _sections(item, [*path, name, key], builtins, sections)
                else:
                    rows.extend(_rows(item, item_value, f"{dotted}.{written}.", sources, section_source_key or name,
                                      sections, builtins, [*path, name, key]))
            continue
        own_source = getattr(value, "source", "") if not issubclass(model, schema.Sourced) else ""
        annotation = text.annotation
        unit = "" if not numeric(annotation) else \
            next((u for part in reversed(dotted.split(".")) if (u := unit_from_name(part))), "") \
            or next((u for alias, u in UNIT_BY_TYPE.items() if re.search(rf"\b{alias}\b", annotation)), "")
        if issubclass(model, schema.Costs) and numeric(annotation) and not unit.startswith(("currency", "per year")):
            unit = "currency per day" if "per_day" in name else "currency"  # a price (per what: its name or meaning)
        description = info.description or text.comment
        rows.append(Row(dotted, annotation, unit, bounds(info.annotation, info.metadata), default_of(info),
                        "—" if value is None else shown(field_value), description,
                        sources.get(section_source_key or name, "") or own_source))
    return rows


def _sections(model: type[BaseModel], path: list[str], builtins: dict, sections: list[Section]) -> None:
    value, values_from = _values_for(path, builtins) if path else (builtins[BASELINE], BASELINE)
    if path and path[-1] == "<name>":
        value, values_from = None, ""
    section = Section(".".join(path), model, getattr(value, "source", ""), values_from, [])
    sections.append(section)
    prefix = f"{section.path}." if path else ""
    section.rows = _rows(model, value, prefix, getattr(value, "sources", {}) or {}, None, sections, builtins, path)


def scenario_sections() -> list[Section]:
    builtins = {BASELINE: load_scenario(BASELINE)}
    builtins.update({name: load_scenario(name) for name in builtin_names() if name != BASELINE})
    sections: list[Section] = []
    _sections(schema.Scenario, [], builtins, sections)
    return sections


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _alias_table() -> list[str]:
    _, comments = schema_texts()
    out = ["| Type | Meaning | Bounds |", "|---|---|---|"]
    for name, comment in comments.items():
        alias = getattr(schema, name, None)
        if typing.get_origin(alias) is typing.Annotated:
            meaning = UNIT_BY_TYPE.get(name, "") or _cell(comment)
            base = typing.get_args(alias)[0]
            out.append(f"| `{name}` | {getattr(base, '__name__', str(base))}: {meaning or 'a number'} | "
                       f"{bounds(alias, typing.get_args(alias)[1:])} |")
        elif typing.get_origin(alias) is typing.Literal:
            out.append(f"| `{name}` | one of {', '.join(typing.get_args(alias))} | |")
    return out


def scenario_reference() -> str:
    sections = scenario_sections()
    out = [
        "# Scenario reference",
        "",
        f"Generated from the schema (`scenarios/schema.py`) and the built-in scenarios by `{COMMAND}`; do not "
        "edit by hand. Every field of a scenario file, by its dotted path: its type, its unit, its bounds, the "
        "schema's default (*required* where the schema has none: every built-in scenario gives it), the value in "
        f"the built-in `{BASELINE}` scenario (or, for a section the baseline leaves out, the first built-in "
        "scenario that has it, named at the section), what it means, and its source. A section's source applies "
        "to all its fields unless the field names its own (`sources`, in the scenario file). `<drug>`-style "
        "parts are tables keyed by a name.",
        "",
        "Every section below with a source has `source` (text: a study, a guideline, or `illustrative` and why) "
        "and `sources` (a table naming a field's own source). Cross-field rules (shares sum to 1, ladders "
        "descend, ...) are checked when a scenario loads; the error names the field and the value.",
        "",
        "## Types",
        "",
        *_alias_table(),
        "",
    ]
    for section in sections:
        title = section.path or "top level"
        out += [f"## `{title}`", ""]
        doc = section.model.__doc__ if section.model.__doc__ != BaseModel.__doc__ else ""
        if doc and not doc.startswith(section.model.__name__ + "("):
            out += [_cell(doc), ""]
        if section.values_from and section.values_from != BASELINE:
            out += [f"Values from the built-in scenario `{section.values_from}` (the baseline has no "
                    f"`[{section.path}]`).", ""]
        if section.source:
            out += [f"Source: {_cell(section.source)}", ""]
        if not section.rows:
            continue
        out += ["| Field | Type | Unit | Bounds | Default | Value | Meaning | Source |",
                "|---|---|---|---|---|---|---|---|"]
        previous = ""
        for r in section.rows:
            source = "as above" if r.source and r.source == previous else _cell(r.source)
            previous = r.source
            out.append(f"| `{r.path}` | `{_cell(r.type)}` | {r.unit} | {r.bounds} | {r.default} | {r.value} | "
                       f"{_cell(r.description)} | {source} |")
        out.append("")
    return "\n".join(out)


def fields_without_unit_or_meaning() -> list[str]:
    """Numeric fields whose unit neither their name, their type nor a description gives."""
    missing = []
    for section in scenario_sections():
        for row in section.rows:
            if numeric(row.type) and not row.unit and not row.description:
                missing.append(row.path)
    return missing


# -- the tables reference --------------------------------------------------------------------------------------

def column_unit(name: str, meaning: str) -> str:
    if name in ("day", "start_day", "end_day", "planned_day", "ready_day", "diagnosis_day"):
        return "days"
    unit = unit_from_name(name)
    if unit:
        return unit.replace("probability (0-1)", "")
    for scale in ("0-100", "0-1"):
        if f"{scale}" in meaning:
            return f"scale {scale}"
    return ""


def written_when(table: str) -> str:
    if table in tables.CORE_TABLES:
        return "every run"
    if table in tables.UNIT_TABLES:
        return "every run with an [infusion_unit]"
    return "by the reports (costs and outcomes per patient)"


def tables_reference() -> str:
    out = [
        "# Tables reference",
        "",
        f"Generated from the table contract (`simulation/tables.py`) by `{COMMAND}`; do not edit by hand. Every "
        "table a run writes (Parquet, one file per table), every column in order, with its Arrow type, its unit "
        f"and its meaning. Time is in days since diagnosis unless a column says otherwise; a year is "
        f"{tables.YEAR_DAYS:g} days. Empty means null.",
        "",
        "| Table | Written |",
        "|---|---|",
        *[f"| `{name}` | {written_when(name)} |" for name in tables.TABLES],
        "",
    ]
    for name, columns in tables.TABLES.items():
        out += [f"## `{name}`", "", "| Column | Type | Unit | Meaning |", "|---|---|---|---|"]
        out += [f"| `{column}` | {tables.SCHEMAS[name].field(column).type} | {column_unit(column, meaning)} | "
                f"{_cell(meaning)} |" for column, _, meaning in columns]
        out.append("")
    return "\n".join(out)


REFERENCES = {"scenario_reference.md": scenario_reference, "tables_reference.md": tables_reference}


def main() -> None:
    for name, build in REFERENCES.items():
        text = build()
        partial = DOCS / f".{name}.partial"
        partial.write_text(text, "utf-8")
        partial.replace(DOCS / name)
        print(f"wrote docs/{name}", file=sys.stderr)


if __name__ == "__main__":
    main()

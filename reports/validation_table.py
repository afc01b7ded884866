"""The validation table as Markdown (docs/validation.md): published against simulated, with intervals and
tolerances; the table itself comes from `iimsim.experiments.validation`."""

from __future__ import annotations

import pandas as pd


def tally(table: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """(within tolerance, simulated) for the fitted and the held-out targets; input checks (which read back an
    input) are left out."""
    simulated = table[table["within_tolerance"].notna()]
    return {role: (int(rows["within_tolerance"].eq(True).sum()), len(rows))
            for role, rows in ((role, simulated[simulated["role"] == role]) for role in ("fitted", "held out"))}


def closing_line(table: pd.DataFrame) -> str:
    counts = tally(table)
    met = sum(within for within, _ in counts.values())
    total = sum(n for _, n in counts.values())
    (fitted, n_fitted), (held, n_held) = counts["fitted"], counts["held out"]
    return (f"{met} of {total} fitted and held-out targets within tolerance ({fitted} of {n_fitted} fitted, "
            f"{held} of {n_held} held out; input checks not counted)")


def to_markdown(table: pd.DataFrame, command: str) -> str:
    def fmt(value: float, unit: str) -> str:
        if value != value:
            return ""
        return f"{100 * value:.1f}%" if unit == "share" else f"{value:.1f}"

    lines = [f"Produced by `{command}`: {closing_line(table)}.", "",
             "| target | published | simulated (95% CI) | tolerance | within | role | population, source | simulated as |",
             "|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        unit = row.unit
        simulated = fmt(row.simulated_mean, unit)
        if row.ci_low == row.ci_low:
            simulated += f" ({fmt(row.ci_low, unit)} to {fmt(row.ci_high, unit)})"
        met = row.within_tolerance
        within = "n/a" if met is None or met != met else ("yes" if met else "**no**")
        tolerance = row.tolerance if isinstance(row.tolerance, str) else ""
        if unit == "share" and tolerance.startswith("+/-"):
            tolerance = f"+/- {100 * float(tolerance[4:]):g} points"
        elif unit == "share" and tolerance.startswith("within"):
            low, high = tolerance[7:].split("-")
            tolerance = f"{100 * float(low):g}-{100 * float(high):g}%"
        note = f" {row.note}" if isinstance(row.note, str) and row.note else ""
        lines.append(f"| {row.target} | {fmt(row.published_value, unit)}: {row.published_definition} | "
                     f"{simulated or 'not simulated'} | {tolerance} | {within} | {row.role} | "
                     f"{row.population}; {row.source} | "
                     f"{row.simulated_as}.{note} |")
    return "\n".join(lines) + "\n"

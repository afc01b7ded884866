"""A median year and a bad year: infusion chair-days and IVIG grams per calendar year, across replications x years.

A small catchment's year varies a lot around its mean: a planner sizing an infusion unit or an IVIG budget needs
the year to expect (the median) and the bad year to provide for (the 90th percentile). Each replication-year is
one calendar year of one replication; only whole years of the horizon count (a last part-year would look light).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iimsim.simulation.tables import YEAR_DAYS

MEASURES = ("infusion_chair_days", "ivig_g")
BAD_YEAR_PERCENTILE = 90


def whole_years(horizon_days: float) -> int:
    """Calendar years wholly inside the horizon."""
    return int(np.floor(horizon_days / YEAR_DAYS + 1e-9))


def header(table: pd.DataFrame) -> str:
    """What the median and the bad year rest on: "over 15 replication-years (3 replications x 5 whole calendar
    years of the horizon)"."""
    first = table.iloc[0]
    return (f"over {first.replication_years} replication-years ({first.replications} replication(s) x "
            f"{first.years} whole calendar year(s) of the horizon)")


def bad_years(resources: pd.DataFrame, replications, horizon_days: float) -> pd.DataFrame:
    """From resources per replication and year (resources_by_year.csv): one row per measure with its median and
    90th percentile (linear interpolation) over the replication-years, and how many replication-years that is;
    a replication with no IV dose in a year counts as 0 that year."""
    years = whole_years(horizon_days)
    grid = pd.MultiIndex.from_product([sorted(set(replications)), range(1, years + 1)], names=["replication", "year"])
    table = resources.groupby(["replication", "year"])[list(MEASURES)].sum().reindex(grid, fill_value=0)
    rows = []
    for measure in MEASURES:
        values = table[measure].to_numpy(dtype=float)
        rows.append({"measure": measure, "median": np.median(values) if len(values) else np.nan,
                     "p90": np.percentile(values, BAD_YEAR_PERCENTILE) if len(values) else np.nan,
                     "replication_years": len(values), "replications": len(set(replications)), "years": years})
    return pd.DataFrame(rows)

"""When patients are diagnosed: all at day 0 (a closed cohort) or over time in a region (an open cohort).

An open cohort's incident patients arrive as a Poisson process at the region's
incidence over the horizon; its prevalent patients were diagnosed up to
`prevalent_max_years_since_diagnosis` before the start (uniformly), and are followed
from their diagnosis. Arrival times come from their own stream per replication,
apart from the patients' streams, so they do not shift any patient's draws.
"""

from __future__ import annotations

import numpy as np

from iimsim.scenarios.schema import Scenario
from iimsim.simulation.tables import YEAR_DAYS

# Spawn key of the arrivals stream: beyond any patient id, so never a patient's stream.
ARRIVALS_STREAM = 2**62


def diagnosis_days(scenario: Scenario, replication: int) -> np.ndarray:
    """Each patient's day of diagnosis, in days since the start of the horizon (sorted; prevalent first)."""
    region = scenario.region
    if region is None:
        return np.zeros(scenario.simulation.patients)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        scenario.simulation.seed, spawn_key=(replication, ARRIVALS_STREAM))))
    years = scenario.simulation.horizon_years
    rate_per_year = region.population * region.incidence_per_100k_person_years / 100_000
    incident = np.sort(rng.uniform(0.0, years * YEAR_DAYS, rng.poisson(rate_per_year * years)))
    prevalent = np.sort(rng.uniform(-region.prevalent_max_years_since_diagnosis * YEAR_DAYS, 0.0,
                                    region.prevalent_patients))
    return np.concatenate([prevalent, incident])

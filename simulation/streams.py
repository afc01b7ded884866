"""Per-patient random streams.

Each patient's draws come from its own numpy stream, keyed by (seed, replication,
patient_id) through `SeedSequence` spawn keys, so they do not depend on cohort
size, chunking or the number of workers. Draws are consumed in fixed slots (a
patient's attributes, then one row of uniforms per treatment episode) so two
scenarios run with the same seed see the same patients and the same chance
events wherever their pathways agree (common random numbers).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_STANDARD = NormalDist()


def normal_quantile(u: float) -> float:
    """The standard normal quantile of a stream's uniform (a lognormal spread drawn from a slot)."""
    return _STANDARD.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))

ATTRIBUTE_SLOTS = (
    "subtype", "sex", "age", "weight", "ild",
    "weakness_below_mrc4", "respiratory_failure_ild", "myocarditis", "severe_dysphagia",
    "other_life_threatening", "diabetes", "osteoporosis", "glaucoma", "high_relapse_risk", "death", "cancer",
)
N_ATTRIBUTES = 16  # the last (cancer) was a spare slot, so adding it kept every later draw aligned
# The disease's draws come first in the stream, so two scenarios see the same disease (the same
# responsiveness, the same spontaneous flares, the same measurement error at their k-th visit)
# however their treatment differs.
DISEASE_SLOTS = ("untreated_activity", "autoantibody", "refractory", "gc_response", "agent_response",
                 "monocyclic", "withdrawal", "patience", "rp_ild", "suppression_ceiling")
N_DISEASE = 10  # all used
N_DRUG_RESPONSE = 12  # one uniform per drug (scenarios.schema.DRUGS order), one spare
N_MEASURE_RESPONSE = 8  # one per core-set measure: how closely it follows the patient's disease; spares
N_FLARE_GAPS = 8  # uniforms for the gaps between spontaneous flares
VISIT_WIDTH = 8  # standard normals per visit: its drift, the physician's global activity, each other measure,
# and (the last) the disease's waxing and waning since the visit before
VISITS_PER_BLOCK = 32
EPISODE_WIDTH = 8
EPISODES_PER_BLOCK = 8
_DRUGS_AT = N_ATTRIBUTES + N_DISEASE
_MEASURES_AT = _DRUGS_AT + N_DRUG_RESPONSE
_FLARES_AT = _MEASURES_AT + N_MEASURE_RESPONSE
_EPISODES_AT = _FLARES_AT + N_FLARE_GAPS
FIRST_BLOCK = _EPISODES_AT + EPISODE_WIDTH * EPISODES_PER_BLOCK
HARM_STREAM = 1  # the harm stream's extra spawn key
# Attributes added after the first block was laid out draw from a stream of their own, so that no draw of the
# first block (nor the disease's) moved: the adult's height, whether an anti-HMGCR patient took a statin, whether
# the patient would continue IVIG at home as SCIG (pathway/scig.py); spares.
MORE_ATTRIBUTES_STREAM = 2
MORE_ATTRIBUTE_SLOTS = ("height", "statin", "scig")
SCIG_SLOT = MORE_ATTRIBUTE_SLOTS.index("scig")
N_MORE_ATTRIBUTES = 8
HARMS_PER_BLOCK = 16
# Slots within an episode row.
# Slots within an episode row (the second was a response draw the disease course made redundant; the third is spare).
CHOICE, RESISTANT_IVIG, _SPARE, INTOLERANT, INTOLERANCE_TIME, IVIG, SWITCH_CHOICE, FOLLOW_ON = range(8)


class PatientStream:
    """Uniforms for one patient: `attributes` then `episode()` rows, in a fixed order."""

    __slots__ = ("_rng", "attributes", "more_attributes",
                 "disease", "drug_response", "measure_response", "_flare_gaps", "_episodes", "_next", "_visits",
                 "_next_visit", "_key", "_harm_rng", "_harms", "_next_harm")

    def __init__(self, seed: int, replication: int, patient_id: int) -> None:
        self._key = (seed, replication, patient_id)
        self._harm_rng, self._harms, self._next_harm = None, [], 0
        sequence = np.random.SeedSequence(seed, spawn_key=(replication, patient_id))
        self._rng = np.random.Generator(np.random.PCG64(sequence))
        first = self._rng.random(FIRST_BLOCK).tolist()
        self.attributes = first[:N_ATTRIBUTES]
        self.disease = first[N_ATTRIBUTES:_DRUGS_AT]
        self.drug_response = first[_DRUGS_AT:_MEASURES_AT]
        self.measure_response = first[_MEASURES_AT:_FLARES_AT]
        self._flare_gaps = first[_FLARES_AT:_EPISODES_AT]
        self._episodes = first[_EPISODES_AT:]
        self._next = 0
        self._visits = self._rng.standard_normal(VISIT_WIDTH * VISITS_PER_BLOCK).tolist()
        self._next_visit = 0
        self.more_attributes = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            seed, spawn_key=(replication, patient_id, MORE_ATTRIBUTES_STREAM)))).random(N_MORE_ATTRIBUTES).tolist()

    def flare_gap(self, k: int) -> float:
        """The uniform for the gap before the `k`-th spontaneous flare. (Draws beyond the first blocks
        come from the stream in the order needed, so pairing across scenarios holds up to there.)"""
        while k >= len(self._flare_gaps):
            self._flare_gaps.extend(self._rng.random(N_FLARE_GAPS).tolist())
        return self._flare_gaps[k]

    def visit(self) -> list[float]:
        """The next visit's `VISIT_WIDTH` standard normals."""
        start = self._next_visit
        if start + VISIT_WIDTH > len(self._visits):
            self._visits.extend(self._rng.standard_normal(VISIT_WIDTH * VISITS_PER_BLOCK).tolist())
        self._next_visit = start + VISIT_WIDTH
        return self._visits[start:self._next_visit]

    def harm_uniform(self) -> float:
        """The next uniform of the patient's harm stream (simulation/harms.py): a stream of its own, so the
        disease and treatment draws above are the same with or without adverse events, and two scenarios'
        patients meet their harms in the same order of draws (common random numbers)."""
        if self._next_harm == len(self._harms):
            if self._harm_rng is None:
                seed, replication, patient_id = self._key
                self._harm_rng = np.random.Generator(np.random.PCG64(
                    np.random.SeedSequence(seed, spawn_key=(replication, patient_id, HARM_STREAM))))
            self._harms.extend(self._harm_rng.random(HARMS_PER_BLOCK).tolist())
        self._next_harm += 1
        return self._harms[self._next_harm - 1]

    def harm_exponential(self) -> float:
        """A unit exponential from the harm stream."""
        return -math.log1p(-self.harm_uniform())

    def episode(self) -> list[float]:
        """The next episode's row of `EPISODE_WIDTH` uniforms in [0, 1)."""
        start = self._next
        if start + EPISODE_WIDTH > len(self._episodes):
            self._episodes.extend(self._rng.random(EPISODE_WIDTH * EPISODES_PER_BLOCK).tolist())
        self._next = start + EPISODE_WIDTH
        return self._episodes[start:self._next]


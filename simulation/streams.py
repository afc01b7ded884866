"""Per-patient random streams.

Each patient's draws come from its own numpy stream, keyed by (seed, replication,
patient_id) through `SeedSequence` spawn keys, so they do not depend on cohort
size, chunking or the number of workers. Draws are consumed in fixed slots (a
patient's attributes, then one row of uniforms per treatment episode) so two
scenarios run with the same seed see the same patients and the same chance
events wherever their pathways agree (common random numbers).
"""

from __future__ import annotations

import numpy as np

ATTRIBUTE_SLOTS = (
    "subtype", "sex", "age", "weight", "ild",
    "weakness_below_mrc4", "respiratory_failure_ild", "myocarditis", "severe_dysphagia",
    "other_life_threatening", "diabetes", "osteoporosis", "glaucoma", "high_relapse_risk", "death",
)
N_ATTRIBUTES = 16  # one slot spare, so adding an attribute later keeps episode draws aligned
EPISODE_WIDTH = 8
EPISODES_PER_BLOCK = 8
# Slots within an episode row.
CHOICE, RESPONDER, RESPONSE_TIME, INTOLERANT, INTOLERANCE_TIME, IVIG, SWITCH_CHOICE = range(7)


class PatientStream:
    """Uniforms for one patient: `attributes` then `episode()` rows, in a fixed order."""

    __slots__ = ("_rng", "attributes", "_episodes", "_next")

    def __init__(self, seed: int, replication: int, patient_id: int) -> None:
        sequence = np.random.SeedSequence(seed, spawn_key=(replication, patient_id))
        self._rng = np.random.Generator(np.random.PCG64(sequence))
        first = self._rng.random(N_ATTRIBUTES + EPISODE_WIDTH * EPISODES_PER_BLOCK).tolist()
        self.attributes = first[:N_ATTRIBUTES]
        self._episodes = first[N_ATTRIBUTES:]
        self._next = 0

    def episode(self) -> list[float]:
        """The next episode's row of `EPISODE_WIDTH` uniforms in [0, 1)."""
        start = self._next
        if start + EPISODE_WIDTH > len(self._episodes):
            self._episodes.extend(self._rng.random(EPISODE_WIDTH * EPISODES_PER_BLOCK).tolist())
        self._next = start + EPISODE_WIDTH
        return self._episodes[start:self._next]

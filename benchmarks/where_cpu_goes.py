"""Where a simulated patient's CPU goes, and what a throughput target leaves for each part.

    python benchmarks/where_cpu_goes.py                       # baseline, 2,000 patients x 5 years, one chunk
    python benchmarks/where_cpu_goes.py --patients 5000 --target 40000

Runs one chunk of the scenario in this process, `--repeat` times over: bare (the simulation's CPU per
patient), then with the engine's main calls timed, each part's time counted without the timed parts it calls (a
transition fired at a visit counts as a transition, not as the visit). Bare and timed runs alternate and the
fastest of each is kept; the timed run's shares are scaled to the bare run's CPU. Then the budget: at `--target`
patient-years per CPU-second, how many microseconds a patient may cost all in, against what its parts cost now.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iimsim.pathway.machine import Firer
from iimsim.scenarios.loader import resolve
from iimsim.simulation.clinic_visits import Clinic
from iimsim.simulation.engine import Engine
from iimsim.simulation.harms import Harms
from iimsim.simulation.model import CompiledScenario
from iimsim.simulation.recorder import BatchRecorder
from iimsim.simulation.runner import Chunk, simulate_chunk

YEAR_DAYS = 365.25

# (part, class, method): each part's time excludes the timed parts it calls.
PARTS = (
    ("drawing a patient (attributes, disease, risks)", Engine, "new_patient"),
    ("clinic visits (measure, score, decide, record, next visit)", Engine, "_assess"),
    ("transitions with what they start (plan, courses, effects, harms, baseline visit)", Engine, "_fire"),
    ("  of which the transitions trigger itself", Firer, "__call__"),
    ("spontaneous flares", Clinic, "spontaneous_flare"),
    ("adverse events happening", Harms, "happen"),
    ("end of follow-up (closing courses, the patient's row)", Engine, "_finish"),
    ("the batch's Arrow tables", BatchRecorder, "tables"),
)


class ExclusiveTimer:
    """Wraps methods so that each accumulates its own time less that of timed callees, and counts its calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._callee_seconds: list[float] = []
        self._originals: list[tuple[type, str, object]] = []

    def wrap(self, part: str, cls: type, name: str) -> None:
        original = getattr(cls, name)
        self._originals.append((cls, name, original))
        self.seconds[part], self.calls[part] = 0.0, 0
        stack, seconds, calls, clock = self._callee_seconds, self.seconds, self.calls, time.perf_counter

        def timed(*args, **kwargs):
            stack.append(0.0)
            started = clock()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = clock() - started
                callees = stack.pop()
                seconds[part] += elapsed - callees
                calls[part] += 1
                if stack:
                    stack[-1] += elapsed

        setattr(cls, name, timed)

    def restore(self) -> None:
        for cls, name, original in reversed(self._originals):
            setattr(cls, name, original)


def simulation_seconds(engine: Engine, chunk: Chunk) -> tuple[float, dict]:
    started = time.process_time()
    tables = simulate_chunk(engine, chunk)
    return time.process_time() - started, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--target", type=float, default=40_000.0,
                        help="patient-years per CPU-second to work out the budget for")
    parser.add_argument("--repeat", type=int, default=3, help="bare and timed runs, alternating; the fastest kept")
    args = parser.parse_args()

    scenario = resolve(args.scenario, years=args.years)
    engine = Engine(CompiledScenario.compile(scenario))
    chunk = Chunk(0, 0, args.patients)
    simulation_seconds(engine, Chunk(0, 10**9, 50))  # warm the caches (schedules, effects) as a run's first chunk does

    # Bare and timed runs alternate, the fastest of each kept: a shared machine's speed drifts.
    bare_seconds = timed_seconds = float("inf")
    for _ in range(args.repeat):
        seconds, tables = simulation_seconds(engine, chunk)
        bare_seconds = min(bare_seconds, seconds)
        timer = ExclusiveTimer()
        for part, cls, name in PARTS:
            timer.wrap(part, cls, name)
        try:
            seconds, _ = simulation_seconds(engine, chunk)
        finally:
            timer.restore()
        if seconds < timed_seconds:
            timed_seconds, fastest_timer = seconds, timer
    timer = fastest_timer

    patients = tables["patients"]
    patient_years = sum(patients["followup_days"].to_pylist()) / YEAR_DAYS
    per_patient_us = bare_seconds / args.patients * 1e6
    scale = bare_seconds / timed_seconds  # the timing's own cost spread over every part alike
    print(f"{args.scenario}, {args.patients:,} patients x {args.years:g} years: {patient_years:,.0f} patient-years, "
          f"simulation and tables {bare_seconds:.2f} s of CPU ({patient_years / bare_seconds:,.0f} patient-years "
          f"per CPU-second), {per_patient_us:,.0f} us per patient")
    print(f"rows per patient: {tables['assessments'].num_rows / args.patients:.1f} assessments, "
          f"{tables['doses'].num_rows / args.patients:.1f} doses, {tables['events'].num_rows / args.patients:.1f} events")
    print(f"(timed run {timed_seconds:.2f} s: each part below is scaled by {scale:.2f})\n")
    print(f"{'part':<84} {'share':>6} {'us/patient':>10} {'calls/patient':>13} {'us/call':>8}")
    accounted = 0.0
    for part, *_ in PARTS:
        seconds, calls = timer.seconds[part] * scale, timer.calls[part]
        if not part.startswith("  "):
            accounted += seconds
        per_call = f"{seconds / max(calls, 1) * 1e6:>8.1f}" if calls >= args.patients else f"{'':>8}"
        print(f"{part:<84} {seconds / bare_seconds:>6.1%} {seconds / args.patients * 1e6:>10.0f} "
              f"{calls / args.patients:>13.1f} {per_call}")
    rest = bare_seconds - accounted
    print(f"{'the rest (the patient loop, scheduling, the recorder rows outside the parts above)':<84} "
          f"{rest / bare_seconds:>6.1%} {rest / args.patients * 1e6:>10.0f}")

    budget_us = patient_years / args.patients / args.target * 1e6
    tables_us = timer.seconds["the batch's Arrow tables"] * scale / args.patients * 1e6
    print(f"\nAt {args.target:,.0f} patient-years per CPU-second a patient of this cohort "
          f"({patient_years / args.patients:.2f} years followed) may cost {budget_us:.0f} us all in "
          f"(start-up and writing not counted): {per_patient_us / budget_us:.1f} times less than now. "
          f"Building its rows into Arrow tables alone takes {tables_us:.0f} us "
          f"({tables_us / budget_us:.0%} of that budget).")


if __name__ == "__main__":
    main()

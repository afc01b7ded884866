"""Benchmark `iimsim psa`: 200 parameter draws x 2,000 patients x 5 years, with 1 and 2 workers.

    python benchmarks/bench_psa.py [--draws 200] [--patients 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import cpu_seconds  # noqa: E402

from iimsim.reports.manifest import machine  # noqa: E402
from iimsim.experiments.sensitivity import psa  # noqa: E402
from iimsim.scenarios import load_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    scenario = load_scenario("baseline", {"simulation": {"patients": args.patients, "horizon_years": 5.0}})
    results = {}
    for workers in args.workers:
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        table, _ = psa(scenario, args.draws, workers)
        results[workers] = (time.perf_counter() - wall0, cpu_seconds() - cpu0)
        print(f"workers {workers}: {args.draws} draws x {args.patients:,} patients x 5 years in "
              f"{results[workers][0]:.1f} s wall, {results[workers][1]:.1f} s CPU", flush=True)
        results[workers] = (*results[workers], table)
    first, *others = args.workers
    for workers in others:
        same = results[first][2].equals(results[workers][2])
        print(f"workers {workers} vs {first}: identical draws and outcomes: {same}; "
              f"speed-up {results[first][0] / results[workers][0]:.2f}x")
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpu_count']} CPUs, Python {info['python']}")


if __name__ == "__main__":
    main()

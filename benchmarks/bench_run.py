"""Benchmark `iimsim run`: patient-years simulated per CPU-second, and peak memory.

    python benchmarks/bench_run.py                      # baseline, 20,000 patients x 5 years
    python benchmarks/bench_run.py --patients 1000000   # the memory target: peak under 2 GB
    python benchmarks/bench_run.py --scenario infusion_unit --population 20000000   # patients sharing chairs

It runs exactly what `iimsim run` runs (full clinical model, all tables written
to disk as Parquet) and counts CPU time of this process and any workers.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iimsim.run import execute_run  # noqa: E402
from iimsim.reports.manifest import machine  # noqa: E402
from iimsim.scenarios import load_scenario  # noqa: E402


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_memory_mb() -> float:
    """Peak resident set of this process and of the largest worker (ru_maxrss is in KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--population", type=int, default=None,
                        help="a region scenario's population (its patients arrive at the incidence; --patients "
                             "does not apply)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs to time; CPU speed on shared machines varies, so median and best are shown")
    args = parser.parse_args()

    changes = {"simulation": {"patients": args.patients, "horizon_years": args.years}}
    if args.population is not None:
        changes["region"] = {"population": args.population}
    scenario = load_scenario(args.scenario, changes)
    cpus, walls = [], []
    for attempt in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            result = execute_run(scenario, Path(tmp) / "run", workers=args.workers, table_format=args.format,
                                 progress=False)
            cpus.append(cpu_seconds() - cpu0)
            walls.append(time.perf_counter() - wall0)
            size_mb = sum(p.stat().st_size for p in (Path(tmp) / "run").iterdir()) / 2**20
    info = machine()
    rates = sorted(result.patient_years / cpu for cpu in cpus)
    print(f"scenario {args.scenario}: {result.patients:,} patients x {args.years:g} years, "
          f"workers {args.workers}, {args.format}, {args.repeat} runs")
    print(f"patient-years simulated: {result.patient_years:,.0f} per run (deaths end follow-up early)")
    print(f"wall time per run: {', '.join(f'{w:.1f}' for w in walls)} s; "
          f"CPU time per run: {', '.join(f'{c:.1f}' for c in cpus)} s")
    print(f"patient-years per CPU-second: median {statistics.median(rates):,.0f}, best {rates[-1]:,.0f}, "
          f"worst {rates[0]:,.0f}")
    print(f"patients per CPU-second: median {result.patients / statistics.median(cpus):,.0f}")
    print(f"peak memory: {peak_memory_mb():,.0f} MB; output on disk: {size_mb:,.0f} MB")
    print(f"machine: {info['cpu']}, {info['cpu_count']} CPUs, Python {info['python']}, {info['platform']}")


if __name__ == "__main__":
    main()

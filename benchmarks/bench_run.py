"""Benchmark the whole `iimsim run` command: patient-years per CPU-second, peak memory, and the yardstick.

    python benchmarks/bench_run.py                      # baseline, 20,000 patients x 5 years
    python benchmarks/bench_run.py --yardstick naive_simpy.py   # each run paired with a yardstick model
    python benchmarks/bench_run.py --patients 1000000 --repeat 1   # the memory target: under 2 GB
    python benchmarks/bench_run.py --scenario infusion_unit --population 20000000   # patients sharing chairs

Each run is the command a user types, `iimsim run SCENARIO --patients N --years Y --workers W --no-report`
(start-up, the full clinical model, every table written as Parquet), timed as a whole process: its CPU is the
operating system's account of the process and its workers. With `--yardstick PATH`, each run is paired with
`python PATH N Y OUT`, another model of the pathway to measure against (for example a plain SimPy +
transitions model written the straightforward way), run in turn, and the CPU ratio is taken pair by pair so
drift in a shared machine's speed hits both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure import run_measured  # noqa: E402

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
                        help="runs to time; CPU speed on shared machines varies, so median and range are shown")
    parser.add_argument("--yardstick", type=Path, default=None, metavar="PATH",
                        help="a script run as `python PATH PATIENTS YEARS OUT` before each run, its CPU compared "
                             "pair by pair (not with --population)")
    parser.add_argument("--no-naive", action="store_true", help="skip the yardstick runs even with --yardstick")
    args = parser.parse_args()
    if args.yardstick is not None and not args.yardstick.is_file():
        parser.error(f"--yardstick {args.yardstick}: no such file")
    pair_naive = args.yardstick is not None and not args.no_naive and args.population is None

    cpus, peaks, naive_cpus = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            if pair_naive:
                naive_cpus.append(run_measured([sys.executable, str(args.yardstick), str(args.patients), str(args.years),
                                                f"{tmp}/naive"])[0])
            scenario_args = ["--patients", str(args.patients)]
            if args.population is not None:
                scenario = Path(tmp) / "scenario.toml"
                scenario.write_text(_with_population(args.scenario, args.population))
                scenario_args = []
            cpu, peak, _ = run_measured([sys.executable, "-m", "iimsim.cli", "run",
                                      str(scenario) if args.population is not None else args.scenario,
                                      *scenario_args, "--years", str(args.years), "--workers", str(args.workers),
                                      "--format", args.format, "--no-report", "--out", f"{tmp}/run"])
            cpus.append(cpu)
            peaks.append(peak)
            manifest = json.loads((Path(tmp) / "run" / "manifest.json").read_text())
            size_mb = sum(p.stat().st_size for p in (Path(tmp) / "run").iterdir()) / 2**20
    patient_years = manifest["run"]["patient_years"]
    patients = manifest["scenario"]["simulation"]["patients"] if args.population is None else None
    rates = sorted(patient_years / cpu for cpu in cpus)
    print(f"scenario {args.scenario}: {patients or 'region'} patients x {args.years:g} years, "
          f"workers {args.workers}, {args.format}, {args.repeat} runs of the whole command")
    print(f"patient-years simulated: {patient_years:,.0f} per run (deaths end follow-up early)")
    print(f"CPU time per run: {', '.join(f'{c:.1f}' for c in cpus)} s")
    print(f"patient-years per CPU-second: median {statistics.median(rates):,.0f}, best {rates[-1]:,.0f}, "
          f"worst {rates[0]:,.0f}")
    if naive_cpus:
        ratios = sorted(naive / own for naive, own in zip(naive_cpus, cpus))
        print(f"{args.yardstick.name} {args.patients} {args.years:g}: CPU per run "
              f"{', '.join(f'{c:.1f}' for c in naive_cpus)} s")
        print(f"yardstick CPU / iimsim CPU: median {statistics.median(ratios):.2f} of paired runs (range "
              f"{ratios[0]:.2f} to {ratios[-1]:.2f}; above 1, iimsim uses that many times less CPU)")
    print(f"peak memory (largest process): {max(peaks):,.0f} MB; output on disk: {size_mb:,.0f} MB")
    from iimsim.reports.manifest import machine

    info = machine()
    print(f"machine: {info['cpu']}, {info['cpu_count']} CPUs, Python {info['python']}, {info['platform']}")


def _with_population(scenario: str, population: int) -> str:
    """A region scenario as TOML with its population changed."""
    from iimsim.scenarios import load_scenario, to_toml

    return to_toml(load_scenario(scenario, {"region": {"population": population}}))


if __name__ == "__main__":
    main()

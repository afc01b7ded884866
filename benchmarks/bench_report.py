"""Benchmark the whole `iimsim report RUN_DIR` command: wall and CPU seconds, peak memory.

    python benchmarks/bench_report.py --patients 100000 --workers 2        # simulate the run first, then time
    python benchmarks/bench_report.py --run runs/big --repeat 3             # time the report of a saved run

The report is rebuilt from the run's saved tables, as a user rebuilds it: start-up, reading, figures (PNG and
SVG) and the HTML page, timed as a whole process. A run made for the benchmark (`--patients`) is deleted
after.
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
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="a saved run folder to report on")
    parser.add_argument("--scenario", default="baseline", help="without --run: the scenario to simulate")
    parser.add_argument("--patients", type=int, default=100_000, help="without --run: patients to simulate")
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2, help="workers for the run made first")
    parser.add_argument("--repeat", type=int, default=3, help="reports to time (median and range are shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=None if args.run else Path.cwd()) as tmp:
        run_dir = args.run
        if run_dir is None:
            run_dir = Path(tmp) / "run"
            cpu, _, wall = run_measured([sys.executable, "-m", "iimsim.cli", "run", args.scenario,
                                         "--patients", str(args.patients), "--years", str(args.years),
                                         "--workers", str(args.workers), "--no-report",
                                         "--out", str(run_dir)])
            print(f"run: {args.scenario}, {args.patients:,} patients x {args.years:g} years in {wall:.0f} s "
                  f"wall, {cpu:.0f} s CPU, {args.workers} workers")
        timings = [run_measured([sys.executable, "-m", "iimsim.cli", "report", str(run_dir)])
                   for _ in range(args.repeat)]
        manifest = json.loads((run_dir / "manifest.json").read_text())
    cpus, peaks, walls = zip(*timings)
    print(f"report of {manifest['scenario']['simulation']['patients']:,} patients, "
          f"{manifest['run']['patient_years']:,.0f} patient-years ({args.repeat} runs of the whole command)")
    for name, values in (("wall", walls), ("CPU", cpus)):
        print(f"{name} seconds: median {statistics.median(values):.1f} (best {min(values):.1f}, "
              f"worst {max(values):.1f})")
    print(f"peak memory: {max(peaks):,.0f} MB")
    from iimsim.reports.manifest import machine

    info = machine()
    print(f"machine: {info['cpu']}, {info['cpu_count']} CPUs, Python {info['python']}, {info['platform']}")


if __name__ == "__main__":
    main()

"""The `iimsim` command line: parses options, calls the Python API (`iimsim.api`) and prints.

Start-up stays light (`iimsim --help` imports no pandas, numpy, pyarrow, matplotlib, scipy, pydantic, transitions
or simpy): each command imports what it needs when it runs.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from iimsim.arguments import MAX_CHUNK_PATIENTS, MAX_DRAWS, MAX_EVALUATIONS, MAX_WORKERS
from iimsim.scenarios import ScenarioError, builtin_names
from iimsim.scenarios.loader import one_line
from iimsim.scenarios.names import SUBTYPES, folder_name


class UserError(click.ClickException):
    """A bad input: one message, exit code 2, nothing written."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {one_line(self.format_message())}", err=True)


class WriteFailure(UserError):
    """The output could not be written (a full or read-only disk) or the machine ran out of memory: exit code 1."""

    exit_code = 1


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: raised where the main thread is, so that every `finally` and `with` on the way
    out runs (worker processes stopped, half-written output removed)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Interrupted(UserError):
    """A command stopped by a signal: one message, exit code 128 + the signal (the shell's convention)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}; nothing half-written is left")
        self.exit_code = 128 + signum


STOP_DEADLINE_S = 8.0  # a stopped command's clean-up takes well under a second; past this it is stuck


def _end_if_still_running(after_s: float, signum: int) -> None:
    """A signal's promise kept even if the clean-up hangs (a worker pool's threads can wait for good on pipes
    of killed workers): past `after_s`, say so with every thread's stack, kill the child processes and end
    the process with 128 + the signal."""

    def end() -> None:
        import faulthandler
        import multiprocessing
        import os

        sys.stderr.write(f"error: stopped by {signal.Signals(signum).name}; the clean-up did not finish within "
                         f"{after_s:g} s, so the process ends now (its threads' stacks follow)\n")
        faulthandler.dump_traceback(sys.stderr, all_threads=True)
        for child in multiprocessing.active_children():
            child.kill()
        os._exit(128 + signum)

    timer = threading.Timer(after_s, end)
    timer.daemon = True
    timer.start()


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Stopped` while a command runs (in the main thread); a second one while the
    first is being handled is ignored, so that the cleaning up finishes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        for name in (signal.SIGINT, signal.SIGTERM):
            signal.signal(name, signal.SIG_IGN)
        _end_if_still_running(STOP_DEADLINE_S, signum)
        raise Stopped(signum)

    previous = {name: signal.signal(name, stop) for name in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler)


class _Commands(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            with _stopped_by_signals():
                return super().invoke(ctx)
        except Stopped as stopped:
            raise Interrupted(stopped.signum) from None

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """As click's, but a bad option or argument is one line too, as every bad input is."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as err:
            hint = f" (see {err.ctx.command_path} --help)" if err.ctx is not None else ""
            click.echo(f"error: {one_line(err.format_message())}{hint}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@contextmanager
def _user_errors(*also: type[Exception]) -> Iterator[None]:
    """Bad input the API refuses (a scenario, an argument, an existing or busy folder, and the kinds in `also`)
    becomes one message and exit code 2; a failure to write, or to find the memory, one message and exit code 1."""
    from iimsim.reports.staging import OutputExistsError, OutputWriteError, is_write_failure
    from iimsim.scenarios.loader import PatientsNotForRegion

    try:
        yield
    except PatientsNotForRegion as err:  # every command's patients are its --patients
        raise UserError(err.naming("--patients")) from None
    except OutputWriteError as err:
        raise WriteFailure(str(err)) from None
    except MemoryError:
        raise WriteFailure("out of memory: simulate fewer patients, or fewer at once (--chunk-size)") from None
    except (ScenarioError, OutputExistsError, *also) as err:
        raise UserError(str(err)) from None
    except OSError as err:
        if not is_write_failure(err):
            raise
        raise WriteFailure(f"{err.filename or 'output'}: cannot be written ({err.strerror or err})") from None


def _load(scenario: str, **overrides):
    from iimsim.scenarios.loader import resolve

    with _user_errors():
        return resolve(scenario, **overrides)


MAIN_HELP = f"""iimsim: simulate myositis treatment pathways for synthetic patient cohorts.

Built-in scenarios: {", ".join(builtin_names())}. Run one with
`iimsim run baseline --out runs/baseline`.
"""


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]}, help=MAIN_HELP)
@click.version_option(package_name="iimsim")
def main() -> None:
    pass


@main.command()
@click.argument("scenario", default="baseline")
@click.option("--patients", type=click.IntRange(min=1), help="Patients per replication [scenario's value].")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed [scenario's value].")
@click.option("--years", type=click.FloatRange(min=0, min_open=True), help="Horizon in years [scenario's value].")
@click.option("--replications", type=click.IntRange(min=1),
              help="Independent replications; the summary gives each metric's mean and 95% CI [scenario's value].")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder [runs/SCENARIO-NAME].")
@click.option("--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=1, show_default=True,
              help="Worker processes; results are identical for any number.")
@click.option("--format", "table_format", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True, help="Format of the patients, events and doses tables.")
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
@click.option("--chunk-size", type=click.IntRange(min=1, max=MAX_CHUNK_PATIENTS), default=2000, show_default=True,
              help="Patients simulated per batch (bounds memory; does not change results).")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write report.html and figures/ as well.")
@click.option("--backend", type=click.Choice(["processes", "dask"]), default="processes", show_default=True,
              help="Where chunks run: local processes, or Dask distributed (pip install 'iimsim[dask]').")
@click.option("--scheduler", help="Dask scheduler address (tcp://host:8786); without it, a local Dask cluster.")
def run(scenario, patients, seed, years, replications, out_dir, workers, table_format, force, chunk_size,
        report, backend, scheduler) -> None:
    """Simulate SCENARIO (a built-in name or a .toml file) and write its tables.

    A scenario with a [region] simulates an open cohort (patients arriving over the
    horizon) and refuses --patients: its size is region.population.

    Writes patients, events and doses tables, summary.csv, manifest.json, and
    report.html with figures/ into the output folder, atomically: an interrupted
    run leaves nothing behind.
    """
    from iimsim.api import simulate
    from iimsim.scenarios.schema import guideline_departures

    resolved = _load(scenario, patients=patients, seed=seed, years=years, replications=replications)
    out_dir = out_dir or Path("runs") / folder_name(resolved.name)
    for departure in guideline_departures(resolved):
        click.echo(f"note: teaching counterfactual, breaks the Praxis guideline on purpose: {departure}",
                   err=True)
    try:
        with _user_errors():
            result = simulate(resolved, out=out_dir, workers=workers, table_format=table_format, force=force,
                              chunk_size=chunk_size, command=sys.argv, report=report, backend=backend,
                              scheduler=scheduler, progress=None)
    except ModuleNotFoundError as err:
        raise UserError(f"--backend dask needs Dask: pip install 'iimsim[dask]' ({err})") from None
    from iimsim.reports.printed import run_lines

    facts, sim = result.manifest["run"], resolved.simulation
    per = (f"{sim.replications} replications of about {result.summary.set_index('metric').at['patients', 'value']:,.0f}"
           if sim.replications > 1 else "one replication")
    click.echo(f"{resolved.name}: {facts['rows']['patients']:,} patients in all ({per}) in "
               f"{facts['wall_seconds']:.1f} s -> {out_dir}")
    for line in run_lines(result.folder, result.summary, resolved):
        click.echo(line)


@main.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report_command(run_dir: Path) -> None:
    """Rebuild report.html and figures/ in RUN_DIR from its saved tables.

    A missing or damaged file exits with code 2 naming it, and leaves the folder as it was.
    """
    from iimsim.api import load_run
    from iimsim.reports.export import RunFolderError

    with _user_errors(RunFolderError):
        click.echo(f"wrote {load_run(run_dir).report()}")


@main.command()
@click.argument("scenario", default="baseline")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed [scenario's value].")
@click.option("--patient-id", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which patient of the cohort (the same seed and id give the same patient as in a run).")
@click.option("--subtype", type=click.Choice(SUBTYPES), help="Fix the subtype [drawn].")
@click.option("--severity", type=click.Choice(["severe", "non_severe"]), help="Fix the severity [drawn].")
@click.option("--weight-kg", type=click.FloatRange(min=1, max=300), help="Fix the weight in kg [drawn].")
@click.option("--years", type=click.FloatRange(min=0, min_open=True), help="Horizon in years [scenario's value].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [runs/patient-SEED-ID].")
def patient(scenario, seed, patient_id, subtype, severity, weight_kg, years, out_dir) -> None:
    """Simulate one patient and write a timeline figure and a week-by-week story.

    Writes timeline.png/.svg, story.md, story.html and the patient's tables as CSV.
    """
    import pyarrow as pa

    from iimsim.reports.patient_story import write_story
    from iimsim.simulation.runner import simulate_patient

    resolved = _load(scenario, seed=seed, years=years)
    chosen = {"subtype": subtype, "weight_kg": weight_kg,
              "severe": None if severity is None else severity == "severe"}
    tables = simulate_patient(resolved, patient_id, **{k: v for k, v in chosen.items() if v is not None})
    frames = {name: pa.Table.to_pandas(table) for name, table in tables.items()}
    out_dir = out_dir or Path("runs") / f"patient-{resolved.simulation.seed}-{patient_id}"
    with _user_errors():
        paths = write_story(frames, resolved.name, out_dir, resolved.assessment.remission_activity)
    click.echo(paths["markdown"].read_text("utf-8"))
    click.echo(f"wrote {', '.join(str(p) for p in paths.values())}", err=True)


@main.command("compare")
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--patients", type=click.IntRange(min=1), help="Patients per replication [first scenario's value].")
@click.option("--replications", type=click.IntRange(min=2), default=5, show_default=True,
              help="Replications; differences are paired within each.")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed shared by all scenarios [first scenario's].")
@click.option("--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=1, show_default=True, help="Worker processes.")
@click.option("--independent-seeds", is_flag=True,
              help="Give each scenario its own seed instead of common random numbers (to see the difference).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [runs/compare-A-vs-B].")
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
def compare_command(scenarios, patients, replications, seed, workers, independent_seeds, out_dir, force) -> None:
    """Compare two or more SCENARIOS on the same patients (common random numbers).

    Runs each into OUT/NAME (tables, summary, report), then writes comparison.csv (each
    scenario minus the first: paired differences with 95% CIs), comparison.html and figures/.
    With [utilities] in the first scenario it also writes cost_effectiveness.csv: incremental
    discounted cost and QALYs, the ICER stated with its quadrant (dominates, is dominated, a
    trade-off) and net monetary benefit at the scenario's thresholds, each with a 95% CI.
    """
    from iimsim.api import compare

    if len(scenarios) < 2:
        raise UserError("compare needs at least two scenarios")
    names = [_load(name).name for name in scenarios]
    out_dir = out_dir or Path("runs") / folder_name("compare-" + "-vs-".join(names))
    with _user_errors():
        differences = compare(list(scenarios), patients=patients, replications=replications, seed=seed,
                              workers=workers, independent_seeds=independent_seeds, out=out_dir, force=force,
                              progress=None, command=sys.argv)
    from iimsim.reports.labels import Money
    from iimsim.reports.printed import COMPARED_METRICS, difference_line

    money = Money.of(_load(scenarios[0]).costs)
    click.echo(f"each scenario minus {names[0]}, paired within {replications} replications on the same patients: "
               "mean per replication (95% CI)")
    for row in differences[differences.metric.isin(COMPARED_METRICS)].itertuples():
        click.echo(difference_line(row, money))
    wrote = [out_dir / "comparison.html", out_dir / "comparison.csv"]
    if (out_dir / "cost_effectiveness.csv").exists():
        import pandas as pd

        from iimsim.reports.compare_cea import describe

        thresholds = list(_load(scenarios[0]).utilities.thresholds_per_qaly)
        for _, row in pd.read_csv(out_dir / "cost_effectiveness.csv").iterrows():
            click.echo(describe(row, thresholds))
        wrote.append(out_dir / "cost_effectiveness.csv")
    click.echo(f"wrote {', '.join(str(path) for path in wrote)}", err=True)


@main.command("psa")
@click.argument("scenarios", nargs=-1)
@click.option("--draws", type=click.IntRange(min=2, max=MAX_DRAWS), default=100, show_default=True, help="Parameter draws.")
@click.option("--patients", type=click.IntRange(min=1), help="Patients per draw [each scenario's value].")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed shared by all scenarios [each scenario's].")
@click.option("--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=1, show_default=True, help="Worker processes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [runs/psa-SCENARIO, or runs/psa-A-vs-B for several].")
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
def psa_command(scenarios, draws, patients, seed, workers, out_dir, force) -> None:
    """Probabilistic sensitivity analysis over the first scenario's [uncertainty] parameters.

    SCENARIOS: one or more built-in names or .toml files [baseline]. Every scenario is simulated
    on the same parameter draws and the same patients. Writes psa_draws.csv (every draw's
    parameters and outcomes per scenario), psa_summary.csv (mean, sd, 2.5th, 50th and 97.5th
    percentile of every outcome per scenario) and psa.png/.svg. With two or more scenarios and
    [utilities] it also writes the cost-effectiveness plane (ce_plane.csv, each scenario against
    the first), the acceptability curve (ceac.csv) and the expected value of perfect information
    (evpi.csv; for the population when the first scenario is a [region]), each with a figure.
    """
    from iimsim.api import psa
    from iimsim.reports.psa_cea import at_thresholds

    scenarios = scenarios or ("baseline",)
    names = [_load(name).name for name in scenarios]
    out_dir = out_dir or Path("runs") / folder_name("psa-" + "-vs-".join(names))
    with _user_errors(ValueError):
        result = psa(list(scenarios), draws=draws, patients=patients, seed=seed, workers=workers, out=out_dir,
                     force=force)
    if len(scenarios) > 1 and result.cost_effectiveness is None:
        click.echo("note: not every scenario has [utilities]: no cost-effectiveness outputs", err=True)
    from iimsim.reports.labels import Money
    from iimsim.reports.printed import psa_table

    money = Money.of(_load(scenarios[0]).costs)
    click.echo(f"over {draws} parameter draws, each one cohort of the scenario (totals within the horizon; costs "
               "and QALYs per patient):")
    click.echo(psa_table(result.summary, money))
    if result.cost_effectiveness is not None:
        unit, population = money.unit, result.population
        for threshold, rows in at_thresholds(result.cost_effectiveness, result.thresholds_per_qaly).groupby(
                "threshold_per_qaly", sort=True):
            shares = ", ".join(f"{r.strategy} {r.probability_most_cost_effective:.0%}" for r in rows.itertuples())
            value = rows.iloc[0]
            population_text = (f", {value.evpi_population:,.0f} {unit} for the region's patients"
                               if population else "")
            click.echo(f"at {threshold:,.0f} {unit} per QALY: most cost-effective in {shares} of draws; EVPI "
                       f"{value.evpi_per_patient:,.2f} {unit} per patient{population_text}")
    click.echo(f"wrote {out_dir}", err=True)


@main.command("oneway")
@click.argument("scenario", default="baseline")
@click.option("--parameter", "parameters", multiple=True,
              help="A parameter path from [uncertainty] (repeat); [all of them].")
@click.option("--outcome", default="mean_pred_cum_mg", show_default=True, help="A summary metric.")
@click.option("--patients", type=click.IntRange(min=1), help="Patients per run [scenario's value].")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed [scenario's value].")
@click.option("--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=1, show_default=True, help="Worker processes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="[runs/oneway-SCENARIO]")
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
def oneway_command(scenario, parameters, outcome, patients, seed, workers, out_dir, force) -> None:
    """One-way sensitivity: each parameter at its 2.5th and 97.5th percentile; a tornado figure."""
    from iimsim.api import oneway

    out_dir = out_dir or Path("runs") / folder_name(f"oneway-{_load(scenario).name}")
    with _user_errors(ValueError):
        table = oneway(scenario, outcome=outcome, parameters=list(parameters) or None, patients=patients,
                       seed=seed, workers=workers, out=out_dir, force=force)
    click.echo(table[["parameter", "low_value", "high_value", "outcome_at_low", "outcome_at_high", "swing"]]
               .to_string(index=False))
    click.echo(f"wrote {out_dir}", err=True)


@main.command("validate")
@click.argument("scenario", default="baseline")
@click.option("--patients", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Patients per replication and arm.")
@click.option("--replications", type=click.IntRange(min=2), default=5, show_default=True,
              help="Replications (the 95% CI is across them).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed [scenario's value].")
@click.option("--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=1, show_default=True, help="Worker processes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for validation.csv and validation.md [runs/validation-SCENARIO]; a run folder's "
                   "report is rebuilt with the table.")
def validate_command(scenario, patients, replications, seed, workers, out_dir) -> None:
    """Compare SCENARIO's results with published figures (trials simulated as trials).

    Prints and writes a table: target, published value and definition, population, source,
    simulated value with 95% CI, tolerance and whether it is met.
    """
    from iimsim.api import validate

    out_dir = out_dir or Path("runs") / folder_name(f"validation-{_load(scenario).name}")
    with _user_errors(ValueError):
        table = validate(scenario, patients=patients, replications=replications, seed=seed, workers=workers,
                         out=out_dir, progress=lambda text: click.echo(text, err=True))
    click.echo((out_dir / "validation.md").read_text("utf-8"))
    from iimsim.reports.validation_table import closing_line

    click.echo(f"{closing_line(table)}; wrote {out_dir / 'validation.csv'}", err=True)
    if (out_dir / "manifest.json").exists() and (out_dir / "summary.csv").exists():
        click.echo(f"rebuilt {out_dir / 'report.html'} with the validation table", err=True)


@main.command("calibrate")
@click.argument("scenario", default="baseline")
@click.option("--patients", type=click.IntRange(min=50), default=1000, show_default=True,
              help="Patients per arm at each evaluation (the same patients every time).")
@click.option("--max-evaluations", type=click.IntRange(min=1, max=MAX_EVALUATIONS), default=120, show_default=True,
              help="Simulations of the fitted targets the search may run.")
@click.option("--seed", type=click.IntRange(min=0), default=20261123, show_default=True, help="Random seed.")
@click.option("--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=1, show_default=True, help="Worker processes.")
@click.option("--write", "write_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Put the fitted values, with the calibration as their source, into this scenario file "
                   "(e.g. scenarios/builtin/baseline.toml).")
@click.option("--parameters", "parameter_list", default=None, metavar="PATH,PATH,...",
              help="Fit only these scenario paths (comma-separated, e.g. "
                   "mortality.myositis_death_rate_per_year,mortality.rp_ild_death_rate_per_year) [the model's "
                   "free parameters].")
@click.option("--targets", "target_list", default=None, metavar="KEY,KEY,...",
              help="Fit to only these of the targets marked fitted (comma-separated keys, as listed on the "
                   "'targets:' line this command prints, e.g. rp_ild_combined) [all of them].")
def calibrate_command(scenario, patients, max_evaluations, seed, workers, write_to, parameter_list,
                      target_list) -> None:
    """Fit the disease model's free parameters to the published targets marked fitted.

    Names the parameters and the targets, searches (Nelder-Mead on the log scale, the same patients
    at every evaluation), prints the fitted values and how far each fitted target is from its value;
    `iimsim validate` then checks the targets kept out of the fit.
    """
    from iimsim.api import calibrate

    _load(scenario)
    with _user_errors(ValueError):
        parameters = [path.strip() for path in parameter_list.split(",") if path.strip()] if parameter_list else None
        targets = [key.strip() for key in target_list.split(",") if key.strip()] if target_list else None
        result = calibrate(scenario, parameters=parameters, patients=patients, seed=seed,
                           max_evaluations=max_evaluations, workers=workers, write=write_to,
                           progress=lambda text: click.echo(text, err=True), targets=targets)
    for path, value in result.parameters.items():
        click.echo(f"{path} = {value:.4g}  (was {result.start[path]:.4g})")
    for key, value in result.targets.items():
        click.echo(f"  {key}: simulated {value:.3g}, published {result.published[key]:.3g}")
    click.echo(f"objective {result.objective:.3f} (start {result.start_objective:.3f}) after "
               f"{result.evaluations} evaluations")
    if write_to is not None:
        click.echo(f"wrote the fitted values into {write_to}", err=True)


@main.group()
def scenario() -> None:
    """List and show scenarios."""


@scenario.command("list")
def scenario_list() -> None:
    """List the built-in scenarios with their descriptions."""
    for name in builtin_names():
        click.echo(f"{name}: {_load(name).description}")


@scenario.command("show")
@click.argument("name")
def scenario_show(name: str) -> None:
    """Print scenario NAME fully resolved, as TOML to copy, edit and run."""
    from iimsim.scenarios import to_toml

    click.echo(to_toml(_load(name)), nl=False)


@main.command()
@click.option("--format", "diagram_format", type=click.Choice(["svg", "png", "mermaid", "dot", "json"]),
              default="mermaid", show_default=True, help="Export format; svg and png need Graphviz.")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Annotate with a run's counts: patients entering each state, share taking each transition.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to a file [stdout; pathway.svg or pathway.png for images].")
def diagram(diagram_format: str, run_dir: Path | None, output: Path | None) -> None:
    """Draw the pathway machine (states, transitions, triggers) from its one definition."""
    from iimsim.reports.diagram import GraphvizMissing
    from iimsim.reports.diagram import diagram as draw

    from iimsim.reports.export import RunFolderError

    try:
        with _user_errors(RunFolderError):
            content = draw(diagram_format, run_dir)
    except GraphvizMissing as err:
        raise UserError(str(err)) from None
    except FileNotFoundError as err:
        raise UserError(f"{run_dir}: {err}") from None
    if output is None and diagram_format in ("svg", "png"):
        output = Path(f"pathway.{diagram_format}")
    if output is None:
        click.echo(content.decode(), nl=False)
    else:
        with _user_errors():
            output.write_bytes(content)
        click.echo(f"wrote {output}", err=True)


@main.command("app")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8501, show_default=True, help="Port to serve on.")
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Address to bind; the default serves this machine only.")
@click.option("--browser/--no-browser", default=True, show_default=True, help="Open a web browser on the app.")
def app_command(port: int, address: str, browser: bool) -> None:
    """The interactive app (Streamlit): Teach steps through one patient's course week by week; Plan runs,
    compares and downloads scenarios. Needs the app extra: pip install -e ".[app]"."""
    from iimsim.app.launch import INSTALL_HINT, launch, streamlit_installed

    if not streamlit_installed():
        raise UserError(INSTALL_HINT)
    sys.exit(launch(port, address, browser))


if __name__ == "__main__":
    main()

"""The report: every figure's numbers against the tables, the HTML in a real headless Chromium."""

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import headless_chromium

from iimsim.pathway.audit import AUDIT_COLUMNS
from iimsim.cli import main
from iimsim.pathway.definition import STATE_NAMES, TREATMENT_LINE_STATES
from iimsim.reports import figure_data as data
from iimsim.reports.export import read_table
from iimsim.reports.resources import resources_by_year

FIGURES = ("cumulative_dose", "dose_over_time", "time_in_lines", "occupancy", "time_to_event", "disease_course", "harms",
           "flows", "resources_by_year", "costs_by_year")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    result = CliRunner().invoke(main, ["run", "--patients", "400", "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def tables(run_dir):
    return {name: read_table(run_dir, name).to_pandas() for name in ("patients", "events", "doses")}


def test_run_writes_the_report_and_every_figure(run_dir):
    assert (run_dir / "report.html").exists()
    for name in FIGURES:
        for suffix in ("png", "svg", "csv"):
            assert (run_dir / "figures" / f"{name}.{suffix}").stat().st_size > 0, (name, suffix)


def test_dose_curve_area_is_the_mean_cumulative_dose(tables):
    p, d = tables["patients"], tables["doses"]
    curve = data.mean_dose_step_curve(d, p)
    assert data.step_curve_area(curve) == pytest.approx(p.pred_cum_mg.mean())


def test_weekly_dose_statistics_match_each_patients_dose(tables):
    p, d = tables["patients"], tables["doses"]
    grid = data.time_grid(p)
    weekly = data.dose_over_time(d, p, grid)
    gc = data.glucocorticoid_rows(d)
    for k in (0, 5, 30, 100):
        day = grid[k]
        on = gc[(gc.start_day <= day) & (gc.end_day > day)]
        per_patient = on.groupby("patient_id").prednisone_eq_mg_per_day.sum().reindex(p.patient_id, fill_value=0)
        assert weekly.mean_mg_per_day[k] == pytest.approx(per_patient.mean())
        assert weekly.share_ge_20mg[k] == pytest.approx((per_patient >= 20).mean())
        assert weekly.p90_mg_per_day[k] == pytest.approx(np.percentile(per_patient, 90))


def test_occupancy_shares_sum_to_one_and_match_the_transitions(tables):
    p, e = tables["patients"], tables["events"]
    grid = data.time_grid(p)
    shares = data.occupancy(e, p, grid)
    assert np.allclose(shares[list(STATE_NAMES)].sum(axis=1), 1.0)
    # at any grid day, the shares are those of each patient's latest transition by then
    t = e[e.is_transition]
    for k in (0, 26, len(grid) - 1):
        state_then = t[t.day <= grid[k]].groupby("patient_id").to_state.last()
        expected = state_then.value_counts(normalize=True)
        for state in STATE_NAMES:
            assert shares[state][k] == pytest.approx(expected.get(state, 0.0))
    # integrating occupancy over time gives the mean days in each state (to the weekly grid's resolution)
    for state in ("maintenance", "first_line"):
        assert (shares[state][:-1] * 7).sum() == pytest.approx(p[f"days_in_{state}"].mean(), rel=0.05)


def test_time_in_lines_means_are_the_patients_table_means(tables):
    p = tables["patients"]
    lines = data.time_in_lines(p).set_index("state")
    for state in TREATMENT_LINE_STATES:
        assert lines.loc[state, "mean_days"] == pytest.approx(p[f"days_in_{state}"].mean())
        assert lines.loc[state, "ci_low_days"] <= lines.loc[state, "mean_days"] <= lines.loc[state, "ci_high_days"]


def test_flows_count_every_transition(tables):
    e = tables["events"]
    table = data.flows(e)
    assert table.to_numpy().sum() == e.is_transition.sum()
    assert table.loc["diagnosis"].sum() == len(tables["patients"])


def test_resources_by_year_add_up_to_the_cohort(tables, run_dir):
    p, d = tables["patients"], tables["doses"]
    per_year = resources_by_year(d[d.route == "iv"], data.horizon_days(p))
    summary = pd.read_csv(run_dir / "summary.csv").set_index("metric")["value"]
    assert per_year.ivig_g.sum() == pytest.approx(p.ivig_g.sum())
    assert per_year.infusion_chair_days.sum() == pytest.approx(summary["infusion_chair_days_total"])
    assert per_year.rituximab_infusions.sum() == (d.drug == "rituximab").sum()
    assert per_year.iv_pulse_courses.sum() == (d.drug == "methylprednisolone").sum()  # at diagnosis and at severe flares
    assert (d[d.drug == "methylprednisolone"].start_day == 0).sum() == (p.days_in_iv_pulse > 0).sum()
    # the report sums batches of rows: the parts add up to the whole
    halves = [resources_by_year(part, data.horizon_days(p)).set_index("year")
              for part in (d[d.route == "iv"].iloc[::2], d[d.route == "iv"].iloc[1::2])]
    pd.testing.assert_frame_equal(halves[0] + halves[1], per_year.set_index("year"), check_dtype=False)
    # the run saved it per replication (one here) and the report shows the mean per replication
    saved = pd.read_csv(run_dir / "resources_by_year.csv")
    pd.testing.assert_frame_equal(saved.drop(columns="replication"), per_year, check_dtype=False)
    report_table = pd.read_csv(run_dir / "figures" / "resources_by_year.csv")
    pd.testing.assert_frame_equal(report_table[per_year.columns], per_year, check_dtype=False)


def test_disease_course_figure_counts_the_patients_table(tables, run_dir):
    """Improvement shares at 12 months are the patients table's categories; first flares are its events."""
    shown = pd.read_csv(run_dir / "figures" / "disease_course.csv")
    twelve = shown[shown.months == 12].set_index("category")
    p = tables["patients"]
    expected = p.improvement_12_months.dropna().value_counts(normalize=True)
    for category in ("none", "minimal", "moderate", "major"):
        assert twelve.loc[category, "share"] == pytest.approx(expected.get(category, 0.0))
    assert (twelve.patients_assessed == p.tis_12_months.notna().sum()).all()
    assert shown.groupby("months").share.sum().round(9).eq(1.0).all()
    flares = pd.read_csv(run_dir / "figures" / "first_flares.csv")
    e = tables["events"]
    flared = e[e.is_transition & e.event.isin(["flare", "relapse"])].patient_id.nunique()
    assert len(flares) == flared and set(flares["where"]) <= {"during the taper", "on maintenance", "after withdrawal"}


def test_kaplan_meier_equals_the_plain_share_without_early_censoring():
    from tests.conftest import simulate

    # No deaths: everyone is followed to the horizon, so KM is the share reaching remission by each day.
    run = simulate(patients=300, seed=2, years=2.0, overrides={
        "mortality": {"population_death_rate_at_50_per_year": 1e-12, "myositis_death_rate_per_year": 0.0,
                      "rp_ild_death_rate_per_year": 0.0},
        "adverse_events": {"serious_infection": {"case_fatality": 0.0}, "pjp": {"case_fatality": 0.0}}})
    assert not run["patients"].died.any()
    times = data.event_times(run["events"], run["patients"])["remission"]
    curve = data.kaplan_meier(times)
    remission = run["patients"].time_to_remission_days
    for _, row in curve.iloc[1:].iterrows():
        assert row.share_reached == pytest.approx((remission <= row.day).mean())
    # one row a day at most: the curve as it stands after the day's last step (a million patients, ~1,800 rows)
    whole_days = np.floor(curve["day"])
    assert whole_days.is_unique
    for _, row in curve.iterrows():
        assert row.share_reached == pytest.approx((remission < np.floor(row.day) + 1).mean())


def test_steroid_exposure_bars_count_every_patient_once(tables):
    p = tables["patients"]
    bars = data.dose_histogram(p)
    for period, column in (("whole follow-up", "pred_cum_mg"), ("first year", "pred_cum_mg_first_year")):
        grams = p[column] / 1000
        shown = bars[bars.period == period]
        assert shown.patients.sum() == len(p)
        assert shown.mean_g.iloc[0] == pytest.approx(grams.mean())
        assert (shown.high_g.to_numpy()[:-1] == shown.low_g.to_numpy()[1:]).all()  # bars side by side
        inner = shown.iloc[1:-1]
        for row in inner.itertuples():
            assert row.patients == ((grams >= row.low_g) & (grams < row.high_g)).sum()


def test_audit_table_counts_the_flags():
    from tests.conftest import simulate

    p = simulate("steroid_monotherapy", patients=50, seed=3)["patients"]
    audit = data.audit_table(p, "steroid_monotherapy")
    # what the table counts is what the patients table flags (a low induction dose is not a high dose held)
    assert list(audit.patients_flagged) == [int(p[flag].sum()) for flag in AUDIT_COLUMNS]
    assert list(audit.patients_flagged)[:2] == [50, 50] and audit.patients_flagged.iloc[2] > 35


def test_report_rebuilds_from_saved_tables(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "figures")
    (copy / "report.html").unlink()
    result = CliRunner().invoke(main, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    for name in FIGURES:
        assert (copy / "figures" / f"{name}.csv").read_text() == (run_dir / "figures" / f"{name}.csv").read_text()
    assert (copy / "report.html").exists()


def _folder_state(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    """Garbage in the middle of the file: its footer still reads, its pages do not."""
    content = bytearray(path.read_bytes())
    content[100:400] = b"x" * 300
    path.write_bytes(bytes(content))


# The tables the report reads, damaged anywhere; a table it does not read (assessments), cut short.
DAMAGES = [(table, damage) for table in ("doses", "events", "patient_costs") for damage in (_truncate, _garble)]
DAMAGES += [("assessments", _truncate)]
DAMAGES += [("doses", Path.unlink), ("events", Path.unlink)]  # runs from before the disease course have no assessments


@pytest.mark.parametrize("table, damage", DAMAGES, ids=[f"{t}-{d.__name__.strip('_')}" for t, d in DAMAGES])
def test_a_damaged_or_missing_table_exits_2_naming_it_and_leaves_the_folder_as_it_was(run_dir, tmp_path, table,
                                                                                       damage):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    damage(copy / f"{table}.parquet")
    before = _folder_state(copy)
    result = CliRunner().invoke(main, ["report", str(copy)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"{table}.parquet" in lines[0]
    assert "Traceback" not in result.output
    assert _folder_state(copy) == before and not [p for p in copy.iterdir() if p.name.startswith(".")]


def test_a_csv_table_cut_short_exits_2_naming_it(tmp_path):
    out = tmp_path / "run"
    args = ["run", "--patients", "60", "--years", "1", "--format", "csv", "--no-report", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    events = out / "events.csv"
    events.write_bytes(events.read_bytes()[:-25])  # the last row cut in the middle
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 2 and "events.csv" in result.output and "cut short" in result.output
    assert not (out / "report.html").exists()


def test_a_folder_that_is_not_a_run_exits_2_naming_what_is_missing(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "manifest.json" in result.output and "Traceback" not in result.output


def test_report_templates_load_when_only_iimsim_is_importable(tmp_path):
    """Installed, the folders are iimsim.reports etc.: nothing may import a top-level `reports`."""
    import subprocess
    import sys

    import iimsim

    (tmp_path / "iimsim").symlink_to(Path(iimsim.__file__).parent, target_is_directory=True)
    code = ("import importlib.util, sys; sys.path[:0] = [sys.argv[1]]; "
            "from iimsim.reports.report import TEMPLATES; "
            "print(importlib.util.find_spec('reports') is None, TEMPLATES.get_template('report.html.j2').name)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "report.html.j2"]


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    browser = headless_chromium()
    try:
        browser.get((run_dir / "report.html").resolve().as_uri())
        images = browser.execute_script(
            "return [...document.querySelectorAll('img.report-figure')]"
            ".map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);")
        assert len(images) == len(FIGURES)
        for alt, complete, width, height in images:
            assert complete and width > 300 and height > 200, alt
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
        headings = browser.execute_script("return [...document.querySelectorAll('h2')].map(h => h.textContent);")
        assert headings == ["Key metrics", "Figures", "Guideline audit (the three pitfalls Praxis names)",
                            "Resource use per year of the horizon", "A median and a bad year", "Costs",
                            "Model description (STRESS-DES)"]
        shot = tmp_path / "report.png"
        browser.save_screenshot(str(shot))
    finally:
        browser.quit()
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.std() > 0.05  # not a blank page


def test_every_state_of_the_pathway_has_its_own_colour_in_the_figures():
    from iimsim.pathway.definition import STATE_NAMES
    from iimsim.reports.figures import STATE_COLOURS

    assert set(STATE_COLOURS) == set(STATE_NAMES)
    assert len(set(STATE_COLOURS.values())) == len(STATE_NAMES)

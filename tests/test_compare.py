"""iimsim compare: common random numbers, paired differences with CIs."""

import pandas as pd
from click.testing import CliRunner

from iimsim.cli import main
import iimsim


def per_replication_differences(out, a, b, metric):
    ra = pd.read_csv(out / a / "summary_by_replication.csv").query("metric == @metric").set_index("replication")
    rb = pd.read_csv(out / b / "summary_by_replication.csv").query("metric == @metric").set_index("replication")
    return rb.value - ra.value


def test_identical_scenarios_differ_by_exactly_zero(tmp_path):
    copy = tmp_path / "copy.toml"
    copy.write_text('extends = "baseline"\nname = "baseline_copy"\n')
    result = CliRunner().invoke(main, ["compare", "baseline", str(copy), "--patients", "80", "--replications", "3",
                                       "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert len(table) > 30 and set(table.scenario) == {"baseline_copy"}
    assert (table.difference.fillna(0) == 0).all()
    assert (table.ci_low.fillna(0) == 0).all() and (table.ci_high.fillna(0) == 0).all()
    html = (tmp_path / "cmp" / "comparison.html").read_text()
    assert "Common random numbers" in html and html.count('class="report-figure"') == 4


def test_common_random_numbers_shrink_the_variance_of_differences(tmp_path):
    crn, independent = tmp_path / "crn", tmp_path / "independent"
    iimsim.compare(["baseline", "severe_ivig"], out=crn, patients=200, replications=6, seed=3)
    iimsim.compare(["baseline", "severe_ivig"], out=independent, patients=200, replications=6, seed=3,
                   independent_seeds=True)
    for metric in ("mean_pred_cum_mg", "ivig_g_total", "share_reached_remission"):
        paired = per_replication_differences(crn, "baseline", "severe_ivig", metric)
        unpaired = per_replication_differences(independent, "baseline", "severe_ivig", metric)
        assert paired.var() < unpaired.var(), metric
    # the same patients in both scenarios of a CRN comparison
    patients = [pd.read_parquet(crn / name / "patients.parquet") for name in ("baseline", "severe_ivig")]
    assert (patients[0][["subtype", "weight_kg", "severity"]] == patients[1][["subtype", "weight_kg", "severity"]]).all().all()
    table = pd.read_csv(crn / "comparison.csv").set_index("metric")
    assert table.loc["ivig_g_total", "ci_low"] > 0  # more IVIG when half of severe patients get it


def test_compare_needs_two_scenarios_and_a_free_folder(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["compare", "baseline"]).exit_code == 2
    (tmp_path / "taken").mkdir()
    result = runner.invoke(main, ["compare", "baseline", "severe_ivig", "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2 and "--force" in result.output
    assert runner.invoke(main, ["compare", "baseline", "nosuch"]).exit_code == 2

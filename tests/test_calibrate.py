"""Calibration: the search improves on its start, and the fitted values land in a scenario with their source."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import iimsim.scenarios
from iimsim.experiments.calibrate import calibrate, write_values
from iimsim.scenarios import load_scenario

BASELINE = Path(iimsim.scenarios.__file__).parent / "builtin" / "baseline.toml"


def test_the_search_never_ends_worse_than_it_started():
    result = calibrate("baseline", ("agents.ivig.effect", "disease.gc_max_effect"), patients=60, max_evaluations=4)
    assert 1 < result.evaluations <= 5
    assert result.objective <= result.start_objective
    assert set(result.parameters) == {"agents.ivig.effect", "disease.gc_max_effect"}
    assert result.start["agents.ivig.effect"] == pytest.approx(load_scenario("baseline").agents["ivig"].effect)
    assert set(result.targets) >= {"proderm_difference", "rim_rituximab", "residual_weakness"}


def test_fitted_values_are_written_with_the_calibration_as_their_source(tmp_path):
    path = tmp_path / "baseline.toml"
    shutil.copy(BASELINE, path)
    write_values(path, {"agents.ivig.effect": 0.4321, "agents.abatacept.effect": 0.7654,
                        "disease.fluctuation_sd": 0.1234}, "iimsim calibrate test")
    scenario = load_scenario(str(path))
    assert scenario.agents["ivig"].effect == pytest.approx(0.4321)
    assert scenario.agents["abatacept"].effect == pytest.approx(0.7654)
    assert scenario.disease.fluctuation_sd == pytest.approx(0.1234)
    for section in (scenario.agents["ivig"], scenario.agents["abatacept"]):
        assert section.sources["effect"].startswith("calibrated: iimsim calibrate test")
    assert scenario.disease.sources["fluctuation_sd"].startswith("calibrated: iimsim calibrate test")
    # nothing else moved
    base = load_scenario("baseline")
    assert scenario.agents["ivig"].full_effect_days == base.agents["ivig"].full_effect_days
    assert scenario.glucocorticoids == base.glucocorticoids


def test_optional_mechanisms_are_fitted_only_where_a_scenario_switches_them_on(tmp_path):
    from iimsim.experiments.calibrate import OPTIONAL_PARAMETERS, PARAMETERS, parameters_for

    # the baseline leaves the ceiling and expectation off and sets the recovery of strength and function
    assert parameters_for("baseline") == (*PARAMETERS, "assessment.recovery_days")
    path = tmp_path / "with_ceiling.toml"
    text = BASELINE.read_text("utf-8").replace("\ngc_onset_days = ", "\nsuppression_ceiling = 3.0\ngc_onset_days = ", 1)
    path.write_text(text, "utf-8")
    assert parameters_for(str(path)) == (*PARAMETERS, OPTIONAL_PARAMETERS[0], "assessment.recovery_days")


def test_a_fit_to_named_targets_sees_only_those_and_refuses_held_out_ones():
    result = calibrate("baseline", ("mortality.rp_ild_death_rate_per_year",), patients=60, max_evaluations=2,
                       targets=["rp_ild_combined"])
    assert set(result.targets) == {"rp_ild_combined"}
    from iimsim.experiments.calibrate import fitted_targets
    with pytest.raises(ValueError, match="'rp_ild_step_up' is held out, not fitted"):
        fitted_targets(["rp_ild_step_up"])
    with pytest.raises(ValueError, match="did you mean 'rp_ild_combined'"):
        fitted_targets(["rp_ild_combine"])

"""iimsim from Python, as a notebook user would use it: simulate a cohort, read its summary, group its patients,
compare two scenarios, save the run and load it back.

    python docs/api_example.py [FOLDER]     # FOLDER for the saved run [runs/api-example]

The tests run this file as it is (tests/test_api.py), so it stays true to the API.
"""

import sys
from pathlib import Path

import iimsim

folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/api-example")

# 1. Simulate 300 patients of the built-in baseline over 3 years. Overrides: patients, seed, years, replications,
#    or any scenario path, dotted: iimsim.simulate("baseline", **{"cohort.p_ild.DM": 0.3}).
run = iimsim.simulate("baseline", patients=300, seed=7, years=3)

# 2. The summary: one row per metric with its unit (and a 95% interval with replications > 1).
summary = run.summary.set_index("metric")
print(summary.loc[["share_reached_remission", "mean_pred_cum_mg", "share_died"], ["value", "unit"]])
print(f"remission: {run.metric('share_reached_remission'):.1%}")

# 3. The tables are pandas DataFrames: one row per patient, per event, per dose, per clinic visit.
by_subtype = run.patients.groupby("subtype", observed=True).agg(
    patients=("patient_id", "size"),
    share_in_remission=("time_to_remission_days", lambda days: days.notna().mean()),
    mean_pred_cum_mg=("pred_cum_mg", "mean"),
)
print(by_subtype.round(2))

# 4. Compare two scenarios on the same patients (common random numbers): each metric's paired difference with
#    its 95% CI over replications. out="runs/compare" would also write the comparison page and figures.
differences = iimsim.compare(["baseline", "severe_ivig"], patients=200, replications=3, seed=7)
print(differences.set_index("metric").loc[["ivig_g_total", "mean_pred_cum_mg"],
                                          ["difference", "ci_low", "ci_high", "unit"]])

# 5. Save the run (the same folder `iimsim run` writes; force=True replaces an earlier one) and load it back.
run.save(folder, force=True)
again = iimsim.load_run(folder)
assert again.patients.equals(run.patients)
print(f"saved {again!r}: {len(again.patients)} patients, {len(again.doses)} dose rows")

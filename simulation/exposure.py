"""Each patient's glucocorticoid and IVIG exposure, summed from a batch's dose rows (the patients table's
exposure columns)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iimsim.pathway.glucocorticoids import GLUCOCORTICOIDS
from iimsim.simulation.tables import YEAR_DAYS
from iimsim.simulation.tables import PRED_ABOVE_LOW_MG_PER_DAY, PRED_HIGH_DOSE_MG_PER_DAY, PRED_HIGH_MG_PER_DAY


def dose_metrics(doses: pa.Table, first_patient_id: int, n: int) -> dict[str, np.ndarray]:
    """Per-patient glucocorticoid and IVIG exposure from a batch's dose rows."""
    index = doses["patient_id"].to_numpy() - first_patient_id
    start = doses["start_day"].to_numpy()
    end = doses["end_day"].to_numpy()
    days = end - start
    pred = doses["prednisone_eq_mg_per_day"].to_numpy(zero_copy_only=False)
    gc = pc.is_in(doses["drug"], pa.array(GLUCOCORTICOIDS)).to_numpy(zero_copy_only=False)
    ivig = pc.equal(doses["drug"], "ivig").to_numpy(zero_copy_only=False)
    dose = doses["dose"].to_numpy()
    first_year_days = np.clip(end, 0, YEAR_DAYS) - np.clip(start, 0, YEAR_DAYS)

    def per_patient(mask, weights):
        return np.bincount(index[mask], weights=weights[mask], minlength=n)

    return {
        "longest_high_dose_hold_days": longest_high_dose_hold(index[gc], start[gc], end[gc], pred[gc], n),
        "pred_cum_mg": per_patient(gc, pred * days),
        "pred_cum_mg_first_year": per_patient(gc, pred * first_year_days),
        "days_pred_ge_20mg": per_patient(gc & (pred >= PRED_HIGH_MG_PER_DAY), days),
        "days_pred_gt_7_5mg": per_patient(gc & (pred > PRED_ABOVE_LOW_MG_PER_DAY), days),
        "days_pred_gt_30mg": per_patient(gc & (pred > PRED_HIGH_DOSE_MG_PER_DAY), days),
        "ivig_g": per_patient(ivig, dose * days),
    }


def longest_high_dose_hold(index: np.ndarray, start: np.ndarray, end: np.ndarray, pred: np.ndarray,
                           n: int) -> np.ndarray:
    """Per patient, the longest stretch at one unchanged high dose (> 30 mg/day), days: glucocorticoid rows in
    patient and time order, rows that carry on the same dose without a gap counted as one."""
    out = np.zeros(n)
    if len(index) == 0:
        return out
    same = np.r_[False, (index[1:] == index[:-1]) & (pred[1:] == pred[:-1]) & (start[1:] == end[:-1])]
    run = np.cumsum(~same) - 1
    length = np.bincount(run, weights=end - start)
    first = np.flatnonzero(~same)
    high = pred[first] > PRED_HIGH_DOSE_MG_PER_DAY
    np.maximum.at(out, index[first][high], length[high])
    return out

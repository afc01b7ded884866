"""The agent chosen at each line: never an agent that failed or was not tolerated, ILD at every line, and what a
later line's agent replaces or joins (BMJ Best Practice, Idiopathic inflammatory myopathies: treatment algorithm)."""

import numpy as np
import pandas as pd
import pytest
from iimsim.pathway.agents import OptionTable, choose_option
from iimsim.pathway.definition import TREATMENT_LINE_STATES
from iimsim.pathway.rules import JOINS_BACKGROUND
from iimsim.scenarios.loader import load_scenario
from iimsim.simulation.model import CompiledScenario

from tests.conftest import simulate

ORAL = {"methotrexate", "azathioprine", "mycophenolate", "ciclosporin", "tacrolimus"}
AGENTS = ORAL | {"rituximab", "cyclophosphamide", "abatacept", "tocilizumab"}


@pytest.fixture(scope="module")
def escalating_run():
    """Half the cohort with ILD, no IBM (which does not escalate): many patients reach the later lines."""
    shares = {"DM": 0.3, "PM": 0.15, "IMNM_HMGCR": 0.1, "IMNM_SRP": 0.1, "ASS": 0.25, "IBM": 0.0, "JDM": 0.1}
    return simulate("baseline", patients=1500, seed=5, overrides={"cohort": {
        "subtype_shares": shares, "p_ild": {s: 0.5 for s in shares}}})


@pytest.fixture(scope="module")
def escalating_model():
    return CompiledScenario.compile(load_scenario("baseline"))


def _line_starts(run):
    """Each transition into a treatment line with the agents it started, in order (the event's detail)."""
    events = run["events"]
    starts = events[events.is_transition & events.to_state.isin((*TREATMENT_LINE_STATES, "iv_pulse"))]
    return starts.assign(agents=starts.detail.map(
        lambda d: tuple(a for a in d.split("; ")[-1].split(" + ") if a in AGENTS)))


def test_a_line_never_repeats_only_agents_that_failed_or_gives_one_not_tolerated(escalating_run, escalating_model):
    events = _line_starts(escalating_run).sort_values(["patient_id", "day"], kind="stable")
    patients = escalating_run["patients"].set_index("patient_id")
    checked = repeated = 0
    for patient_id, rows in events.groupby("patient_id"):
        ild = bool(patients.loc[patient_id, "has_ild"])
        subtype = patients.loc[patient_id, "subtype"]
        failed, intolerant, current = set(), set(), ()
        for row in rows.itertuples():
            if row.event == "fail" or (row.event == "flare" and row.from_state == "maintenance"):
                failed |= set(current)
            if row.event == "intolerance" and current:
                intolerant.add(current[0])  # the line's principal agent
            if row.agents and row.event in ("fail", "intolerance", "flare"):
                assert intolerant.isdisjoint(row.agents), (patient_id, row.day, row.agents, intolerant)
                assert not (ild and "methotrexate" in row.agents)
                if set(row.agents) <= failed:  # only when the line had nothing new left to give
                    tables = escalating_model.lines[row.to_state].tables_for(subtype, ild)
                    excluded = frozenset(intolerant | ({"methotrexate"} if ild else set()))
                    assert all(t.without(excluded).choose(0.5, excluded, frozenset(failed)) is None for t in tables)
                    repeated += 1
                checked += 1
            if row.agents:
                current = row.agents
    assert checked > 300 and repeated < 0.05 * checked


def test_ild_patients_never_get_methotrexate_at_any_line(escalating_run):
    p, doses = escalating_run["patients"], escalating_run["doses"]
    ild = p.loc[p.has_ild, "patient_id"]
    assert (p.loc[p.has_ild, "highest_line"] >= 4).sum() > 30  # many reach the refractory combination
    assert not doses[doses.patient_id.isin(ild) & (doses.drug == "methotrexate")].size


def test_cyclophosphamide_replaces_the_oral_immunosuppressant_and_hands_over_to_maintenance(escalating_run):
    doses = escalating_run["doses"]
    # (anti-MDA5 rapidly progressive ILD gets tacrolimus with cyclophosphamide together, by design: Tsuji et al.)
    rp_ild = escalating_run["patients"].loc[escalating_run["patients"].rp_ild, "patient_id"]
    doses = doses[~doses.patient_id.isin(rp_ild)]
    cyc = doses[doses.drug == "cyclophosphamide"]
    first = cyc.sort_values("start_day").groupby("patient_id").start_day.first()
    assert len(first) > 50
    oral = doses[doses.drug.isin(ORAL)]
    handed_over = 0
    for patient_id, day in first.items():
        mine = oral[oral.patient_id == patient_id]
        course = cyc[(cyc.patient_id == patient_id) & (cyc.start_day >= day) & (cyc.start_day <= day + 140.0 + 1e-6)]
        during = mine[(mine.start_day < course.end_day.max()) & (mine.end_day > day + 1e-9)]
        assert during.empty, during  # nothing oral beside the monthly infusions
        if len(course) == 6:  # the whole course given: then azathioprine or mycophenolate
            after = mine[np.isclose(mine.start_day, day + 168.0)]
            handed_over += set(after.drug) <= {"azathioprine", "mycophenolate"} and not after.empty
    assert handed_over > 0.5 * len(first)


def test_options_exclude_failed_and_not_tolerated_agents():
    table = OptionTable.from_weights({"mycophenolate": 0.5, "tacrolimus": 0.5})
    for u in np.linspace(0, 0.999, 11):
        assert choose_option((table,), u, frozenset(), frozenset({"mycophenolate"})) == ("tacrolimus",)
        assert choose_option((table,), u, frozenset({"tacrolimus"}), frozenset()) == ("mycophenolate",)
    combination = OptionTable.from_weights({"tacrolimus+mycophenolate": 1.0, "ciclosporin+mycophenolate": 1.0})
    # an agent that failed alone may join a new one; a combination of agents that all failed is not repeated
    assert choose_option((combination,), 0.0, frozenset(), frozenset({"mycophenolate"})) == (
        "tacrolimus", "mycophenolate")
    assert choose_option((combination,), 0.0, frozenset(), frozenset({"mycophenolate", "tacrolimus"})) == (
        "ciclosporin", "mycophenolate")


def test_joining_agents_keep_the_background_agent_and_rituximab_is_one(escalating_run):
    doses, events = escalating_run["doses"], _line_starts(escalating_run)
    rtx = events[events.agents.map(lambda a: "rituximab" in a) & (events.event == "fail")]
    kept = 0
    for row in rtx.head(60).itertuples():
        mine = doses[(doses.patient_id == row.patient_id) & doses.drug.isin(ORAL)]
        kept += bool(((mine.start_day < row.day) & (mine.end_day > row.day + 1)).any())
    assert kept > 0.8 * min(len(rtx), 60)
    assert pd.Series(sorted(JOINS_BACKGROUND)).isin(["rituximab", "abatacept", "tocilizumab", "ivig", "placebo"]).all()

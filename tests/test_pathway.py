"""The pathway machine: routing by guards, reachability, exports from one definition."""

import json
from types import SimpleNamespace

import pytest

from iimsim.pathway.definition import STATE_NAMES, TRANSITIONS, TRIGGERS
from iimsim.pathway.machine import Firer, to_dot, to_json, to_mermaid


def patient(state="diagnosis", **facts):
    defaults = dict(severe=False, subtype="DM", remission_line=0, switch_agent=None)
    return SimpleNamespace(state=state, **{**defaults, **facts})


@pytest.fixture(scope="module")
def fire():
    return Firer()


@pytest.mark.parametrize("severe, expected", [(True, "iv_pulse"), (False, "first_line")])
def test_triage_by_severity(fire, severe, expected):
    assert fire(patient(severe=severe), "triage") == expected


@pytest.mark.parametrize("subtype, expected", [("IBM", "supportive_care"), ("DM", "second_line"),
                                               ("IMNM_HMGCR", "second_line")])
def test_first_line_failure_escalates_except_ibm(fire, subtype, expected):
    assert fire(patient("first_line", subtype=subtype), "fail") == expected


def test_escalation_order(fire):
    order = ["second_line", "third_line", "refractory_combination", "refractory_alternative", "supportive_care"]
    for source, dest in zip(order, order[1:]):
        assert fire(patient(source), "fail") == dest


def test_intolerance_switches_within_line_or_escalates(fire):
    assert fire(patient("first_line", switch_agent=("azathioprine",)), "intolerance") == "first_line"
    assert fire(patient("first_line"), "intolerance") == "second_line"
    assert fire(patient("third_line"), "intolerance") == "refractory_combination"


@pytest.mark.parametrize("line, expected", [(1, "second_line"), (2, "third_line"), (3, "refractory_combination"),
                                            (4, "refractory_alternative"), (5, "refractory_alternative")])
def test_flare_escalates_beyond_the_line_that_brought_remission(fire, line, expected):
    assert fire(patient("maintenance", remission_line=line), "flare") == expected


def test_relapse_after_withdrawal_reinduces_the_remission_line(fire):
    assert fire(patient("drug_free_remission", remission_line=3), "relapse") == "third_line"


def test_every_state_is_reachable_and_only_death_is_terminal():
    reachable, frontier = {"diagnosis"}, ["diagnosis"]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if t.source == state and t.dest not in reachable:
                reachable.add(t.dest)
                frontier.append(t.dest)
    assert reachable == set(STATE_NAMES)
    with_exit = {t.source for t in TRANSITIONS}
    assert set(STATE_NAMES) - with_exit == {"dead"}


def test_each_trigger_source_pair_ends_with_an_unguarded_fallback():
    by_pair = {}
    for t in TRANSITIONS:
        by_pair.setdefault((t.trigger, t.source), []).append(t)
    for (trigger, source), options in by_pair.items():
        if trigger in ("triage",) or len(options) > 1:
            assert options[-1].guard is None, (trigger, source)
        assert all(o.guard is not None for o in options[:-1]), (trigger, source)


def test_exports_come_from_the_same_definition():
    data = json.loads(to_json())
    assert [s["name"] for s in data["states"]] == list(STATE_NAMES)
    assert data["triggers"] == list(TRIGGERS)
    assert len(data["transitions"]) == len(TRANSITIONS)
    mermaid, dot = to_mermaid(), to_dot()
    for t in TRANSITIONS:
        assert f"{t.source} --> {t.dest}" in mermaid
        assert f"{t.source} -> {t.dest}" in dot


def test_a_trigger_with_no_transition_from_the_state_is_an_error(fire):
    from transitions import MachineError
    with pytest.raises(MachineError):
        fire(SimpleNamespace(state="dead"), "respond")


def test_the_direct_machine_refuses_callbacks_it_would_not_run():
    from iimsim.pathway.machine import PathwayMachine, _refuse_callbacks
    machine = PathwayMachine(model=None, states=["a", "b"], initial="a", auto_transitions=False,
                             transitions=[{"trigger": "go", "source": "a", "dest": "b", "after": "log"}])
    with pytest.raises(TypeError, match="no callbacks"):
        _refuse_callbacks(machine)

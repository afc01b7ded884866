"""Teach: one synthetic patient's course, week by week, with the pathway diagram, the dose and disease activity
so far, and the story up to the week shown."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pandas as pd
import streamlit as st

from iimsim.app import teach_course as course
from iimsim.app.figure_lock import FIGURE_LOCK
from iimsim.pathway.machine import to_dot
from iimsim.reports.diagram import GraphvizMissing, render
from iimsim.reports.patient_story import STATE_WORDS, timeline
from iimsim.scenarios import builtin_names, load_scenario
from iimsim.scenarios.schema import SUBTYPE_NAMES, SUBTYPES

WEEK = "teach_week"
SHOWN_PATIENT = "teach_patient"


@st.cache_data(max_entries=32, show_spinner=False)
def _simulate(scenario: str, patient_id: int, subtype: str, severe: bool, weight_kg: float,
              comorbidities: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    return course.simulate_one(scenario, patient_id=patient_id, subtype=subtype, severe=severe,
                               weight_kg=weight_kg, comorbidities=comorbidities)


@st.cache_data(max_entries=8, show_spinner=False)
def _remission_activity(scenario: str) -> float:
    return load_scenario(scenario).assessment.remission_activity


def _timeline_png(tables: dict[str, pd.DataFrame], until_day: float, remission_activity: float) -> bytes:
    buffer = io.BytesIO()
    with FIGURE_LOCK:
        fig = timeline(tables["patients"].iloc[0], tables["events"], tables["doses"], tables.get("assessments"),
                       remission_activity, until_day=until_day)
        fig.savefig(buffer, format="png", dpi=90)
        plt.close(fig)
    return buffer.getvalue()


def _diagram(dot_source: str) -> None:
    """The pathway as SVG drawn by Graphviz's dot (fast), or without it by the browser (slow in a headless one)."""
    try:
        svg = render(dot_source, "svg").decode("utf-8")
    except GraphvizMissing:
        st.graphviz_chart(dot_source, width="stretch")
        return
    st.image(svg[svg.index("<svg"):], width="stretch")


def _choose_patient() -> tuple:
    with st.sidebar:
        st.header("The patient")
        names = builtin_names()
        scenario = st.selectbox("Scenario", names, index=names.index("baseline"),
                                help="Whose pathway: the built-in scenarios (`iimsim scenario list`).")
        subtype = st.selectbox("Subtype", SUBTYPES, format_func=lambda s: f"{s}: {SUBTYPE_NAMES[s]}")
        severe = st.radio("Severity", ["severe", "non-severe"], horizontal=True,
                          help="BMJ Best Practice: weakness worse than MRC 4, respiratory failure from ILD, "
                               "myocarditis, severe dysphagia or another life-threatening complication.") == "severe"
        juvenile = subtype == "JDM"
        weight_kg = st.slider("Weight (kg)", 10, 150, 28 if juvenile else 70, key=f"teach_weight_{juvenile}",
                              help="Sets the glucocorticoid dose (mg/kg/day) and IVIG (g/kg).")
        comorbidities = st.multiselect("Comorbidities at diagnosis", list(course.COMORBIDITY_PATHS),
                                       help="Diabetes or osteoporosis lower the prednisolone dose "
                                            "(BMJ Best Practice); interstitial lung disease changes the "
                                            "agents chosen.")
        patient_id = st.number_input("Patient number", min_value=0, value=0, step=1,
                                     help="Another number draws another patient: age, sex, autoantibody and how "
                                          "the disease behaves (the same patient as in a run with that id).")
    return scenario, int(patient_id), subtype, severe, float(weight_kg), tuple(comorbidities)


def _step_controls(weeks: list[tuple[int, list[str]]], last: int) -> None:
    def go(week: int | None) -> None:
        if week is not None:
            st.session_state[WEEK] = max(0, min(last, week))

    now = st.session_state[WEEK]
    buttons = [("Start", ":material/first_page:", 0),
               ("Previous event", ":material/fast_rewind:", course.previous_story_week(weeks, now)),
               ("Previous week", ":material/chevron_left:", now - 1),
               ("Next week", ":material/chevron_right:", now + 1),
               ("Next event", ":material/fast_forward:", course.next_story_week(weeks, now)),
               ("End", ":material/last_page:", last)]
    for column, (label, icon, week) in zip(st.columns(len(buttons)), buttons):
        column.button(label, icon=icon, on_click=go, args=(week,), width="stretch",
                      type="primary" if label == "Next event" else "secondary")
    st.slider("Week since diagnosis", 0, last, key=WEEK)


def page() -> None:
    st.title("Teach: one patient, week by week")
    chosen = _choose_patient()
    tables = _simulate(*chosen)
    patient = tables["patients"].iloc[0]
    weeks = course.story(tables)
    last = course.last_week(patient)
    if st.session_state.get(SHOWN_PATIENT) != chosen or WEEK not in st.session_state:
        st.session_state[SHOWN_PATIENT] = chosen
        st.session_state[WEEK] = 0
    st.session_state[WEEK] = min(st.session_state[WEEK], last)
    _step_controls(weeks, last)
    week = st.session_state[WEEK]

    until = course.week_end_day(week)
    state = course.state_at_end_of_week(tables["events"], week)
    seen = course.last_assessment(tables["assessments"], week)
    facts = st.columns(4)
    facts[0].metric("Week", f"{week} of {last}", help="Weeks since diagnosis; the course is shown to the end of "
                                                      "this week.")
    facts[1].metric("Pathway state", state.replace("_", " "), help=STATE_WORDS.get(state, state).capitalize()
                    + " (outlined in red in the diagram).")
    facts[2].metric("Glucocorticoid", f"{course.glucocorticoid_mg_per_day(tables['doses'], until - 1):g} mg/day",
                    help="Prednisone-equivalent on the last day of the week.")
    facts[3].metric("Disease activity at the last visit",
                    "none yet" if seen is None else f"{seen['activity_measured']:.2f}",
                    help="Physician's global activity as measured, 0 (none) to 1.")

    this_week = dict(weeks).get(week)
    with st.container(key="teach-this-week", border=True):
        st.markdown(f"**Week {week}:** " + (" ".join(this_week) if this_week else "nothing new this week."))
    with st.container(key="teach-diagram"):
        _diagram(to_dot({state: f"week {week}"}, highlight=state))
    st.image(_timeline_png(tables, until, _remission_activity(chosen[0])),
             caption="The course so far (dashed line: the end of this week): glucocorticoid dose, disease "
                     "activity with what each visit decided, lines and drugs.")
    st.subheader("The story so far")
    with st.container(height=320):
        for story_week, sentences in reversed(course.story_so_far(weeks, week)):
            st.markdown(f"**Week {story_week}:** {' '.join(sentences)}")

"""The app (`iimsim app`) served by Streamlit and driven in a real headless Chromium: the Teach page steps to the
patient's next event with the diagram on its state, a bad uploaded file gets the command line's message and a bad
value one naming the field, and a Plan run completes with numbers on the page that match the run's saved
tables."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from xml.etree import ElementTree

import pytest
from conftest import headless_chromium

import iimsim
from iimsim.app import teach_course as course
from iimsim.app.launch import streamlit_installed

SVG = "{http://www.w3.org/2000/svg}"
TIMEOUT_S = 90  # the slowest step (a run and its report) takes about 15 s on a shared 2-CPU machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"iimsim app exited with {process.returncode}: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)  # polling the health check: the server is not listening yet
    pytest.fail(f"iimsim app did not answer {url}/_stcore/health within {TIMEOUT_S} s")


REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _skip_without_streamlit() -> None:
    if not streamlit_installed():
        if os.environ.get("CI"):
            pytest.fail('CI must have Streamlit: tests/setup.sh installs iimsim with its app extra')
        pytest.skip('Streamlit not installed (pip install -e ".[app]")')


@pytest.fixture(scope="module")
def app_url():
    _skip_without_streamlit()
    url = f"http://127.0.0.1:{_free_port()}"
    process = subprocess.Popen([sys.executable, "-m", "iimsim.cli", "app", "--port", url.rsplit(":", 1)[1],
                                "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.parametrize("display", [False, True], ids=["no display", "a display"])
def test_iimsim_app_serves_on_a_fresh_machine_with_stdin_closed(display, tmp_path):
    # `iimsim app` as the README says, for a user who never ran Streamlit (an empty home) and with no terminal to
    # answer a prompt: it must serve, write nothing into the home and, with a display, open the browser on it.
    _skip_without_streamlit()
    home, tools = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    tools.mkdir()
    opener = tools / "xdg-open"  # stands for the desktop's browser: records the address it was asked to open
    opener.write_text(f'#!/bin/sh\necho "$1" > {tmp_path / "opened"}\n')
    opener.chmod(0o755)
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH")}
    environment.update(HOME=str(home), PATH=f"{tools}{os.pathsep}{environment['PATH']}",
                       **({"DISPLAY": ":0"} if display else {}))
    port = _free_port()  # the README's default port, 8501, may be taken on a shared machine
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "iimsim.cli", "app", "--port", str(port)], cwd=REPOSITORY,
                               env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_healthy(url, process)
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200 and b"<html" in answer.read().lower()
        if display:
            deadline = time.monotonic() + 10  # Streamlit opens the browser just after it starts serving
            while not (tmp_path / "opened").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert (tmp_path / "opened").read_text().strip() == url
        else:
            assert not (tmp_path / "opened").exists()
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "Email" not in output
    assert list(home.iterdir()) == []


@pytest.fixture()
def browser():
    driver = headless_chromium("1400,2000")
    yield driver
    driver.quit()


def _wait(browser):
    """An explicit wait that looks again when Streamlit replaces an element while it reruns the page."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, TIMEOUT_S, ignored_exceptions=(NoSuchElementException,
                                                                 StaleElementReferenceException))


def _text(browser, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector).text


def _metrics(browser, within: str = "") -> dict[str, str]:
    """Label -> value of every st.metric on the page (or in the container matching `within`)."""
    from selenium.webdriver.common.by import By

    shown = {}
    for metric in browser.find_elements(By.CSS_SELECTOR, f'{within} [data-testid="stMetric"]'.strip()):
        label = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text.strip()
        shown[label] = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text.strip()
    return shown


def _button(browser, label: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.XPATH, f'//button[.//p[normalize-space()="{label}"]]')


def _type(browser, label: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = browser.find_element(By.CSS_SELECTOR, f'input[aria-label="{label}"]')
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.TAB)


def _error_shown(browser) -> str:
    """The text of the error message on the page ('' while there is none)."""
    from selenium.webdriver.common.by import By

    alerts = [a.text for a in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stAlert"]')]
    return next((text for text in alerts if text.startswith("error:")), "")


def _outlined_states(browser) -> list[str]:
    """The states outlined in red in the Teach page's diagram (an SVG image drawn by dot, or inline SVG drawn by
    the browser when dot is missing)."""
    from selenium.webdriver.common.by import By

    images = browser.find_elements(By.CSS_SELECTOR, ".st-key-teach-diagram img")
    if images:
        source = images[0].get_attribute("src")
        if source.startswith("data:"):
            svg = base64.b64decode(source.split("base64,", 1)[1])
        else:
            with urllib.request.urlopen(source, timeout=10) as answer:
                svg = answer.read()
    else:
        svg = browser.find_element(By.CSS_SELECTOR, ".st-key-teach-diagram svg").get_attribute("outerHTML")
    nodes = [g for g in ElementTree.fromstring(svg).iter(f"{SVG}g") if g.get("class") == "node"]
    return [g.find(f"{SVG}title").text for g in nodes if any(e.get("stroke") == "#d62728" for e in g.iter())]


def test_teach_steps_to_the_next_event_with_the_diagram_on_its_state(app_url, browser):
    # The page's defaults: baseline, patient 0, severe dermatomyositis, 70 kg, no comorbidities.
    tables = course.simulate_one("baseline", patient_id=0, subtype="DM", severe=True, weight_kg=70.0)
    weeks = course.story(tables)
    last = course.horizon_week(iimsim.resolve("baseline").simulation.horizon_years)  # not when it dies
    week = course.next_story_week(weeks, 0)
    state = course.state_at_end_of_week(tables["events"], week)

    browser.get(app_url)
    _wait(browser).until(lambda b: _metrics(b).get("Week") == f"0 of {last}")
    _button(browser, "Next event").click()
    _wait(browser).until(lambda b: _metrics(b).get("Week") == f"{week} of {last}")
    this_week = _wait(browser).until(lambda b: _text(b, ".st-key-teach-this-week").startswith(f"Week {week}:")
                                     and _text(b, ".st-key-teach-this-week"))
    assert " ".join(dict(weeks)[week]) in this_week
    assert _metrics(browser)["Pathway state"] == state.replace("_", " ")
    _wait(browser).until(lambda b: _outlined_states(b) == [state])


def test_plan_names_a_bad_file_and_field_then_runs_and_shows_the_tables_numbers(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(f"{app_url}/plan")
    _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'input[aria-label="Patients per replication"]'))
    browser.find_element(By.XPATH, '//label[.//p[normalize-space()="a scenario file (TOML)"]]').click()
    upload = _wait(browser).until(lambda b: b.find_element(By.CSS_SELECTOR, 'input[type="file"]'))
    bad = tmp_path / "mine.toml"
    bad.write_text('extends = "baseline"\n[disease.p_refractory]\nDM = 1.5\n')
    upload.send_keys(str(bad))
    error = _wait(browser).until(_error_shown)
    assert error == "error: mine.toml: disease.p_refractory.DM = 1.5: Input should be less than or equal to 1"
    browser.find_element(By.XPATH, '//label[.//p[normalize-space()="a built-in scenario"]]').click()

    _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'input[aria-label="Patients per replication"]'))
    _type(browser, "Patients per replication", "0")
    _button(browser, "Run").click()
    error = _wait(browser).until(_error_shown)
    assert error == "error: baseline: simulation.patients = 0: Input should be greater than 0"

    _type(browser, "Patients per replication", "60")
    _type(browser, "Replications", "2")
    started = time.perf_counter()
    _button(browser, "Run").click()
    # the run is complete when its downloads are offered (the report is the last thing made)
    _wait(browser).until(lambda b: b.find_elements(
        By.XPATH, '//*[contains(@class, "st-key-plan-result")]//button[.//p[normalize-space()="report.html"]]'))
    print(f"Plan run of 60 patients x 2 replications with its report: {time.perf_counter() - started:.1f} s")
    folder = browser.find_element(By.XPATH, '//*[contains(@class, "st-key-plan-result")]'
                                            '//p[starts-with(normalize-space(), "Means per replication")]/code').text
    from iimsim.reports.labels import Money, label

    run = iimsim.load_run(folder)
    shown, money = _metrics(browser, ".st-key-plan-result"), Money.of(run.scenario.costs)
    assert shown[label("patients").text] == label("patients").shown(60, money)
    assert len(run.patients) == 120 and set(run.patients["replication"]) == {0, 1}
    died = run.patients.groupby("replication")["died"].mean().mean()
    assert shown[label("share_died").text] == label("share_died").shown(died, money)
    first_year = run.patients.groupby("replication")["pred_cum_mg_first_year"].mean().mean()
    entry = label("mean_pred_cum_mg_first_year")
    assert shown[entry.text] == entry.shown(first_year, money)
    # every figure of the run's report, in its order, each with its caption
    from iimsim.reports.report import figure_index

    report_figures = figure_index(folder)
    tabs = browser.find_elements(By.CSS_SELECTOR, '.st-key-plan-result [role="tab"]')
    assert [tab.text.strip() for tab in tabs] == [figure["title"] for figure in report_figures]
    shown_caption = '.st-key-plan-result [role="tabpanel"] [data-testid="stCaptionContainer"]'  # the open tab's
    for tab, figure in zip(tabs, report_figures):
        tab.click()
        _wait(browser).until(lambda b: figure["caption"] in [c.text.strip().replace("≥", ">=") for c in  # typeset
                                                             b.find_elements(By.CSS_SELECTOR, shown_caption)])

"""The app tried as a hostile user would, in a real headless Chromium through its upload and Run controls: an upload
that reaches for a file on the server gets a message and nothing of the file; a name and description full of
Markdown, HTML and links show as text and nothing in them is fetched; values that would exhaust the server get one
line naming the bound (the app's own caps stated on the page); the server stays up and answering."""

from __future__ import annotations

import http.server
import threading
import urllib.request

import pytest

from iimsim.scenarios.loader import builtin_names
from test_app import _button, _error_shown, _type, _wait, app_url, browser  # noqa: F401  (fixtures)

import iimsim

SECRET = 'api_token = "s3cr3t-do-not-show"\n'


@pytest.fixture()
def beacon():
    """A web server on this machine that counts the requests it gets (nothing on the page may fetch from it)."""
    requests: list[str] = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


def _upload(browser, app_url, path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{app_url}/plan")
    _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'input[aria-label="Patients per replication"]'))
    browser.find_element(By.XPATH, '//label[.//p[normalize-space()="a scenario file (TOML)"]]').click()
    _wait(browser).until(lambda b: b.find_element(By.CSS_SELECTOR, 'input[type="file"]')).send_keys(str(path))


def _page_text(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.TAG_NAME, "body").text


def _healthy(app_url: str) -> bool:
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=10) as answer:
        return answer.read() == b"ok"


def test_an_upload_may_not_read_a_file_on_the_server(app_url, browser, tmp_path):
    secret = tmp_path / "server" / "secret.toml"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    mine = tmp_path / "mine.toml"
    mine.write_text(f'extends = "{secret}"\n')
    _upload(browser, app_url, mine)
    error = _wait(browser).until(_error_shown)
    assert error.startswith("error: mine.toml: extends = '/") and error.endswith(
        f"secret.toml': an uploaded scenario may extend only a built-in scenario ({', '.join(builtin_names())})")
    assert "s3cr3t" not in _page_text(browser) and "api_token" not in _page_text(browser)


def test_a_name_and_description_show_as_text_and_nothing_in_them_is_fetched(app_url, browser, tmp_path, beacon):
    from selenium.webdriver.common.by import By

    url, requests = beacon
    name = "**bold** ../../escaped <b>x</b>"
    description = (f"![tracker]({url}/image.png) <img src='{url}/html.png'> [click](javascript:alert(1)) "
                   f":red[red] $x^2$ {url}/bare")
    mine = tmp_path / "mine.toml"
    mine.write_text(f'extends = "baseline"\nname = "{name}"\ndescription = "{description}"\n')
    _upload(browser, app_url, mine)
    caption = _wait(browser).until(lambda b: next(
        (c.text for c in b.find_elements(By.CSS_SELECTOR, '[data-testid="stCaptionContainer"]')
         if c.text.startswith(name)), ""))
    assert caption == f"{name}: {description}"
    assert not browser.find_elements(By.CSS_SELECTOR, f'img[src^="{url}"], a[href^="javascript"]')

    _type(browser, "Patients per replication", "20")
    _type(browser, "Replications", "2")
    _button(browser, "Run").click()
    _wait(browser).until(lambda b: b.find_elements(
        By.XPATH, '//*[contains(@class, "st-key-plan-result")]//button[.//p[normalize-space()="report.html"]]'))
    header = browser.find_element(By.CSS_SELECTOR, ".st-key-plan-result h2").text
    assert header == f"Run: {name}-edited"
    folder = browser.find_element(By.XPATH, '//*[contains(@class, "st-key-plan-result")]'
                                            '//p[starts-with(normalize-space(), "Means per replication")]/code').text
    run = iimsim.load_run(folder)  # in the app's temporary folder, named safely
    assert run.folder.parent.name.startswith("iimsim-run-") and "/" not in run.folder.name.replace(" ", "")
    assert run.scenario_name == f"{name}-edited" and len(run.patients) == 40
    assert requests == []


def test_values_that_would_exhaust_the_server_get_one_line_and_it_stays_up(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By

    mine = tmp_path / "tiny.toml"
    mine.write_text('extends = "baseline"\n[lines.first_line]\nassessment_interval_days = 1e-320\n')
    _upload(browser, app_url, mine)
    assert _wait(browser).until(_error_shown) == (
        "error: tiny.toml: lines.first_line.assessment_interval_days = 1e-320: Input should be greater than or equal "
        "to 1")
    assert _healthy(app_url)

    browser.get(f"{app_url}/plan")
    _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'input[aria-label="Patients per replication"]'))
    assert "The app runs at most 100,000 patient-years (patients x replications x years)" in _page_text(browser)
    _type(browser, "Patients per replication", str(10**12))
    _button(browser, "Run").click()
    assert _wait(browser).until(_error_shown) == ("error: baseline: simulation.patients = 1000000000000: Input should "
                                                  "be less than or equal to 5000000")
    _type(browser, "Patients per replication", "50000")
    _button(browser, "Run").click()
    _wait(browser).until(lambda b: "100,000" in _error_shown(b))
    assert _error_shown(browser) == ("error: baseline: simulation.patients = 50,000: about 750,000 patient-years, and "
                                     "the app runs at most 100,000 (patients x replications x years; `iimsim run` "
                                     "runs more)")
    text = _page_text(browser)
    assert "Traceback" not in text and "site-packages" not in text and "MemoryError" not in text
    assert _healthy(app_url)


def test_a_server_stopped_in_the_middle_of_a_run_exits_promptly_leaving_nothing(browser, tmp_path):
    import os
    import subprocess
    import sys
    import time

    from selenium.webdriver.common.by import By
    from test_app import _free_port, _wait_until_healthy

    port = _free_port()
    temp = tmp_path / "server-temp"  # the server's temporary folder: where the app's runs go
    temp.mkdir()
    server = subprocess.Popen([sys.executable, "-m", "iimsim.cli", "app", "--port", str(port), "--no-browser"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "TMPDIR": str(temp)})
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, server)
        browser.get(f"{url}/plan")
        _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'input[aria-label="Patients per replication"]'))
        _type(browser, "Patients per replication", "6000")  # within the caps, about a minute of work
        _button(browser, "Run").click()
        _wait(browser).until(lambda b: any(p.name.startswith(".") for p in temp.rglob("iimsim-run-*/*")))
        sent = time.perf_counter()
        server.terminate()
        server.wait(timeout=30)
        print(f"the server stopped {time.perf_counter() - sent:.1f} s after SIGTERM, in the middle of a run")
        assert time.perf_counter() - sent < 15
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert not [p for p in temp.rglob("*") if p.name.startswith(".") and "partial" in p.name]

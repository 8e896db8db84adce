"""A real headless browser (Debian's chromium and chromium-driver, through Selenium) takes each test type.

It opens the page served by ``wavegen listen``'s app, plays every stimulus,
answers it, moves on to the end, and the database and the CSV export must hold
exactly those answers. Skipped where chromium is not installed, unless
``WAVEGEN_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs it) makes that
a failure.
"""

from __future__ import annotations

import csv
import os
import shutil

import pytest

from tests.listening import live_server, write_samples
from wavegen import listen
from wavegen.listen.store import AnswerStore, export_csv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    if os.environ.get("WAVEGEN_REQUIRE_BROWSER") == "1":
        raise RuntimeError("WAVEGEN_REQUIRE_BROWSER=1 but chromium or chromedriver is not installed "
                           "(apt-get install chromium chromium-driver)")
    pytest.skip("needs chromium and chromedriver (apt-get install chromium chromium-driver)", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=30):
    """Until ``condition``; an element the page replaced meanwhile (the next trial drawn) is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def _visible(element_id):
    from selenium.webdriver.common.by import By

    def check(driver):
        found = driver.find_elements(By.ID, element_id)
        return found[0] if found and found[0].is_displayed() else False
    return check


def _take_test(driver, port, participant, answer_trial, token=None):
    """Open the test, answer every trial with ``answer_trial(driver, trial_number)``; {(trial, key): answer}."""
    from selenium.webdriver.common.by import By
    driver.get(f"http://127.0.0.1:{port}/?participant={participant}" + (f"&token={token}" if token else ""))
    _wait(driver, _visible("start")).click()
    given = {}
    seen = []
    while True:
        _wait(driver, lambda d: _visible("done")(d) or (_visible("next")(d) and d.find_element(
            By.ID, "trial").get_attribute("data-trial") not in seen and d.find_element(By.ID, "trial")))
        if _visible("done")(driver):
            break
        trial = driver.find_element(By.ID, "trial").get_attribute("data-trial")
        seen.append(trial)
        given.update({(int(trial), k): v for k, v in answer_trial(driver, int(trial)).items()})
        _wait(driver, lambda d: d.find_element(By.ID, "next").is_enabled())
        driver.find_element(By.ID, "next").click()
    assert "error" not in (driver.find_element(By.ID, "status").get_attribute("class") or "")
    return given, seen


def _stimulus_keys(driver):
    from selenium.webdriver.common.by import By
    return [b.get_attribute("data-key") for b in driver.find_elements(By.CSS_SELECTOR, "button.play")
            if b.get_attribute("data-key") not in ("ref", "x")]


def _choose(driver, key):
    """Click a choice and wait until the page shows it stored; the answer the test expects."""
    from selenium.webdriver.common.by import By
    driver.find_element(By.ID, f"choose-{key}").click()
    _wait(driver, lambda d: "chosen" in d.find_element(By.ID, f"choose-{key}").get_attribute("class"))
    return {"choice": key}


def _prepared(tmp_path, kind="mushra", items=("u1", "u2")):
    """A small samples folder and its prepared test of ``kind``."""
    (tmp_path / "samples").mkdir()
    write_samples(tmp_path / "samples", items=items)
    return listen.open_test(tmp_path / "samples", kind=kind, results=tmp_path / "results")


def _stored(test, participant):
    """{(trial number, key or 'choice'): stored answer} read back from the database."""
    rows = AnswerStore(test.database).rows()
    assert {r["participant"] for r in rows} == {participant}
    by_name = {t["name"]: i for i, t in enumerate(test.trials)}
    stored = {}
    for row in rows:
        trial = by_name[row["trial"]]
        if row["choice"] is not None:
            stored[(trial, "choice")] = next(s["key"] for s in test.trials[trial]["stimuli"]
                                             if s["system"] == row["choice"])
        else:
            stored[(trial, next(s["key"] for s in test.trials[trial]["stimuli"]
                                if s["system"] == row["system"]))] = row["score"]
    return stored, rows


def _check_csv(test, rows, tmp_path):
    path = export_csv(AnswerStore(test.database), tmp_path / "answers.csv", test=test.name, kind=test.type)
    with path.open(newline="") as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == len(rows)
    for line, row in zip(exported, rows):
        assert (line["participant"], line["trial"], line["system"]) == (row["participant"], row["trial"], row["system"])
        assert line["score"] == ("" if row["score"] is None else f"{row['score']:g}")
        assert line["choice"] == (row["choice"] or "")


def test_mushra_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    test = _prepared(tmp_path)

    def rate(driver, trial):
        given = {}
        for i, key in enumerate(_stimulus_keys(driver)):
            slider = driver.find_element(By.ID, f"score-{key}")
            assert not slider.is_enabled()                  # a stimulus is rated only after it was played
            driver.find_element(By.ID, f"play-{key}").click()
            value = 17 + 11 * i + 3 * trial
            slider.send_keys(Keys.HOME + Keys.ARROW_UP * value)
            given[key] = float(value)
        return given

    with live_server(test) as port:
        given, seen = _take_test(browser, port, "listener-1", rate)
        stored, rows = _stored(test, "listener-1")
    assert len(seen) == len(test.trials) == 2
    assert all(len(t["stimuli"]) == 4 for t in test.trials)       # noisy, enhanced, hidden reference, anchor
    assert stored == given and len(rows) == 8
    _check_csv(test, rows, tmp_path)


def test_acr_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By
    test = _prepared(tmp_path, "acr", items=("u1",))

    def rate(driver, trial):
        key = _stimulus_keys(driver)[0]
        assert not driver.find_element(By.ID, "acr-3").is_enabled()     # rated only after it was played
        driver.find_element(By.ID, f"play-{key}").click()
        value = 1 + trial % 5
        driver.find_element(By.ID, f"acr-{value}").click()
        return {key: float(value)}

    with live_server(test) as port:
        given, seen = _take_test(browser, port, "listener-2", rate)
        stored, rows = _stored(test, "listener-2")
    assert len(seen) == 3 and stored == given and len(rows) == 3
    _check_csv(test, rows, tmp_path)


def test_ab_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By
    test = _prepared(tmp_path, "ab", items=("u1", "u2", "u3"))

    def choose(driver, trial):
        keys = _stimulus_keys(driver)
        driver.find_element(By.ID, "play-ref").click()
        driver.find_element(By.ID, f"play-{keys[0]}").click()
        assert not driver.find_element(By.ID, f"choose-{keys[0]}").is_enabled()   # both heard first
        driver.find_element(By.ID, f"play-{keys[1]}").click()
        return _choose(driver, keys[trial % 2])

    with live_server(test) as port:
        given, seen = _take_test(browser, port, "listener-3", choose)
        stored, rows = _stored(test, "listener-3")
    assert len(seen) == 3 and stored == given and len(rows) == 3
    assert {r["system"] for r in rows} == {"enhanced vs noisy"}
    _check_csv(test, rows, tmp_path)


def test_a_link_with_a_token_takes_the_test_beyond_loopback(browser, tmp_path):
    """Served for other machines: the page sends the link's token with every request (POSTs in their URL)."""
    from selenium.webdriver.common.by import By
    from wavegen.listen.server import participant_token
    test = _prepared(tmp_path, "ab")

    def choose(driver, trial):
        keys = _stimulus_keys(driver)
        for key in ("ref", *keys):
            driver.find_element(By.ID, f"play-{key}").click()
        return _choose(driver, keys[0])

    with live_server(test, require_token=True) as port:
        given, seen = _take_test(browser, port, "ana", choose, token=participant_token(test.secret, "ana"))
        stored, rows = _stored(test, "ana")
    assert len(seen) == 2 and stored == given and all(r["completed"] for r in rows)


def test_abx_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from wavegen.listen.server import abx_x
    test = _prepared(tmp_path, "abx", items=("u1", "u2", "u3", "u4"))

    def identify(driver, trial):
        keys = _stimulus_keys(driver)
        assert driver.find_elements(By.ID, "play-ref") == []             # no reference in ABX
        for key in keys:
            driver.find_element(By.ID, f"play-{key}").click()
        assert not driver.find_element(By.ID, f"choose-{keys[0]}").is_enabled()   # X not heard yet
        driver.find_element(By.ID, "play-x").click()
        return _choose(driver, keys[trial % 2])

    with live_server(test) as port:
        given, seen = _take_test(browser, port, "listener-4", identify)
        stored, rows = _stored(test, "listener-4")
    assert len(seen) == 4 and stored == given and len(rows) == 4
    by_name = {t["name"]: i for i, t in enumerate(test.trials)}
    for row in rows:
        trial = by_name[row["trial"]]
        x_system = next(s["system"] for s in test.trials[trial]["stimuli"]
                        if s["key"] == abx_x(test, "listener-4", trial))
        assert row["score"] == float(row["choice"] == x_system)      # 1 when X was identified
    _check_csv(test, rows, tmp_path)


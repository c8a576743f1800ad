"""The dashboard in a real browser (Debian's chromium through Selenium, `make browser`): a
person signs in with a key, sees the procedures and the plot of the model's share, opens a
procedure and its code, reports it (quarantined), and restores it from the quarantine queue.
A key of another namespace sees none of it."""
from __future__ import annotations

import shutil
import socket
import threading

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from orchestrator import Draft, ProcedureTest, Seglam
from orchestrator.service.app import create_app
from orchestrator.service.dashboard import curve
from orchestrator.service.keys import KeyStore
from orchestrator.storage.run_stats import Activity

TASK = "Convert the amount into euros at the rate"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("dashboard")
    keys = KeyStore(home / "keys.sqlite3")
    with Seglam.open(home / "home") as seglam:
        procedure = seglam.add_procedure(Draft(
            name="to_eur", intent=TASK, params={"amount": "number", "rate": "number"}, returns={"type": "number"},
            code="def solve(amount, rate):\n    return round(amount * rate, 2)\n",
            tests=[ProcedureTest({"amount": 10, "rate": 0.5}, 5.0)]), "alpha")
        for amount in range(20):
            seglam.run(TASK, {"amount": amount, "rate": 0.5}, "alpha")
        seglam.run("Sum the numbers", {"numbers": [1, 2]}, "alpha", synthesize=False)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(seglam, keys, home / "batches"), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            thread.join(0.05)
        yield f"http://127.0.0.1:{port}", keys, procedure, seglam
        server.should_exit = True
        thread.join(10)
    keys.close()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("Debian's chromium and chromedriver are needed: `make browser` installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def until(browser, condition, seconds: float = 20):
    """Wait for a page the browser is loading (a click does not wait for its navigation; an
    element read as the old page goes is stale, and is read again)."""
    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda driver: condition(driver))


def text_of(browser, element_id: str) -> str:
    found = browser.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def sign_in(browser, base: str, secret: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base}/dashboard/login")
    browser.find_element(By.ID, "api_key").send_keys(secret)
    browser.find_element(By.ID, "sign_in").click()
    until(browser, lambda driver: "problem=" in driver.current_url or "/dashboard?" in driver.current_url)


def test_a_person_reviews_reports_and_restores_a_procedure_in_the_browser(served, browser):
    base, keys, procedure, _ = served
    sign_in(browser, base, keys.create("alpha")[1])
    listing = browser.find_element(By.ID, "procedures").text
    assert procedure.id in listing and "verified" in listing
    assert browser.find_element(By.ID, "plot").tag_name == "svg"
    assert "95.2%" in browser.find_element(By.ID, "spans").text  # 20 hits of 21 requests

    browser.find_element(By.LINK_TEXT, procedure.id).click()
    until(browser, lambda driver: "return round(amount * rate, 2)" in text_of(driver, "code"))
    assert '"author": "human"' in browser.find_element(By.ID, "provenance").text
    browser.find_element(By.ID, "report_reason").send_keys("rounds half-cents down")
    browser.find_element(By.ID, "report").click()
    until(browser, lambda driver: text_of(driver, "status") == "quarantined")
    assert "rounds half-cents down" in browser.find_element(By.ID, "status_reason").text

    browser.find_element(By.LINK_TEXT, "procedures").click()
    until(browser, lambda driver: procedure.id in text_of(driver, "quarantine"))
    browser.find_element(By.ID, "quarantine").find_element(By.XPATH, ".//button[text()='restore']").click()
    until(browser, lambda driver: text_of(driver, "status") == "verified")


def test_a_key_of_another_namespace_sees_nothing_of_it(served, browser):
    base, keys, procedure, _ = served
    sign_in(browser, base, keys.create("beta")[1])
    browser.get(f"{base}/dashboard/procedures/{procedure.id}?namespace=alpha")
    assert "not 'alpha'" in browser.page_source and "amount * rate" not in browser.page_source
    browser.get(f"{base}/dashboard?namespace=alpha")
    assert procedure.id not in browser.page_source


def test_an_unknown_key_is_turned_back_at_the_door(served, browser):
    base, *_ = served
    sign_in(browser, base, "not-a-key")
    assert "unknown or revoked" in browser.find_element(By.ID, "problem").text


def test_the_curve_merges_minutes_into_spans_with_running_shares():
    minutes = [Activity("2026-12-06T10:00", 1, 0, 3), Activity("2026-12-06T10:01", 9, 9, 0),
               Activity("2026-12-06T10:02", 10, 10, 0), Activity("2026-12-06T10:03", 20, 19, 1)]
    assert curve(minutes, points=2) == [
        {"until": "2026-12-06T10:01", "requests": 10, "hit_rate": 90.0, "model_calls_per_100": 30.0},
        {"until": "2026-12-06T10:03", "requests": 30, "hit_rate": 95.0, "model_calls_per_100": 10.0}]

"""End to end: the dashboard in a real browser (Debian's headless Chromium through chromedriver and Selenium), served
by real gunicorn (`ledger serve`, 2 workers sharing LEDGER_SECRET_KEY) over a seeded demo ledger on SQLite.

A manager signs in with a staff token, switches to Arabic, filters on a governorate, and reads figures that must
equal the JSON API's; a figure's link opens the list behind it, whose total is that figure. The page must cause no
Content-Security-Policy violation. Screenshots go to test-artifacts/dashboard-*.png.
Chromium and chromedriver come from Debian (`.ci/run` installs them); without them this test is skipped, except
under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from api.dashboard.i18n import western
from api.demo import demo_ledger, seed
from tests.e2e.servers import serving

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STAFF_TOKEN = "e2e-dashboard-staff"
TOKENS = f"{STAFF_TOKEN}=staff,e2e-dashboard-portal=portal"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)
WAIT_S = 30


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    ledger = demo_ledger(url)
    seed(ledger, subscribers=200, cycles=2, seed=3, progress=False)
    ledger.close()
    with serving(url, TOKENS, LEDGER_SECRET_KEY="e2e-dashboard-secret") as base:
        if requests.get(base + "/dashboard/login", timeout=10).status_code == 404:
            pytest.fail("create_app does not install the dashboard (api.dashboard.install)")
        yield base


@pytest.fixture
def chromium(tmp_path):
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Debian's chromium and chromium-driver are not installed (see .ci/run)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    """The whole page, as tall as it is."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 120, 8000))
    path = ARTIFACTS / f"dashboard-{name}.png"
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    return path


def shown(driver, element_id: str) -> tuple[Decimal, str]:
    """A figure as the reader sees it (back to a Decimal) and the value the page carries for machines."""
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    text = western(element.text).split(" ")[0].replace(",", "").rstrip("%")
    return Decimal(text), element.get_attribute("data-value")


def api_json(base: str, path: str) -> dict:
    response = requests.get(base + path, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_manager_reads_the_dashboard_in_arabic_filtered_and_it_agrees_with_the_api(server, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver, wait = chromium, WebDriverWait(chromium, WAIT_S)
    driver.get(server + "/dashboard")
    wait.until(ec.presence_of_element_located((By.ID, "token"))).send_keys(STAFF_TOKEN)
    driver.find_element(By.ID, "sign-in").click()
    wait.until(ec.presence_of_element_located((By.ID, "kpi-billed")))
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    everywhere = api_json(server, "/v1/dashboards/collection")
    assert shown(driver, "kpi-billed") == (Decimal(everywhere["billed"]), everywhere["billed"])
    screenshot(driver, "en")

    driver.find_element(By.ID, "switch-language").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ar"
    assert "تحصيل فواتير الكهرباء" in driver.title

    Select(driver.find_element(By.ID, "filter-governorate")).select_by_value("SY-HL")
    driver.find_element(By.ID, "apply-filters").click()
    wait.until(lambda d: "governorate=SY-HL" in d.current_url)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"  # the language stays
    cycle = driver.find_element(By.ID, "filter-cycle").get_attribute("value")
    aleppo = api_json(server, f"/v1/dashboards/collection?cycle={cycle}&governorate=SY-HL")
    billed_text = driver.find_element(By.ID, "kpi-billed").text
    assert not any(ch in "0123456789" for ch in billed_text) and "٬" in billed_text  # Arabic-Indic digits
    for name in ("billed", "paid", "cleared", "outstanding"):
        assert shown(driver, f"kpi-{name}") == (Decimal(aleppo[name]), aleppo[name]), name
    efficiency, value = shown(driver, "kpi-efficiency")
    assert value == aleppo["collection_efficiency"]
    assert efficiency == (Decimal(value) * 100).quantize(Decimal("0.1"))
    assert "حلب" in driver.find_element(By.ID, "context").text
    owing = api_json(server, "/v1/dashboards/arrears?governorate=SY-HL")
    assert shown(driver, "kpi-overdue")[1] == owing["overdue"]
    screenshot(driver, "ar-SY-HL")

    driver.find_element(By.ID, "kpi-paid").click()
    wait.until(ec.presence_of_element_located((By.ID, "list-total")))
    assert shown(driver, "list-total") == (Decimal(aleppo["paid"]), aleppo["paid"])
    screenshot(driver, "ar-list")

    violations = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert violations == []

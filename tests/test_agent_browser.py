"""The agent's status page in a real browser: Debian's headless Chromium driven by Selenium
(chromium and chromium-driver from the Debian packages; .ci/run installs them). The fleet
appears, a hostile deployment name from the API (control characters, `<script>`) is shown
escaped and never executed, and no secret or fingerprint key is on the page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from test_agent_http import HOSTILE, hostile_agent  # noqa: F401 (the fixture)

from reconciler.app.agent import Reconciler
from reconciler.cli.agent_http import AgentServer

from conftest import API_KEY, CANARY

SCREENSHOT = os.environ.get("YOTTACTL_AGENT_SCREENSHOT")  # docs/agent-status.png is made so


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, "install Debian's chromium and chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,900"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    yield chrome
    chrome.quit()


def test_status_page_in_chromium(hostile_agent: tuple[Reconciler, AgentServer],  # noqa: F811
                                 browser: webdriver.Chrome) -> None:
    _, server = hostile_agent
    browser.get(f"http://{server.address}/")
    assert browser.title == "yottactl agent"  # the hostile name's script did not set 'PWNED'
    names = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "tbody tr td:first-child")]
    assert "plain-svc" in names  # the fleet appears
    shown = next(n for n in names if "PWNED" in n)
    assert shown.startswith("<script>document.title='PWNED'</script>")  # as text, escaped
    assert "\\x1b[2J" in shown and "\\u202e" in shown  # control characters shown, not acted on
    assert not browser.find_elements(By.CSS_SELECTOR, "body script, body img, form, input, button")
    assert browser.execute_script("return document.scripts.length") == 0
    text = browser.find_element(By.TAG_NAME, "body").text
    assert API_KEY not in text and "sensitive:" not in text and "key_verifier" not in text
    assert CANARY not in text and "observer" in text and "Recent history" in text
    if SCREENSHOT:
        browser.save_screenshot(SCREENSHOT)

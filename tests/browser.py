"""Driving Debian's headless Chromium with selenium: the browser, waits, and the checks the page tests share."""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTION = "Who is the Russian defence minister?"
DESKTOP = (1200, 900)
PHONE = (390, 844)
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
)


def _executable(*names: str) -> str:
    for name in names:
        if path := shutil.which(name):
            return path
    pytest.fail(f"{' or '.join(names)} not found: install Debian's chromium and chromium-driver (make test does)")


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium at desktop size, with a profile of its own; its console log is kept."""
    ARTIFACTS.mkdir(exist_ok=True)
    options = Options()
    options.binary_location = _executable("chromium", "chromium-browser")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(_executable("chromedriver")), options=options)
        driver.set_window_size(*DESKTOP)
        try:
            yield driver
        finally:
            driver.quit()


def wait(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], Any], seconds: float = 30) -> Any:
    return WebDriverWait(driver, seconds).until(condition)


def settled(driver: webdriver.Chrome) -> bool:
    """Whether the answers are in: the status says something other than that it is searching."""
    return driver.find_element(By.ID, "status").text not in ("", "Searching the reports…")


def ask(driver: webdriver.Chrome, url: str, question: str) -> None:
    driver.get(url)
    box = wait(driver, expected_conditions.element_to_be_clickable((By.ID, "question")))
    box.send_keys(question, Keys.ENTER)
    wait(driver, lambda d: settled(d) and "q=" in d.current_url)


def answers(driver: webdriver.Chrome) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#answers li.answer")


def open_citation(driver: webdriver.Chrome, index: int = 0) -> None:
    """Open the `index`th answer's source card and wait until the citation is verified."""
    answers(driver)[index].find_element(By.CSS_SELECTOR, "button.cite").click()
    wait(driver, lambda d: d.find_element(By.ID, "verification").get_attribute("data-verified") == "true")


def in_viewport(driver: webdriver.Chrome, element: WebElement) -> bool:
    script = "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;"
    return bool(driver.execute_script(script, element))


def overflow(driver: webdriver.Chrome) -> int:
    """How far the page scrolls sideways: 0 or less when it fits the window."""
    return int(driver.execute_script("return document.documentElement.scrollWidth - innerWidth;"))


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The console's errors since last asked (a blocked request or script, a script's exception)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]

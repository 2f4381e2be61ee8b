"""The page in a real browser (Debian's headless Chromium via selenium), on the sample corpus.

Screenshots of each step are saved in `test-artifacts/` at the repository root.
"""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import SPUTNIK_ID

pytestmark = [pytest.mark.browser, pytest.mark.model]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTION = "Who is the Russian defence minister?"
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


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    ARTIFACTS.mkdir(exist_ok=True)
    options = Options()
    options.binary_location = _executable("chromium", "chromium-browser")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(_executable("chromedriver")), options=options)
        driver.set_window_size(1200, 900)
        yield driver
        driver.quit()


def _wait(driver: webdriver.Chrome, condition, seconds: float = 20):
    return WebDriverWait(driver, seconds).until(condition)


def _ask(driver: webdriver.Chrome, url: str, question: str) -> None:
    driver.get(url)
    box = _wait(driver, expected_conditions.element_to_be_clickable((By.ID, "question")))
    box.send_keys(question, Keys.ENTER)
    _wait(driver, lambda d: d.find_element(By.ID, "status").text not in ("", "Searching the reports…"))


def test_ask_see_the_highlight_open_and_verify_the_citation(browser: webdriver.Chrome, live_server: str) -> None:
    expected = httpx.post(f"{live_server}/v1/ask", json={"question": QUESTION}).json()["answers"]
    _ask(browser, live_server, QUESTION)
    answers = browser.find_elements(By.CSS_SELECTOR, "#answers li")
    browser.save_screenshot(str(ARTIFACTS / "1-answers.png"))
    assert len(answers) == len(expected)
    for item, answer in zip(answers, expected, strict=True):
        # textContent, not .text: WebDriver's visible text turns no-break spaces into spaces.
        assert item.find_element(By.TAG_NAME, "mark").get_attribute("textContent") == answer["text"]
        assert f"Score {round(answer['score'] * 100)}%" in item.text
    assert "Sergei Shoigu" in answers[0].find_element(By.TAG_NAME, "mark").text

    answers[0].find_element(By.CSS_SELECTOR, "button.cite").click()
    _wait(browser, lambda d: d.find_element(By.ID, "verification").get_attribute("data-verified") == "true")
    browser.save_screenshot(str(ARTIFACTS / "2-report-verified.png"))
    cited = browser.find_element(By.ID, "cited")
    assert cited.get_attribute("textContent") == expected[0]["text"]
    assert "Verified" in browser.find_element(By.ID, "verification").text
    document = httpx.get(f"{live_server}/v1/documents/{SPUTNIK_ID}").json()
    assert browser.find_element(By.ID, "report-title").text == document["title"]
    # The highlighted span is the document's text at the cited offsets, and it is on screen.
    citation = expected[0]["citation"]
    assert document["text"][citation["start"] : citation["end"]] == expected[0]["text"]
    in_view = "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;"
    assert browser.execute_script(in_view, cited)


def test_no_answer_is_said_in_words(browser: webdriver.Chrome, live_server: str) -> None:
    _ask(browser, live_server, "What is the recipe for sourdough bread?")
    browser.save_screenshot(str(ARTIFACTS / "3-no-answer.png"))
    assert "No answer found" in browser.find_element(By.ID, "status").text
    assert browser.find_elements(By.CSS_SELECTOR, "#answers li") == []


def test_errors_are_shown_in_words(browser: webdriver.Chrome, live_server: str) -> None:
    browser.get(live_server)
    _wait(browser, expected_conditions.element_to_be_clickable((By.ID, "question")))
    for field, value in (("date-from", "2020-02-01"), ("date-to", "2020-01-01")):
        browser.execute_script("arguments[0].value = arguments[1];", browser.find_element(By.ID, field), value)
    browser.find_element(By.ID, "question").send_keys(QUESTION, Keys.ENTER)
    error = _wait(browser, expected_conditions.visibility_of_element_located((By.ID, "error")))
    browser.save_screenshot(str(ARTIFACTS / "4-error.png"))
    assert "date_from must be on or before" in error.text


def test_keyboard_only_ask_open_and_return(browser: webdriver.Chrome, live_server: str) -> None:
    _ask(browser, live_server, QUESTION)
    # Tab from the question to the first citation: Ask button, the filters, then the answers.
    active = browser.switch_to.active_element
    for _ in range(12):
        active.send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        if "cite" in (active.get_attribute("class") or ""):
            break
    assert "cite" in active.get_attribute("class"), "the citation button must be reachable by Tab"
    active.send_keys(Keys.ENTER)
    _wait(browser, lambda d: d.find_element(By.ID, "verification").get_attribute("data-verified") == "true")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    _wait(browser, lambda d: d.find_element(By.ID, "ask-view").is_displayed())
    assert browser.switch_to.active_element.get_attribute("id") == "question"


def test_browse_and_search_the_reports(browser: webdriver.Chrome, live_server: str) -> None:
    browser.get(live_server)
    _wait(browser, expected_conditions.element_to_be_clickable((By.ID, "tab-browse"))).click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#documents li")) == 2)
    browser.find_element(By.ID, "browse-query").send_keys("Shoigu", Keys.ENTER)
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#documents li")) == 1)
    browser.save_screenshot(str(ARTIFACTS / "5-browse-search.png"))
    assert "of 1" in browser.find_element(By.ID, "browse-status").text
    browser.find_element(By.CSS_SELECTOR, "#documents li button").click()
    _wait(browser, expected_conditions.visibility_of_element_located((By.ID, "report-view")))
    document = httpx.get(f"{live_server}/v1/documents/{SPUTNIK_ID}").json()
    assert browser.find_element(By.ID, "report-text").get_attribute("textContent") == document["text"]
    browser.save_screenshot(str(ARTIFACTS / "6-report.png"))


def test_readable_at_phone_width(browser: webdriver.Chrome, live_server: str) -> None:
    browser.set_window_size(390, 844)
    try:
        _ask(browser, live_server, QUESTION)
        browser.save_screenshot(str(ARTIFACTS / "7-phone.png"))
        overflow = browser.execute_script("return document.documentElement.scrollWidth - innerWidth;")
        assert overflow <= 0, "the page must not scroll sideways on a phone"
        assert browser.find_elements(By.CSS_SELECTOR, "#answers li mark")
    finally:
        browser.set_window_size(1200, 900)

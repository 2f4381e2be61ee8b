"""The page in Chromium on an index it may change: a long report's citation, adding reports, API keys."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions

from api.keys import KeyFile
from api.main import create_app
from api.settings import ServiceSettings
from qa.pipeline import Pipeline
from tests.browser import ARTIFACTS, answers, chromium, in_viewport, open_citation, settled, wait
from tests.stub_service import StubIndex, StubPipeline, serving, stub_app

pytestmark = pytest.mark.browser

FILLER = "Inspection round {} found the pumps, valves and gauges of the dry dock in working order."
FACT = "The lighthouse at Vardø is kept by Ingrid Solberg, who took over in 2019."


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def writable_server(corpus_pipeline: Pipeline) -> Iterator[str]:
    """The sample corpus in an index of its own, served on loopback, where writes need no key."""
    app = create_app(ServiceSettings(index_dir=corpus_pipeline.index.index_dir), pipeline=corpus_pipeline)
    with serving(app) as url:
        yield url


def test_a_citation_deep_in_a_long_report_keeps_back_and_the_badge_in_reach(
    browser: webdriver.Chrome, writable_server: str
) -> None:
    text = "\n\n".join(["date 2021-06-01", "Dry dock log", *(FILLER.format(n) for n in range(1, 301)), FACT])
    added = httpx.post(
        f"{writable_server}/v1/documents", json={"text": text, "title": "Dry dock log", "source": "Dock"}
    )
    assert added.status_code == 201, added.text
    question = {"q": "Who keeps the lighthouse at Vardø?", "source": "Dock"}
    browser.get(f"{writable_server}/?{urlencode(question)}")
    wait(browser, lambda d: settled(d) and answers(d))
    assert "Ingrid Solberg" in answers(browser)[0].find_element(By.TAG_NAME, "mark").text
    open_citation(browser)
    browser.save_screenshot(str(ARTIFACTS / "11-long-report-citation.png"))
    assert browser.execute_script("return scrollY;") > 3000, "the citation is far down the report"
    assert in_viewport(browser, browser.find_element(By.ID, "cited"))
    for control in ("close-report", "verification"):
        assert in_viewport(browser, browser.find_element(By.ID, control)), f"#{control} scrolled out of reach"
    browser.find_element(By.ID, "close-report").click()
    wait(browser, lambda d: d.find_element(By.ID, "ask-view").is_displayed() and answers(d))


def _open_upload(browser: webdriver.Chrome, url: str) -> None:
    browser.get(f"{url}/?view=browse")
    box = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "upload-box")))
    box.find_element(By.TAG_NAME, "summary").click()
    wait(browser, expected_conditions.visibility_of_element_located((By.ID, "upload-file")))


def test_add_a_report_from_the_page_then_ask_about_it(
    browser: webdriver.Chrome, writable_server: str, tmp_path: Path
) -> None:
    report = tmp_path / "ferry.txt"
    report.write_text("date 2022-02-02\nFerry timetable\n\nThe night ferry to Svolvær is captained by Magnus Berg.\n")
    _open_upload(browser, writable_server)
    browser.find_element(By.ID, "upload-file").send_keys(str(report))
    browser.find_element(By.ID, "upload-source").send_keys("Harbour office")
    browser.find_element(By.ID, "upload-button").click()
    wait(browser, lambda d: "Added “Ferry timetable”" in d.find_element(By.ID, "upload-status").text)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#documents li")) == 3)
    browser.save_screenshot(str(ARTIFACTS / "12-report-added.png"))
    assert "Harbour office" in browser.find_element(By.ID, "source").get_attribute("textContent")

    browser.find_element(By.ID, "tab-ask").click()
    browser.find_element(By.ID, "question").send_keys("Who captains the night ferry to Svolvær?", Keys.ENTER)
    wait(browser, lambda d: settled(d) and answers(d))
    best = answers(browser)[0]
    assert "Magnus Berg" in best.find_element(By.TAG_NAME, "mark").text
    assert best.find_element(By.CLASS_NAME, "card-title").text == "Ferry timetable"
    assert "Harbour office" in best.find_element(By.CLASS_NAME, "card-meta").text


def test_a_file_the_service_cannot_read_is_refused_in_its_words(
    browser: webdriver.Chrome, writable_server: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.docx"
    notes.write_bytes(b"PK\x03\x04 not a report")
    _open_upload(browser, writable_server)
    browser.find_element(By.ID, "upload-file").send_keys(str(notes))
    browser.find_element(By.ID, "upload-button").click()
    error = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "error")))
    assert "not added" in error.text and ".docx files are not accepted; upload a report as one of" in error.text
    assert httpx.get(f"{writable_server}/v1/documents").json()["total"] == 2


class _NoReports(StubIndex):
    def list_documents(self, offset: int, limit: int, q: str = "") -> list:
        return []

    def count_documents(self, q: str = "") -> int:
        return 0


def _enter_key(browser: webdriver.Chrome, secret: str, expected: str) -> None:
    box = browser.find_element(By.ID, "api-key")
    box.clear()
    box.send_keys(secret, Keys.TAB)  # leaving the field saves the key
    wait(browser, lambda d: expected in d.find_element(By.ID, "key-status").text)


def test_with_keys_the_page_asks_for_one_and_offers_upload_to_write_keys(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    keys = KeyFile(tmp_path / "keys.json")
    read, write = keys.create("reader", "read"), keys.create("writer", "write")
    pipeline = StubPipeline()
    pipeline.index = _NoReports()
    with serving(stub_app(pipeline, api_keys=keys.path)) as url:
        browser.get(f"{url}/?view=browse")
        status = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "key-status")))
        wait(browser, lambda d: "needs an API key" in status.text)
        assert browser.find_element(By.ID, "upload-box").get_attribute("hidden") is not None
        _enter_key(browser, "rqa_wrong", "This key is not valid")
        _enter_key(browser, read, "it may read reports, not add them")
        assert browser.find_element(By.ID, "upload-box").get_attribute("hidden") is not None
        _enter_key(browser, write, "it may read and add reports")
        wait(browser, lambda d: d.find_element(By.ID, "upload-box").is_displayed())
        wait(browser, lambda d: "No reports are indexed yet" in d.find_element(By.ID, "browse-status").text)
        browser.save_screenshot(str(ARTIFACTS / "13-write-key.png"))
        assert not browser.find_element(By.ID, "error").is_displayed()
        browser.execute_script("sessionStorage.clear();")

"""The page in a real browser (Debian's headless Chromium via selenium), on the sample corpus.

Screenshots of each step are saved in `test-artifacts/` at the repository root.
"""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions

from tests.browser import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    QUESTION,
    answers,
    ask,
    chromium,
    in_viewport,
    open_citation,
    overflow,
    settled,
    wait,
)
from tests.conftest import SPUTNIK_ID

pytestmark = [pytest.mark.browser, pytest.mark.model]


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def test_ask_see_the_headline_open_and_verify_the_citation(browser: webdriver.Chrome, live_server: str) -> None:
    expected = httpx.post(f"{live_server}/v1/ask", json={"question": QUESTION}).json()["answers"]
    ask(browser, live_server, QUESTION)
    items = answers(browser)
    browser.save_screenshot(str(ARTIFACTS / "1-answers.png"))
    assert len(items) == len(expected)
    for number, (item, answer) in enumerate(zip(items, expected, strict=True), start=1):
        # textContent, not .text: WebDriver's visible text turns no-break spaces into spaces.
        assert item.find_element(By.TAG_NAME, "mark").get_attribute("textContent") == answer["text"]
        assert item.find_element(By.CLASS_NAME, "answer-text").get_attribute("textContent") == answer["text"]
        assert f"Score {round(answer['score'] * 100)}%" in item.text
        card = item.find_element(By.CSS_SELECTOR, "button.cite")
        citation = answer["citation"]
        assert card.find_element(By.CLASS_NAME, "card-number").text == str(number)
        assert card.find_element(By.CLASS_NAME, "card-title").text == citation["title"]
        assert citation["date"] in card.text and citation["source"] in card.text
    best = items[0]
    assert "best" in best.get_attribute("class") and "Best answer" in best.get_attribute("textContent")
    assert "Sergei Shoigu" in best.find_element(By.TAG_NAME, "mark").text
    # The headline is large: its answer is set bigger than the quote it comes from.
    sizes = "return [...arguments].map((e) => parseFloat(getComputedStyle(e).fontSize));"
    headline, quote = browser.execute_script(
        sizes, best.find_element(By.CLASS_NAME, "answer-text"), best.find_element(By.CLASS_NAME, "context")
    )
    assert headline >= 1.5 * quote

    open_citation(browser)
    browser.save_screenshot(str(ARTIFACTS / "2-report-verified.png"))
    cited = browser.find_element(By.ID, "cited")
    assert cited.get_attribute("textContent") == expected[0]["text"]
    assert "Verified" in browser.find_element(By.ID, "verification").text
    document = httpx.get(f"{live_server}/v1/documents/{SPUTNIK_ID}").json()
    assert browser.find_element(By.ID, "report-title").text == document["title"]
    # The highlighted span is the document's text at the cited offsets, and it is on screen.
    citation = expected[0]["citation"]
    assert document["text"][citation["start"] : citation["end"]] == expected[0]["text"]
    assert in_viewport(browser, cited)


def test_confidence_labels_follow_the_score(browser: webdriver.Chrome, live_server: str) -> None:
    browser.get(live_server)
    wait(browser, expected_conditions.element_to_be_clickable((By.ID, "question")))
    levels = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/static/answers.js').then((m) => done([0.95, 0.75, 0.6, 0.5, 0.3].map(m.confidence)));"
    )
    assert levels == ["high", "high", "medium", "medium", "low"]


def test_back_reload_and_links_keep_the_view(browser: webdriver.Chrome, live_server: str) -> None:
    ask(browser, live_server, QUESTION)
    asked_url = browser.current_url
    assert parse_qs(urlsplit(asked_url).query) == {"q": [QUESTION]}
    open_citation(browser)
    opened = parse_qs(urlsplit(browser.current_url).query)
    assert opened["q"] == [QUESTION] and opened["doc"] == [SPUTNIK_ID] and "Shoigu" in opened["text"][0]

    browser.back()  # the browser's own Back: to the answers, not away from the page
    wait(browser, lambda d: d.find_element(By.ID, "ask-view").is_displayed())
    assert browser.current_url == asked_url
    assert browser.find_element(By.ID, "question").get_attribute("value") == QUESTION
    assert "Sergei Shoigu" in answers(browser)[0].find_element(By.TAG_NAME, "mark").text

    browser.refresh()  # reload: the same answers
    wait(browser, lambda d: settled(d) and answers(d))
    assert browser.find_element(By.ID, "question").get_attribute("value") == QUESTION
    assert "Sergei Shoigu" in answers(browser)[0].find_element(By.TAG_NAME, "mark").text

    browser.forward()  # forward again: the citation, verified
    wait(browser, lambda d: d.find_element(By.ID, "verification").get_attribute("data-verified") == "true")
    browser.refresh()  # a citation reloaded (or shared) opens verified, and its Back goes to the answers
    wait(browser, lambda d: d.find_element(By.ID, "verification").get_attribute("data-verified") == "true")
    browser.find_element(By.ID, "close-report").click()
    wait(browser, lambda d: d.find_element(By.ID, "ask-view").is_displayed() and answers(d))
    assert browser.current_url == asked_url


def test_a_link_with_a_question_asks_it(browser: webdriver.Chrome, live_server: str) -> None:
    source = httpx.post(f"{live_server}/v1/ask", json={"question": QUESTION}).json()["answers"][0]["citation"]["source"]
    browser.get(f"{live_server}/?{urlencode({'q': QUESTION, 'from': '2017-01-01', 'source': source})}")
    wait(browser, lambda d: settled(d) and answers(d))
    assert browser.find_element(By.ID, "question").get_attribute("value") == QUESTION
    assert browser.find_element(By.ID, "date-from").get_attribute("value") == "2017-01-01"
    assert browser.find_element(By.ID, "source").get_attribute("value") == source
    assert "Sergei Shoigu" in answers(browser)[0].text
    # A citation that does not hold what the link says is opened, and said to be unverified.
    browser.get(f"{live_server}/?{urlencode({'doc': SPUTNIK_ID, 'start': 0, 'end': 4, 'text': 'Shoigu'})}")
    wait(browser, lambda d: d.find_element(By.ID, "verification").get_attribute("data-verified") == "false")
    assert "Not verified" in browser.find_element(By.ID, "verification").text


def test_no_answer_is_said_in_words(browser: webdriver.Chrome, live_server: str) -> None:
    ask(browser, live_server, "What is the recipe for sourdough bread?")
    browser.save_screenshot(str(ARTIFACTS / "3-no-answer.png"))
    assert "No answer found" in browser.find_element(By.ID, "status").text
    assert answers(browser) == []


def test_errors_are_shown_in_words(browser: webdriver.Chrome, live_server: str) -> None:
    browser.get(live_server)
    wait(browser, expected_conditions.element_to_be_clickable((By.ID, "question"))).send_keys(Keys.ENTER)
    error = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "error")))
    assert "Type a question first" in error.text
    for field, value in (("date-from", "2020-02-01"), ("date-to", "2020-01-01")):
        browser.execute_script("arguments[0].value = arguments[1];", browser.find_element(By.ID, field), value)
    browser.find_element(By.ID, "question").send_keys(QUESTION, Keys.ENTER)
    wait(browser, lambda d: "before the “From” date" in d.find_element(By.ID, "error").text)
    browser.save_screenshot(str(ARTIFACTS / "4-error.png"))
    assert "swap the dates" in error.text and "q=" not in browser.current_url


def test_keyboard_only_ask_open_and_return(browser: webdriver.Chrome, live_server: str) -> None:
    ask(browser, live_server, QUESTION)
    # Tab from the question to the first citation: Ask button, the filters, then the answers.
    active = browser.switch_to.active_element
    for _ in range(12):
        active.send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        if "cite" in (active.get_attribute("class") or ""):
            break
    assert "cite" in active.get_attribute("class"), "the citation button must be reachable by Tab"
    active.send_keys(Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "verification").get_attribute("data-verified") == "true")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(browser, lambda d: d.find_element(By.ID, "ask-view").is_displayed())
    assert browser.switch_to.active_element.get_attribute("id") == "question"


def test_browse_and_search_the_reports(browser: webdriver.Chrome, live_server: str) -> None:
    browser.get(live_server)
    wait(browser, expected_conditions.element_to_be_clickable((By.ID, "tab-browse"))).click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#documents li")) == 2)
    browser.find_element(By.ID, "browse-query").send_keys("Shoigu", Keys.ENTER)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#documents li")) == 1)
    browser.save_screenshot(str(ARTIFACTS / "5-browse-search.png"))
    assert "of 1" in browser.find_element(By.ID, "browse-status").text
    assert parse_qs(urlsplit(browser.current_url).query) == {"view": ["browse"], "search": ["Shoigu"]}
    browser.find_element(By.CSS_SELECTOR, "#documents li button").click()
    wait(browser, expected_conditions.visibility_of_element_located((By.ID, "report-view")))
    document = httpx.get(f"{live_server}/v1/documents/{SPUTNIK_ID}").json()
    wait(browser, lambda d: d.find_element(By.ID, "report-text").get_attribute("textContent") == document["text"])
    browser.save_screenshot(str(ARTIFACTS / "6-report.png"))
    browser.back()  # to the search, as it was
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#documents li")) == 1)
    assert browser.find_element(By.ID, "browse-query").get_attribute("value") == "Shoigu"


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_answers_and_citation_fit_the_screen(browser: webdriver.Chrome, live_server: str, size: tuple) -> None:
    name = "desktop" if size == DESKTOP else "phone"
    browser.set_window_size(*size)
    try:
        ask(browser, live_server, QUESTION)
        browser.save_screenshot(str(ARTIFACTS / f"7-answers-{name}.png"))
        assert overflow(browser) <= 0, "the page must not scroll sideways"
        assert answers(browser)[0].find_elements(By.TAG_NAME, "mark")
        open_citation(browser)
        browser.save_screenshot(str(ARTIFACTS / f"8-citation-{name}.png"))
        assert overflow(browser) <= 0, "the page must not scroll sideways"
        assert in_viewport(browser, browser.find_element(By.ID, "cited"))
        assert in_viewport(browser, browser.find_element(By.ID, "close-report"))
    finally:
        browser.set_window_size(*DESKTOP)


def test_no_key_box_without_keys(browser: webdriver.Chrome, live_server: str) -> None:
    browser.get(live_server)
    wait(browser, lambda d: d.find_element(By.ID, "tab-browse").is_enabled())
    wait(browser, lambda d: d.find_element(By.ID, "upload-box").get_attribute("hidden") is None)
    assert not browser.find_element(By.ID, "key-box").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, "link[rel=icon]").get_attribute("href").endswith("/favicon.svg")
    assert httpx.get(f"{live_server}/static/favicon.svg").headers["content-type"].startswith("image/svg+xml")

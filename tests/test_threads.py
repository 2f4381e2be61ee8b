"""Sharing the encoder, the splitter and the span reader between threads, as the server's threads do."""

import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from embeddings.encoder import Encoder
from embeddings.fair_lock import FairLock
from qa.ingest.splitter import PassageSplitter
from qa.pipeline import Pipeline

LONG = " ".join(f"Sentence number {i} says the harbour master met the defence minister." for i in range(80))


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Switch threads every 10 microseconds, so that a window between two calls is hit within seconds."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def _race(*workers: Callable[[], None], seconds: float = 3.0) -> list[str]:
    """Run each worker in a loop on its own thread for `seconds`; the errors they raised."""
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def loop(work: Callable[[], None]) -> None:
        while time.monotonic() < deadline:
            try:
                work()
            except Exception as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=loop, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_tokenizing_from_many_threads_keeps_each_call_s_settings(encoder: Encoder, frequent_switches) -> None:
    # Counting asks for no truncation while offsets for pooling ask for the model's limit: with one
    # shared tokenizer state, each sometimes ran with the other's setting.
    full = encoder.count_tokens(LONG)
    splitter = PassageSplitter(encoder.tokenize)
    passages = len(splitter.split(LONG))
    assert full > encoder.max_tokens

    def offsets() -> None:
        encoded = encoder.tokenize([LONG] * 4, return_offsets_mapping=True, truncation=True, max_length=256)
        assert all(len(row) <= 256 for row in encoded["offset_mapping"]), "not truncated"

    def count() -> None:
        assert encoder.count_tokens(LONG) == full, "truncated"

    def split() -> None:
        assert len(splitter.split(LONG)) == passages

    assert _race(offsets, count, split) == []


def test_pooled_span_vectors_survive_concurrent_questions(encoder: Encoder, frequent_switches) -> None:
    texts = [LONG, "The harbour reopened on Monday.", LONG[:900]]
    spans = [[(0, 40), (41, 200)], [(0, 30)], [(10, 400)]]
    expected_texts, expected_spans = encoder.encode_with_spans(texts, spans)

    def pool() -> None:
        vectors, span_vectors = encoder.encode_with_spans(texts, spans)
        assert abs(vectors - expected_texts).max() < 1e-4
        assert all(abs(a - b).max() < 1e-4 for a, b in zip(span_vectors, expected_spans, strict=True))

    def ask() -> None:
        encoder.encode(["Who is the defence minister?", "x " * 300])
        encoder.count_tokens(LONG)

    assert _race(pool, ask, ask) == []


def test_the_span_reader_cuts_the_same_windows_from_two_threads(
    shared_corpus_pipeline: Pipeline, frequent_switches
) -> None:
    # A passage longer than one window, read with another call's settings, would not be cut at all.
    model = shared_corpus_pipeline.readers["span"].model
    questions = ["Who did the harbour master meet?", "What did sentence number 70 say about " + "it " * 80]
    expected = {question: [w.input_ids for w in model.windows(question, [LONG[:2000]])] for question in questions}
    assert len(expected[questions[0]]) > 1

    def cut(question: str) -> Callable[[], None]:
        return lambda: _assert_same(model.windows(question, [LONG[:2000]]), expected[question])

    assert _race(*(cut(question) for question in questions * 2)) == []


def _assert_same(windows: list, expected: list) -> None:
    assert [window.input_ids for window in windows] == expected


def test_a_thread_asking_for_the_fair_lock_gets_it_before_a_loop_of_holds_ends() -> None:
    # As a report's batches hold the forward pass one after another while a question waits. Python's
    # own lock lets the looping thread take it straight back, sometimes to the end of the loop.
    lock, order = FairLock(), []

    def batches() -> None:
        for _ in range(100):
            with lock:
                order.append("batch")
                _busy(0.003)

    writer = threading.Thread(target=batches)
    writer.start()
    time.sleep(0.02)
    with lock:
        order.append("question")
    writer.join()
    assert order.index("question") < 40


def _busy(seconds: float) -> None:
    """Hold the interpreter, as Python code between forward passes does."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

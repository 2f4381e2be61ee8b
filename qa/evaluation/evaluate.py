"""Evaluation on a SQuAD-format file: open-book retrieval and answers, or the span reader on each paragraph."""

import random
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from embeddings.encoder import Encoder
from embeddings.precision import Precision
from qa.evaluation.squad import best_score, exact_match, f1_score, load_squad
from qa.index.embedded import EmbeddedIndex
from qa.ingest.splitter import OVERLAP_TOKENS, PASSAGE_TOKENS
from qa.models import Passage, ScoredPassage
from qa.pipeline import Pipeline
from qa.readers import Question, Reader, SpanReader, choose_reader, default_readers
from qa.readers.calibration import expected_calibration_error, reliability, risk_coverage

RECALL_AT = (1, 5, 20)


def evaluate(
    path: Path,
    encoder: Encoder | None = None,
    limit: int | None = None,
    top_k: int = 5,
    reader: str | None = None,
    index_dir: Path | None = None,
    compare_encode: bool = False,
    seed: int = 0,
    retrieval: bool = True,
    answers: bool = True,
    model_dir: Path | None = None,
    precision: Precision = "auto",
    passage_tokens: int = PASSAGE_TOKENS,
    overlap_tokens: int = OVERLAP_TOKENS,
    early_stop_score: float = 1.0,
) -> dict:
    """Index every context of a SQuAD file as a document, ask every question, and score (a passage found
    counts for recall when it covers a gold answer's span); figures not measured are None.

    Args:
        path: SQuAD v1.1-format JSON.
        encoder: the embedder (loaded when None).
        limit: ask only this many questions, sampled with `seed` (default all).
        top_k: passages read per question (default 5).
        reader: reader name (default: the pipeline's default reader).
        index_dir: build the index here and keep it; a temporary folder when None.
        compare_encode: also time bare `SentenceTransformer.encode` on the same passages.
        seed: sampling seed (default 0).
        retrieval, answers: measure retrieval recall in each mode; ask and score every question (default True each).
        model_dir, precision, early_stop_score: the span reader's model folder, arithmetic and early stop
            (default: the shipped folder, "auto", and 1.0, every passage read; see `SpanReader`).
        passage_tokens, overlap_tokens: how the index splits documents (default the service's, 200 and 48).

    Returns:
        {"retrieval": {mode: {"recall@1", "recall@5", "recall@20", "mrr@20"}}, "answers": {"exact_match",
        "f1", "answered", "right_of_answered", "f1_with_threshold", "ece", "reliability", "risk_coverage"},
        "latency_ms": {"p50", "p95", "read_p50"}, "ingestion": {...}, "questions", "documents", "passages"}.
        EM/F1 score the top answer whatever its score; "answered" and "f1_with_threshold" apply the
        reader's threshold, "right_of_answered" is the share right (F1 >= 0.5) of those answered, "ece"
        the top answer's calibration error, with its "reliability" table and "risk_coverage" curve.
    """
    documents, questions = _load(path, limit, seed)
    readers = default_readers(model_dir, precision, early_stop_score)
    used = choose_reader({r.name: r for r in readers}, reader, readers[0].name)  # refused before the long ingest
    encoder = encoder or Encoder()
    with tempfile.TemporaryDirectory(prefix="reportqa-eval-") as scratch:
        index = EmbeddedIndex(
            index_dir or Path(scratch), encoder, splitter_tokens=passage_tokens, overlap_tokens=overlap_tokens
        )
        pipeline = Pipeline(index, encoder, readers, no_answer_threshold=0)
        ingestion = _ingest(pipeline, documents, compare_encode)
        recall = _retrieval(pipeline, questions) if retrieval else None
        scored, latency = _answers(pipeline, questions, top_k, used) if answers else (None, None)
        passages = pipeline.index.counts().passages
        pipeline.index.close()
    sizes = {"questions": len(questions), "documents": len(documents), "passages": passages}
    figures = {"retrieval": recall, "answers": scored, "latency_ms": latency, "ingestion": ingestion}
    return {"file": str(path), **sizes, "reader": used.to_dict(), **figures}


def _ingest(pipeline: Pipeline, documents: list, compare_encode: bool) -> dict:
    started = time.perf_counter()
    written = 0
    for first in tqdm(range(0, len(documents), 64), desc="ingest", unit="batch"):
        written += pipeline.index.add_documents(documents[first : first + 64]).passages
    seconds = time.perf_counter() - started
    report = {"passages": written, "seconds": round(seconds, 2), "passages_per_s": round(written / seconds, 1)}
    if compare_encode:
        texts = [passage.text for passage in pipeline.index.passages()]
        model = pipeline.encoder.model  # loaded, where the encoder runs an ONNX file, before the clock starts
        started = time.perf_counter()
        model.encode(texts, batch_size=pipeline.encoder.batch_size)
        bare = len(texts) / (time.perf_counter() - started)
        report["bare_encode_passages_per_s"] = round(bare, 1)
        report["ratio_to_bare_encode"] = round(report["passages_per_s"] / bare, 3)
    return report


def _retrieval(pipeline: Pipeline, questions: list) -> dict:
    vectors = pipeline.encoder.encode([q.question for q in questions])
    depth = max(RECALL_AT)
    metrics = {}
    for mode in ("dense", "sparse", "hybrid"):
        first_hits = []
        for question, vector in tqdm(zip(questions, vectors, strict=True), total=len(questions), desc=mode):
            hits = pipeline.retrieve(Question(question.question, vector), depth, mode=mode)
            rank = next((h.rank for h in hits if _covers(h.passage, question)), None)
            first_hits.append(rank)
        name = "bm25" if mode == "sparse" else mode
        metrics[name] = {f"recall@{k}": _share(r is not None and r <= k for r in first_hits) for k in RECALL_AT}
        metrics[name][f"mrr@{depth}"] = round(float(np.mean([1 / r if r else 0.0 for r in first_hits])), 4)
    return metrics


def _answers(pipeline: Pipeline, questions: list, top_k: int, reader: Reader) -> tuple[dict, dict]:
    threshold = reader.no_answer_threshold
    em, f1, scores, latencies, reading = [], [], [], [], []
    for question in tqdm(questions, desc="ask"):
        started = time.perf_counter()
        result = pipeline.ask(question.question, top_k=top_k, max_answers=1, reader=reader.name)
        latencies.append((time.perf_counter() - started) * 1000)
        reading.append(result.timings_ms["read"])
        prediction = result.answers[0].text if result.answers else ""
        scores.append(result.answers[0].score if result.answers else 0.0)
        em.append(_best(exact_match, prediction, question))
        f1.append(_best(f1_score, prediction, question))
    scores_array, f1_array = np.array(scores), np.array(f1)
    right = (f1_array >= 0.5).astype(float)
    answered = scores_array >= threshold
    answers = {
        **_em_f1(em, f1),
        "answered": round(float(answered.mean()), 4),
        "right_of_answered": round(float(right[answered].mean()), 4) if answered.any() else None,
        "f1_with_threshold": round(100 * float(np.mean(np.where(answered, f1_array, 0.0))), 2),
        "threshold": threshold,
        **_score_quality(scores_array, right),
    }
    latency = {**_percentiles(latencies), "read_p50": _percentiles(reading)["p50"]}
    return answers, latency


def evaluate_paragraphs(
    path: Path, model_dir: Path | None = None, limit: int | None = None, seed: int = 0, precision: Precision = "auto"
) -> dict:
    """Read each question against its own paragraph only, with the span reader: the reader's EM/F1 alone.

    Args:
        path: SQuAD v1.1-format JSON.
        model_dir: the span model (default: the shipped one).
        limit: ask only this many questions, sampled with `seed` (default all).
        seed: sampling seed (default 0).
        precision: the reader's arithmetic (default "auto"; see `SpanModel`).

    Returns:
        {"exact_match", "f1", "questions", "windows", "windows_per_s", "latency_ms": {"p50", "p95"}, "reader",
        "scores"}, "reader" being the span reader's settings (its precision among them) and "scores" the
        top answers' calibration given the paragraph: {"ece", "reliability", "risk_coverage"} as `evaluate`'s.
    """
    documents, questions = _load(path, limit, seed)
    by_id = {document.id: document for document in documents}
    reader = SpanReader(model_dir, precision=precision)
    em, f1, scores, latencies = [], [], [], []
    for question in tqdm(questions, desc="read"):
        document = by_id[question.document_id]
        paragraph = Passage(0, document.id, 0, len(document.text), document.text, ())
        started = time.perf_counter()
        spans = reader.read(Question(question.question, np.zeros(0)), [ScoredPassage(paragraph, 1.0, 1)], 1)
        latencies.append((time.perf_counter() - started) * 1000)
        prediction = document.text[spans[0].start : spans[0].end] if spans else ""
        scores.append(spans[0].score if spans else 0.0)
        em.append(_best(exact_match, prediction, question))
        f1.append(_best(f1_score, prediction, question))
    windows = reader.model.windows_read
    return {
        "file": str(path),
        "mode": "paragraph",
        "reader": reader.to_dict(),
        "questions": len(questions),
        **_em_f1(em, f1),
        "windows": windows,
        "windows_per_s": round(windows / (sum(latencies) / 1000), 1),
        "latency_ms": _percentiles(latencies),
        "scores": _score_quality(np.array(scores), (np.array(f1) >= 0.5).astype(float)),
    }


def _score_quality(scores: np.ndarray, right: np.ndarray) -> dict:
    """How well the top answers' scores say which are right: calibration error, reliability, risk-coverage."""
    return {
        "ece": round(expected_calibration_error(scores, right), 4),
        "reliability": reliability(scores, right),
        "risk_coverage": risk_coverage(scores, right),
    }


def _load(path: Path, limit: int | None, seed: int) -> tuple[list, list]:
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    documents, questions = load_squad(path)
    if not questions:
        raise ValueError(f"{path} holds no question with an answer to score")
    if limit is not None and limit < len(questions):
        questions = random.Random(seed).sample(questions, limit)
    return documents, questions


def _best(metric, prediction: str, question) -> float:
    return best_score(metric, prediction, [text for _, _, text in question.answers])


def _percentiles(milliseconds: list[float]) -> dict:
    return {name: round(float(np.percentile(milliseconds, q)), 1) for name, q in (("p50", 50), ("p95", 95))}


def _em_f1(em: list[float], f1: list[float]) -> dict:
    return {"exact_match": round(100 * float(np.mean(em)), 2), "f1": round(100 * float(np.mean(f1)), 2)}


def _covers(passage, question) -> bool:
    return passage.document_id == question.document_id and any(
        passage.start <= start and end <= passage.end for start, end, _ in question.answers
    )


def _share(flags) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else 0.0

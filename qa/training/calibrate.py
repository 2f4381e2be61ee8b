"""Fit the span reader's calibration and no-answer threshold on the training articles held out for it."""

import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from embeddings.encoder import Encoder
from qa.evaluation.squad import SquadQuestion, best_score, f1_score, load_squad
from qa.index.embedded import EmbeddedIndex
from qa.models import Document, ScoredPassage
from qa.pipeline import Pipeline
from qa.readers import Question, SentenceReader
from qa.readers.calibration import Calibration, expected_calibration_error, fit_logistic, risk_coverage
from qa.readers.span import SpanEvidence, SpanModel
from qa.training.examples import is_held_out
from qa.training.trainer import read_recipe

ANSWERS_PER_QUESTION = 3  # the service returns up to 3 answers by default; fit on what it returns
# Most training questions have one reference answer, so a right answer worded another way counts as
# wrong. The fit sees each question's reference count and the shipped scores are set at this one:
# three annotators' answers, as in SQuAD dev.
REFERENCE_STANDARD = 3
# The default threshold answers whenever held-out answers scored that high are right this often.
PRECISION_TARGET = 0.88


@dataclass(frozen=True)
class Reading:
    """One held-out question read open-book: its candidates' features and whether each is right.

    The features end with the question's log reference count (see `REFERENCE_STANDARD`).
    """

    features: np.ndarray
    right: np.ndarray
    spans: list[tuple[str, int, int]]
    answerable: bool
    source: str


# Over 60 lines: the calibration recipe (read, fit on half, measure on the other, fit on all) in order.
def calibrate_reader(
    model_dir: Path,
    data: list[Path],
    encoder: Encoder,
    limit: int = 3000,
    top_k: int = 5,
    all_articles: bool = False,
    precision: float = PRECISION_TARGET,
) -> dict:
    """Read held-out training questions open-book, fit the calibration, pick the threshold, save both.

    Held-out questions are asked twice: against all held-out articles (answerable), and with their own
    article's passages removed from the results (unanswerable), so the threshold sees both cases.

    Args:
        model_dir: the trained model; `training.json` there says which articles were held out.
        data: the SQuAD-format files it was trained on.
        encoder: the embedder for the temporary index.
        limit: held-out questions to sample (default 3,000), an equal share from each file where it has them.
        top_k: passages read per question (default 5).
        all_articles: read every article of `data`, not the held-out slice (default False): for
            questions about a deployment's own kind of reports, which the model never trained on.
        precision: the share of answers that must be right at the threshold (default 0.88); see `choose_threshold`.

    Returns:
        The figures written to `model_dir/calibration.json` and reported for the model card.
    """
    settings = read_recipe(model_dir, "--model")
    documents, by_file = _held_out(data, 100.0 if all_articles else settings["held_out_percent"])
    if not by_file:
        names = ", ".join(p.name for p in data)
        raise ValueError(
            f"{names} hold no questions"
            if all_articles
            else f"no article of {names} is held out: pass the files it was trained on, or use --all-articles"
        )
    questions = balanced_sample(by_file, limit, random.Random(settings["seed"]))
    model = SpanModel(model_dir)
    with tempfile.TemporaryDirectory(prefix="reportqa-calibrate-") as scratch:
        pipeline = Pipeline(EmbeddedIndex(Path(scratch), encoder), encoder, readers=[SentenceReader()])
        for first in tqdm(range(0, len(documents), 64), desc="ingest held-out articles", unit="batch"):
            pipeline.index.add_documents(documents[first : first + 64])
        by_id = {document.id: document for document in documents}
        readings = [
            reading
            for question in tqdm(questions, desc="read held-out questions")
            for reading in _read(pipeline, model, question, by_id, top_k)
        ]
        pipeline.index.close()
    answerable = [r for r in readings if r.answerable]
    # Fit on half, measure on the other half (all of it, and its questions with the standard reference count)
    held_back = answerable[1::2]
    calibration = _fit(answerable[0::2])
    ece = expected_calibration_error(*_top_answers(calibration, held_back))
    at_standard = [r for r in held_back if r.features[0, -1] == _log_references(REFERENCE_STANDARD)]
    ece_at_standard = expected_calibration_error(*_top_answers(calibration, at_standard)) if at_standard else None
    # Then fit the shipped calibration on all, its scores set at the standard reference count.
    calibration, per_log_reference = fit_at_standard(answerable)
    threshold, answered = choose_threshold(calibration, readings, precision)
    kind = "questions from every article of" if all_articles else "held-out training questions"
    fitted_on = f"{len(answerable)} {kind} ({', '.join(p.name for p in data)})"
    Calibration(calibration.weights, calibration.bias, threshold, fitted_on).save(model_dir / "calibration.json")
    return {
        "questions": len(answerable),
        "ece_top_answer_held_back_half": round(ece, 4),
        f"ece_top_answer_held_back_{REFERENCE_STANDARD}_references": (
            None if ece_at_standard is None else round(ece_at_standard, 4)
        ),
        "ece_top_answer_unseen_file": ece_on_unseen_files(answerable),
        "threshold": threshold,
        "answered_at_threshold": answered,
        "risk_coverage": risk_coverage(*_top_answers(calibration, _at_standard(answerable))),
        "weights": list(calibration.weights),
        "bias": calibration.bias,
        "weight_per_log_reference": per_log_reference,
    }


def ece_on_unseen_files(readings: list[Reading]) -> dict[str, float]:
    """How far the calibration drifts on a kind of text it did not see, measured on training data alone.

    Args:
        readings: answerable held-out questions, read open-book, from two files or more.

    Returns:
        {file: ECE of the top answer on that file's questions, with the calibration fitted on the other
        files alone}; empty when the readings come from one file.
    """
    sources = sorted({r.source for r in readings})
    if len(sources) < 2:
        return {}
    errors = {}
    for source in sources:
        calibration = _fit([r for r in readings if r.source != source])
        unseen = [r for r in readings if r.source == source]
        errors[source] = round(expected_calibration_error(*_top_answers(calibration, unseen)), 4)
    return errors


def balanced_sample(by_file: dict[str, list[SquadQuestion]], limit: int, rng: random.Random) -> list[SquadQuestion]:
    """Sample up to `limit` questions with an equal share per file; shares a small file cannot fill go to the rest.

    Training caps each file so that no source dominates; calibration follows suit, or the file with the
    most questions (QAMR: half the held-out questions) would set the scores for every kind of report.
    """
    sample, remaining = [], limit
    # Smallest files first: each takes at most an equal share of what is left
    for left, name in enumerate(sorted(by_file, key=lambda n: (len(by_file[n]), n))):
        share = min(len(by_file[name]), remaining // (len(by_file) - left))
        sample += rng.sample(by_file[name], share)
        remaining -= share
    return sample


def _held_out(data: list[Path], held_out_percent: float) -> tuple[list[Document], dict[str, list[SquadQuestion]]]:
    """The held-out articles of every file, and their questions by file (files with none left out)."""
    documents, by_file = [], {}
    for path in sorted(data):
        file_documents, file_questions = load_squad(path)
        # Ids are unique per file only; prefix them with the file's name.
        kept = {d.id for d in file_documents if is_held_out(path.name, d.title, held_out_percent)}
        documents += [
            Document(f"{path.stem}/{d.id}", d.text, d.title, source=path.stem) for d in file_documents if d.id in kept
        ]
        questions = [
            SquadQuestion(q.id, q.question, f"{path.stem}/{q.document_id}", q.answers)
            for q in file_questions
            if q.document_id in kept
        ]
        if questions:
            by_file[path.name] = questions
    return documents, by_file


def _read(pipeline: Pipeline, model: SpanModel, question: SquadQuestion, by_id: dict[str, Document], top_k: int):
    vector = pipeline.encoder.encode([question.question])[0]
    retrieved = pipeline.retrieve(Question(question.question, vector), top_k * 4)
    golds = [text for _, _, text in question.answers]
    others = [p for p in retrieved if p.passage.document_id != question.document_id][:top_k]
    for passages, answerable in ((retrieved[:top_k], True), (_renumber(others), False)):
        evidence = model.evidence(question.question, passages)
        if not evidence:
            continue
        right = [answerable and _is_right(by_id, e, golds) for e in evidence]
        spans = [(e.span.document_id, e.span.start, e.span.end) for e in evidence]
        source = by_id[question.document_id].source
        features = [(*e.features, _log_references(len(golds))) for e in evidence]
        yield Reading(np.array(features), np.array(right, dtype=float), spans, answerable, source)


def _log_references(count: int) -> float:
    return math.log(min(count, REFERENCE_STANDARD))


def fit_at_standard(readings: list[Reading]) -> tuple[Calibration, float]:
    """Fit on readings whose features end with the log reference count; score as if it were the standard.

    Args:
        readings: answerable questions read open-book, with any mix of reference counts.

    Returns:
        A calibration over the features without the reference count, its weight folded into the bias;
        and that weight (log odds of being right per log reference).
    """
    *weights, per_log_reference = (fitted := _fit(readings)).weights
    bias = fitted.bias + per_log_reference * _log_references(REFERENCE_STANDARD)
    return Calibration(tuple(weights), bias, fitted.threshold), per_log_reference


def _without_references(reading: Reading) -> Reading:
    return Reading(reading.features[:, :-1], reading.right, reading.spans, reading.answerable, reading.source)


def _renumber(passages: list[ScoredPassage]) -> list[ScoredPassage]:
    return [ScoredPassage(p.passage, p.score, rank) for rank, p in enumerate(passages, start=1)]


def _is_right(by_id: dict[str, Document], evidence: SpanEvidence, golds: list[str]) -> bool:
    text = by_id[evidence.span.document_id].text[evidence.span.start : evidence.span.end]
    return best_score(f1_score, text, golds) >= 0.5


def _fit(readings: list[Reading]) -> Calibration:
    # First on every candidate, then again on the answers the service would return with that ranking.
    weights, bias = fit_logistic(np.vstack([r.features for r in readings]), np.concatenate([r.right for r in readings]))
    first = Calibration(tuple(weights.tolist()), bias, 0.5)
    chosen = [_returned(first, r) for r in readings]
    features = np.vstack([r.features[i] for r, i in zip(readings, chosen, strict=True)])
    labels = np.concatenate([r.right[i] for r, i in zip(readings, chosen, strict=True)])
    weights, bias = fit_logistic(features, labels)
    return Calibration(tuple(weights.tolist()), bias, 0.5)


def _returned(calibration: Calibration, reading: Reading) -> list[int]:
    """Indices of the answers the service would return: best first, no two overlapping."""
    order = np.argsort(-calibration.probability(reading.features))
    chosen: list[int] = []
    for i in order.tolist():
        document, start, end = reading.spans[i]
        if all(not (d == document and s < end and start < e) for d, s, e in (reading.spans[c] for c in chosen)):
            chosen.append(i)
        if len(chosen) == ANSWERS_PER_QUESTION:
            break
    return chosen


def _top_answers(calibration: Calibration, readings: list[Reading]) -> tuple[np.ndarray, np.ndarray]:
    probabilities = [calibration.probability(r.features) for r in readings]
    best = [int(np.argmax(p)) for p in probabilities]
    return (
        np.array([p[i] for p, i in zip(probabilities, best, strict=True)]),
        np.array([r.right[i] for r, i in zip(readings, best, strict=True)]),
    )


def _at_standard(readings: list[Reading]) -> list[Reading]:
    """The readings of questions with the standard reference count, without that feature: shipped scores
    and right-or-wrong judged alike. All readings when none has it (a deployment's one-reference questions).
    """
    standard = [r for r in readings if r.features[0, -1] == _log_references(REFERENCE_STANDARD)]
    return [_without_references(r) for r in standard or readings]


def choose_threshold(calibration: Calibration, readings: list[Reading], precision: float) -> tuple[float, dict]:
    """The lowest threshold at which the held-out answerable questions it answers are right `precision` of the time.

    Only questions with the standard reference count choose it, since the shipped scores are set at that
    count: against one reference, right answers worded otherwise would count as wrong and push it up.
    Where no threshold reaches `precision`, the one that comes nearest.
    """
    chosen = _at_standard(readings)
    probabilities, right = _top_answers(calibration, chosen)
    answerable = np.array([r.answerable for r in chosen])
    curve = [
        (row["threshold"], row["right_of_answered"] or 0.0)
        for row in risk_coverage(probabilities[answerable], right[answerable], step=0.01)
        if 0.05 <= row["threshold"] <= 0.95
    ]
    reaching = [t for t, share in curve if share >= precision]
    threshold = float(reaching[0] if reaching else max(curve, key=lambda point: point[1])[0])
    answered = probabilities >= threshold
    return threshold, {
        "questions": int(answerable.sum()),
        "answerable": round(float(answered[answerable].mean()), 4),
        "right_of_answered": round(float(right[answered & answerable].mean()), 4)
        if (answered & answerable).any()
        else None,
        "unanswerable": round(float(answered[~answerable].mean()), 4) if (~answerable).any() else None,
    }

"""SQuAD v1.1 files and the official answer scoring (normalisation, exact match, F1)."""

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from qa.models import Document
from qa.text import normalize_answer


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    document_id: str
    answers: tuple[tuple[int, int, str], ...]  # (start, end, text) in the document


def load_squad(path: Path) -> tuple[list[Document], list[SquadQuestion]]:
    """Every context becomes a document (id `a<article>-p<paragraph>`), every question a SquadQuestion.

    Raises:
        ValueError: the file is not SQuAD-format JSON (the message says what is missing).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a SQuAD-format JSON file with a top-level 'data' list ({error})") from None
    documents, questions = [], []
    try:
        for a, article in enumerate(data):
            for p, paragraph in enumerate(article["paragraphs"]):
                document_id = f"a{a}-p{p}"
                context = paragraph["context"]
                documents.append(Document(document_id, context, title=article.get("title", ""), source=path.stem))
                for qa in paragraph["qas"]:
                    answers = tuple(
                        (ans["answer_start"], ans["answer_start"] + len(ans["text"]), ans["text"])
                        for ans in qa["answers"]
                    )
                    if answers:
                        questions.append(SquadQuestion(str(qa["id"]), qa["question"], document_id, answers))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{path} is not SQuAD v1.1 format ({type(error).__name__}: {error}): each article needs 'paragraphs', "
            "each paragraph 'context' and 'qas', each question 'id', 'question' and 'answers'"
        ) from None
    return documents, questions


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(predicted) & Counter(expected)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_score(metric, prediction: str, golds: list[str]) -> float:
    """The official script's rule: score against every gold answer and keep the best."""
    return max(metric(prediction, gold) for gold in golds)

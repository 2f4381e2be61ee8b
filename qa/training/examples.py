"""Training questions from SQuAD-format files: a held-out split by article, negatives, labelled windows."""

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from qa.evaluation.squad import load_squad
from qa.readers.windows import Window, tokenize_windows


@dataclass(frozen=True)
class Example:
    """A question and a context; `answer` is `(start, end)` in the context, or None when it has none."""

    question: str
    context: str
    answer: tuple[int, int] | None


@dataclass(frozen=True)
class LabelledWindow:
    window: Window
    start_token: int  # 0 (the [CLS] token) when the answer is not wholly inside the window
    end_token: int


def is_held_out(file_name: str, title: str, held_out_percent: float) -> bool:
    """Whether an article belongs to the held-out slice: a stable hash, the same on every machine."""
    digest = hashlib.sha256(f"{file_name}\0{title}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < held_out_percent * 100


def load_examples(
    paths: list[Path],
    held_out_percent: float,
    split: str,
    negative_rate: float,
    seed: int,
    max_questions_per_file: int | None = None,
    questions_per_file: dict[str, int] | None = None,
) -> list[Example]:
    """Read SQuAD-format files into examples of one split ("train" or "held-out").

    Args:
        paths: SQuAD v1.1-format JSON files.
        held_out_percent: share of each file's articles kept out of training, in percent.
        split: "train" for the rest, "held-out" for the kept-out articles.
        negative_rate: share of questions also paired with another paragraph (answer None),
            preferably of the same article, so that the model learns to say "not here"; a paragraph
            that contains one of the question's answers is not used.
        seed: seeds the choice of negatives and of sampled questions.
        max_questions_per_file: sample at most this many questions of the split from each file,
            so that one large file does not dominate (default: all).
        questions_per_file: caps for named files (file name -> questions), in place of
            `max_questions_per_file`, to weigh the mix towards some files (default: none).
    """
    rng = random.Random(seed)
    examples = []
    for path in sorted(paths):
        documents, questions = load_squad(path)
        by_id = {document.id: document for document in documents}
        chosen = {d.id for d in documents if is_held_out(path.name, d.title, held_out_percent) == (split == "held-out")}
        by_title: dict[str, list[str]] = {}
        for document in documents:
            by_title.setdefault(document.title, []).append(document.id)
        questions = [question for question in questions if question.document_id in chosen]
        cap = (questions_per_file or {}).get(path.name, max_questions_per_file)
        if cap is not None and len(questions) > cap:
            questions = rng.sample(questions, cap)
        for question in questions:
            document = by_id[question.document_id]
            start, end, _ = question.answers[0]
            examples.append(Example(question.question, document.text, (start, end)))
            if rng.random() < negative_rate:
                siblings = [i for i in by_title[document.title] if i != document.id]
                other = rng.choice(siblings) if siblings else rng.choice(documents).id
                # A paragraph that holds the answer text is no lesson in "not here"; most often it says
                # the same thing again (a repeated fact, a sibling paragraph that restates it).
                golds = [text for _, _, text in question.answers]
                if other != document.id and not any(gold in by_id[other].text for gold in golds):
                    examples.append(Example(question.question, by_id[other].text, None))
    return examples


def label_windows(
    tokenizer: PreTrainedTokenizerFast, examples: list[Example], max_length: int, stride: int
) -> list[LabelledWindow]:
    """Tokenize examples into windows labelled with the answer's first and last token."""
    labelled = []
    batch = 1000
    for first in range(0, len(examples), batch):
        chunk = examples[first : first + batch]
        windows = tokenize_windows(
            tokenizer, [e.question for e in chunk], [e.context for e in chunk], max_length, stride
        )
        for window in windows:
            labelled.append(_label(window, chunk[window.context_index].answer))
    return labelled


def _label(window: Window, answer: tuple[int, int] | None) -> LabelledWindow:
    if answer is None:
        return LabelledWindow(window, 0, 0)
    start, end = answer
    tokens = [(i, offset) for i, offset in enumerate(window.offsets) if offset is not None]
    if not tokens or tokens[0][1][0] > start or tokens[-1][1][1] < end:
        return LabelledWindow(window, 0, 0)
    start_token = next(i for i, (s, e) in tokens if e > start)
    end_token = next(i for i, (s, e) in reversed(tokens) if s < end)
    return LabelledWindow(window, start_token, max(start_token, end_token))


def batch_order(windows: list[LabelledWindow], batch_size: int, seed: int) -> list[list[int]]:
    """One epoch's batches of window indices: shuffled, grouped by length so that padding stays small."""
    rng = random.Random(seed)
    indices = list(range(len(windows)))
    rng.shuffle(indices)
    group = batch_size * 50
    batches: list[list[int]] = []
    for first in range(0, len(indices), group):
        chunk = sorted(indices[first : first + group], key=lambda i: len(windows[i].window.input_ids))
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches

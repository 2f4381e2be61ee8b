"""Would the span reader read less, at the same F1, by stopping after the first passage when its answer scores high?

For each sampled question of a SQuAD-format file (every context indexed as a document), retrieves the
top `--top-k` passages, reads the first alone and then all of them, and prints, for several score
thresholds, the share of questions that would stop after the first passage, the F1 of answering so
(the first passage's answer where it scores at least the threshold, else the full read's), and the
mean reading time of that policy as a share of always reading everything (a stopped question costs its
first read; another costs the full read, as if the first passage's reading were reused, not repeated).

    python benchmarks/held_out.py /tmp/held-wiki.json ../shared/data/train/squad-v1.1-train-rest.json \
        ../shared/data/train/squadshifts-new-wiki.json --percent 5
    python benchmarks/early_stop.py /tmp/held-wiki.json --questions 800
"""

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder
from qa.evaluation.squad import best_score, f1_score, load_squad
from qa.index.embedded import EmbeddedIndex
from qa.models import Span
from qa.readers import Question, SpanReader

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD-format file (held-out training articles, not eval/)")
    parser.add_argument("--questions", type=int, default=800, help="questions sampled with --seed (default 800)")
    parser.add_argument("--top-k", type=int, default=5, help="passages read per question (default 5)")
    parser.add_argument("--precision", default="int8", help="the reader's arithmetic (default int8)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    documents, questions = load_squad(args.file)
    questions = random.Random(args.seed).sample(questions, min(args.questions, len(questions)))
    texts = {document.id: document.text for document in documents}
    encoder, reader = Encoder(), SpanReader(precision=args.precision)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        index = EmbeddedIndex(Path(scratch), encoder)
        for first in range(0, len(documents), 64):
            index.add_documents(documents[first : first + 64])
        for item in questions:
            question = Question(item.question, encoder.encode([item.question])[0])
            passages = index.retrieve(question.text, question.vector, args.top_k)
            golds = [text for _, _, text in item.answers]
            row = []
            for read in (passages[:1], passages):
                started = time.perf_counter()
                spans = reader.read(question, read, 1)
                seconds = time.perf_counter() - started
                row += [spans[0].score if spans else 0.0, best_score(f1_score, _text(spans, texts), golds), seconds]
            rows.append(row)
        index.close()
    _report(np.array(rows))


def _text(spans: list[Span], texts: dict[str, str]) -> str:
    return texts[spans[0].document_id][spans[0].start : spans[0].end] if spans else ""


def _report(rows: np.ndarray) -> None:
    """Columns: first passage's score, F1, seconds; then the full read's."""
    first_score, first_f1, first_s, _, full_f1, full_s = rows.T
    print(
        f"{len(rows)} questions: full read F1 {100 * full_f1.mean():.2f}, read p50 {1000 * np.median(full_s):.1f} ms;"
    )
    print(f"  first passage alone F1 {100 * first_f1.mean():.2f}, read p50 {1000 * np.median(first_s):.1f} ms")
    for threshold in THRESHOLDS:
        stop = first_score >= threshold
        f1 = np.where(stop, first_f1, full_f1).mean()
        cost = np.where(stop, first_s, full_s).sum() / full_s.sum()
        print(
            f"stop at score >= {threshold}: stopped {100 * stop.mean():.1f}%, F1 {100 * f1:.2f} "
            f"({100 * (f1 - full_f1.mean()):+.2f}), reading time {cost:.2f} of the full read"
        )


if __name__ == "__main__":
    main()

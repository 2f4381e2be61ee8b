"""Would the span reader read less, at the same F1, by stopping once a passage's answer scores high?

For each sampled question of a SQuAD-format file (every context indexed as a document), retrieves the
top `--top-k` passages and reads the first alone, the first two, and all of them, timing as well the
reads of what follows the first and the second. For several score thresholds it prints two policies:
stopping after the first passage (as the service does), and stopping after the first or the second.
For each: the share of questions stopped, the F1 of answering so (the answer of the passages read
where it scores at least the threshold, else the full read's), and the reading time as a share of
always reading everything at once (each question costs the reads the policy makes, none repeated).

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
            for read in (passages[:1], passages[:2], passages):
                spans, seconds = _timed(reader, question, read)
                row += [spans[0].score if spans else 0.0, best_score(f1_score, _text(spans, texts), golds), seconds]
            # What reading the rest costs after the first passage, or after the second.
            row += [_timed(reader, question, passages[1:])[1], _timed(reader, question, passages[1:2])[1]]
            row += [_timed(reader, question, passages[2:])[1]]
            rows.append(row)
        index.close()
    _report(np.array(rows))


def _timed(reader: SpanReader, question: Question, passages: list) -> tuple[list[Span], float]:
    started = time.perf_counter()
    spans = reader.read(question, passages, 1) if passages else []
    return spans, time.perf_counter() - started


def _text(spans: list[Span], texts: dict[str, str]) -> str:
    return texts[spans[0].document_id][spans[0].start : spans[0].end] if spans else ""


def _report(rows: np.ndarray) -> None:
    """Columns: score, F1 and seconds of reading the first passage, the first two, all; then the seconds of
    reading all but the first, the second alone, and all but the first two."""
    score1, f1_1, seconds1, score2, f1_2, _, _, full_f1, full_s, after1_s, second_s, after2_s = rows.T
    print(
        f"{len(rows)} questions: full read F1 {100 * full_f1.mean():.2f}, read p50 {1000 * np.median(full_s):.1f} ms;"
    )
    print(f"  first passage alone F1 {100 * f1_1.mean():.2f}, read p50 {1000 * np.median(seconds1):.1f} ms")
    # A stopped question costs the reads it made; the time of the full read is what the others cost.
    one_stop_full = seconds1 + after1_s
    two_stops_full = seconds1 + second_s + after2_s
    for threshold in THRESHOLDS:
        stop1, stop2 = score1 >= threshold, (score1 < threshold) & (score2 >= threshold)
        f1 = np.where(stop1, f1_1, full_f1).mean()
        cost = np.where(stop1, seconds1, one_stop_full).sum() / full_s.sum()
        f1_twice = np.where(stop1, f1_1, np.where(stop2, f1_2, full_f1)).mean()
        cost_twice = np.where(stop1, seconds1, np.where(stop2, seconds1 + second_s, two_stops_full)).sum()
        print(
            f"stop at score >= {threshold}: after the first passage: stopped {100 * stop1.mean():.1f}%, F1 "
            f"{100 * f1:.2f} ({100 * (f1 - full_f1.mean()):+.2f}), reading time {cost:.2f} of the full read; "
            f"after the first or the second: stopped {100 * (stop1 | stop2).mean():.1f}%, F1 {100 * f1_twice:.2f} "
            f"({100 * (f1_twice - full_f1.mean()):+.2f}), reading time {cost_twice / full_s.sum():.2f}"
        )


if __name__ == "__main__":
    main()

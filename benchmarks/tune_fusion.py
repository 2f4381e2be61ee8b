"""Choose the fusion's constant and weights on held-out training data of several kinds (never eval/).

Indexes each SQuAD-format file on its own (as `reportqa eval` does), records every question's dense,
BM25 and best-sentence rankings once, then fuses them with each setting and prints recall@1 and @5
per file, beside dense and BM25 alone. The weights are those of the dense, BM25 and best-sentence
rankings (0 leaves a ranking out). A setting "never loses" where, on every file, its recall@1 and @5
are at least those of dense alone and of BM25 alone.

Usage:
    python benchmarks/held_out.py /tmp/held-out-policy.json ../shared/data/train/policyqa-*.json
    python benchmarks/tune_fusion.py /tmp/held-out-policy.json /tmp/held-out-wiki.json --limit 1500
    python benchmarks/tune_fusion.py ../shared/data/eval/covidqa-2020-04-23.json --only 5:1,2,2 --only 5:0,1,1
"""

import argparse
import itertools
import random
import tempfile
from pathlib import Path

from embeddings.encoder import Encoder
from qa.evaluation.squad import SquadQuestion, load_squad
from qa.index.embedded import EmbeddedIndex
from qa.retrieval.hybrid import Hit, HybridRetriever

RRF_KS = (5, 10, 20, 60)
WEIGHTS = list(itertools.product((0.0, 0.5, 1.0), (1.0, 2.0, 3.0, 4.0), (0.0, 1.0, 2.0)))
Rankings = list[list[int]]  # dense, BM25, best sentence: passage ids, best first


class RecordingRetriever(HybridRetriever):
    """The default fusion, which also keeps the three rankings it fused for the last question."""

    last: Rankings = []

    def fuse(self, rankings: Rankings, top_k: int) -> list[Hit]:
        self.last = rankings
        return super().fuse(rankings, top_k)


def record(path: Path, encoder: Encoder, limit: int | None) -> tuple[list[Rankings], list[set[int]]]:
    """Each question's three rankings, and the passages that hold one of its answers."""
    documents, questions = load_squad(path)
    if limit is not None and limit < len(questions):
        questions = random.Random(0).sample(questions, limit)
    retriever = RecordingRetriever()
    with tempfile.TemporaryDirectory() as scratch:
        index = EmbeddedIndex(Path(scratch), encoder, retriever=retriever)
        for first in range(0, len(documents), 64):
            index.add_documents(documents[first : first + 64])
        passages = list(index.passages())
        vectors = encoder.encode([q.question for q in questions])
        rankings = []
        for question, vector in zip(questions, vectors, strict=True):
            index.retrieve(question.question, vector, 5)
            rankings.append(retriever.last)
        index.close()
    answers = [{p.id for p in passages if _covers(p, question)} for question in questions]
    return rankings, answers


def recall(ranked: list[list[int]], answers: list[set[int]], k: int) -> float:
    return sum(bool(set(ids[:k]) & gold) for ids, gold in zip(ranked, answers, strict=True)) / len(answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+", help="SQuAD-format files of held-out training articles")
    parser.add_argument("--limit", type=int, help="questions sampled per file (default all)")
    parser.add_argument("--show", type=int, default=10, help="settings printed, best mean first (default 10)")
    parser.add_argument(
        "--only",
        action="append",
        type=_setting,
        metavar="RRF_K:DENSE,BM25,SENTENCE",
        help="measure only this setting (repeatable; e.g. 5:0,1,1), as on eval/ files, where nothing is chosen",
    )
    parser.add_argument(
        "--model", type=Path, help="embedding model folder, e.g. a trained retriever (default: the shipped retriever)"
    )
    args = parser.parse_args()
    settings = args.only or [(rrf_k, weights) for rrf_k, weights in itertools.product(RRF_KS, WEIGHTS) if any(weights)]

    encoder = Encoder(args.model)
    recorded = {path.stem: record(path, encoder, args.limit) for path in args.files}
    singles = {}
    for name, (rankings, answers) in recorded.items():
        dense, bm25 = [r[0] for r in rankings], [r[1] for r in rankings]
        singles[name] = {k: max(recall(dense, answers, k), recall(bm25, answers, k)) for k in (1, 5)}
        alone = "; ".join(
            f"{label} @1 {recall(ranked, answers, 1):.4f} @5 {recall(ranked, answers, 5):.4f}"
            for label, ranked in (("dense", dense), ("BM25", bm25))
        )
        print(f"{name}: {len(answers)} questions; {alone}")
    results = []
    for rrf_k, weights in settings:
        fusion = HybridRetriever(rrf_k, weights)
        per_file = {}
        for name, (rankings, answers) in recorded.items():
            fused = [[hit.passage_id for hit in fusion.fuse(r, 5)] for r in rankings]
            per_file[name] = {k: recall(fused, answers, k) for k in (1, 5)}
        never_loses = all(per_file[n][k] >= singles[n][k] for n in per_file for k in (1, 5))
        mean = sum(f[1] + f[5] for f in per_file.values()) / (2 * len(per_file))
        results.append((mean, never_loses, rrf_k, weights, per_file))
    default = HybridRetriever()
    results.sort(key=lambda r: -r[0])
    is_default = [(r[2], r[3]) == (default.rrf_k, default.weights) for r in results]
    shown = [r for i, r in enumerate(results) if i < args.show or is_default[i]]
    for mean, never_loses, rrf_k, weights, per_file in shown:
        cells = "; ".join(f"{n} {f[1]:.4f}/{f[5]:.4f}" for n, f in per_file.items())
        mark = " (default)" if (rrf_k, weights) == (default.rrf_k, default.weights) else ""
        print(f"rrf_k {rrf_k:>2} weights {weights}{mark}: mean {mean:.4f}, never loses {never_loses}; {cells}")


def _setting(value: str) -> tuple[int, tuple[float, float, float]]:
    rrf_k, _, weights = value.partition(":")
    dense, bm25, sentence = (float(w) for w in weights.split(","))
    return int(rrf_k), (dense, bm25, sentence)


def _covers(passage, question: SquadQuestion) -> bool:
    return passage.document_id == question.document_id and any(
        passage.start <= s and e <= passage.end for s, e, _ in question.answers
    )


if __name__ == "__main__":
    main()

"""The retriever's training triples: reportqa's passages of SQuAD-format files, BM25 negatives, held-out articles."""

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.evaluation.squad import SquadQuestion, load_squad
from qa.ingest.splitter import OVERLAP_TOKENS, PASSAGE_TOKENS, PassageSplitter, Tokenize
from qa.models import Document
from qa.retrieval.sparse import SparseIndex
from qa.training.examples import is_held_out

# BM25's best passages looked at for a hard negative; past them (or with no match) a random passage is taken.
NEGATIVE_CANDIDATES = 20
# A passage is the negative of this many questions at most. Unchecked, BM25 hands a few long passages
# full of common words to dozens of questions (77 of SQuAD's subset's 4,400): a batch may hold a text
# once, so they trail in batches of one, and the model sees fewer distinct negatives.
MAX_NEGATIVE_USES = 8


@dataclass(frozen=True)
class Passage:
    """A passage as reportqa stores it: `[start, end)` of its paragraph (`document_id`), and its text."""

    document_id: str
    start: int
    end: int
    text: str

    def holds(self, document_id: str, answers: tuple[tuple[int, int, str], ...]) -> bool:
        """Whether one of the answers' spans lies wholly inside this passage."""
        return document_id == self.document_id and any(self.start <= s and e <= self.end for s, e, _ in answers)


@dataclass(frozen=True)
class Triple:
    """A training question, the passage that holds its answer, and one that BM25 ranks high but that lacks it."""

    question: str
    positive: str
    negative: str
    answers: tuple[str, ...]
    title: str
    bm25_negative: bool  # False where BM25 found no passage without the answer and a random one stands in

    def texts(self) -> tuple[str, str, str]:
        return self.question, self.positive, self.negative


@dataclass
class HeldOutSet:
    """One file's held-out articles: their passages, and their questions whose answer lies inside a passage."""

    file: str
    passages: list[Passage]
    questions: list[SquadQuestion]
    titles: list[str]


@dataclass
class RetrieverData:
    triples: list[Triple] = field(default_factory=list)
    held_out: list[HeldOutSet] = field(default_factory=list)
    # Per file: questions read, pairs made, negatives from BM25, held-out articles and questions.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def held_out_titles(file_name: str, titles: list[str], percent: float) -> set[str]:
    """The articles kept out: `is_held_out`'s stable hash (the reader's too), and at least one of two or more.

    At the reader's 8% and this 5%, every article held out here is held out from the reader too.
    """
    distinct = sorted(set(titles))
    chosen = {title for title in distinct if is_held_out(file_name, title, percent)}
    if not chosen and len(distinct) > 1 and percent > 0:
        # A small file (SQuAD's subset: 14 articles) would often keep none: take the one that hashes lowest.
        chosen = {min(distinct, key=lambda title: _hash_rank(file_name, title))}
    return chosen


def _hash_rank(file_name: str, title: str) -> float:
    # The smallest percent at which `is_held_out` holds the article out, to the hash's resolution.
    low, high = 0.0, 100.0
    for _ in range(20):
        middle = (low + high) / 2
        low, high = (low, middle) if is_held_out(file_name, title, middle) else (middle, high)
    return high


def load_retriever_data(
    paths: list[Path],
    tokenize: Tokenize,
    held_out_percent: float,
    seed: int,
    pairs_per_file: dict[str, int] | None = None,
    passage_tokens: int = PASSAGE_TOKENS,
    overlap_tokens: int = OVERLAP_TOKENS,
) -> RetrieverData:
    """Split every file's paragraphs into passages and build its triples and held-out set.

    Args:
        paths: SQuAD v1.1-format files; each paragraph is one document, split as reportqa splits documents.
        tokenize: the embedder's tokenizer (`Encoder.tokenize`).
        held_out_percent: share of each file's articles (titles) kept out of training, in percent.
        seed: seeds the sampling of questions and the stand-in random negatives.
        pairs_per_file: at most this many training questions sampled from the named files (default: all).
        passage_tokens, overlap_tokens: the splitter's settings (reportqa's defaults: 200 and 48).
    """
    splitter = PassageSplitter(tokenize, passage_tokens, overlap_tokens)
    rng = random.Random(seed)
    data = RetrieverData()
    for path in sorted(paths):
        documents, questions = load_squad(path)
        kept_out = held_out_titles(path.name, [d.title for d in documents], held_out_percent)
        titles = {d.id: d.title for d in documents}
        passages = _split(splitter, documents)
        train_questions = [q for q in questions if titles[q.document_id] not in kept_out]
        cap = (pairs_per_file or {}).get(path.name)
        triples = _triples(passages, titles, train_questions, kept_out, cap, rng)
        held_out = _held_out_set(path.name, passages, titles, questions, kept_out)
        data.triples += triples
        data.held_out.append(held_out)
        data.counts[path.name] = {
            "questions": len(questions),
            "pairs": len(triples),
            "bm25_negatives": sum(t.bm25_negative for t in triples),
            "held_out_articles": len(kept_out),
            "held_out_questions": len(held_out.questions),
            "held_out_passages": len(held_out.passages),
        }
    return data


def _split(splitter: PassageSplitter, documents: list[Document]) -> dict[str, list[Passage]]:
    return {
        document.id: [
            Passage(document.id, span.start, span.end, document.text[span.start : span.end])
            for span in splitter.split(document.text)
        ]
        for document in documents
    }


def _triples(
    passages: dict[str, list[Passage]],
    titles: dict[str, str],
    questions: list[SquadQuestion],
    kept_out: set[str],
    cap: int | None,
    rng: random.Random,
) -> list[Triple]:
    """Each question whose answer lies inside one of its paragraph's passages, with a hard negative."""
    positives = [(q, _positive(passages[q.document_id], q)) for q in questions]
    answered = [(q, p) for q, p in positives if p is not None]
    if cap is not None and len(answered) > cap:
        answered = rng.sample(answered, cap)
    # Negatives come from the training articles only: no held-out text may reach training.
    pool = [p for document_id, split in passages.items() if titles[document_id] not in kept_out for p in split]
    sparse = SparseIndex()
    sparse.build(np.arange(len(pool)), [p.text for p in pool])
    triples = []
    uses: Counter[int] = Counter()
    for question, positive in answered:
        golds = tuple(text for _, _, text in question.answers)
        negative, from_bm25 = _negative(sparse, pool, uses, question.question, golds, rng)
        if negative is not None:
            title = titles[question.document_id]
            triples.append(Triple(question.question, positive.text, negative, golds, title, from_bm25))
    return triples


def _positive(passages: list[Passage], question: SquadQuestion) -> Passage | None:
    """The first passage that holds one of the answers' spans (None when each straddles a passage boundary)."""
    return next((p for p in passages if p.holds(question.document_id, question.answers)), None)


def contains_answer(text: str, answers: tuple[str, ...]) -> bool:
    """Whether `text` holds one of the answers' texts, case aside: such a passage is no negative."""
    lowered = text.lower()
    return any(answer.lower() in lowered for answer in answers)


def _negative(
    sparse: SparseIndex,
    pool: list[Passage],
    uses: Counter[int],
    question: str,
    golds: tuple[str, ...],
    rng: random.Random,
) -> tuple[str | None, bool]:
    """BM25's best passage that lacks the answers and is not used up; else a random one; counted in `uses`."""
    ids, _ = sparse.search(question, k=NEGATIVE_CANDIDATES)
    found = next(
        (int(i) for i in ids if uses[i] < MAX_NEGATIVE_USES and not contains_answer(pool[i].text, golds)), None
    )
    from_bm25 = found is not None
    for _ in range(10):
        if found is not None:
            break
        candidate = rng.randrange(len(pool))
        if not contains_answer(pool[candidate].text, golds):
            found = candidate
    if found is None:
        return None, False
    uses[found] += 1
    return pool[found].text, from_bm25


def _held_out_set(
    file_name: str,
    passages: dict[str, list[Passage]],
    titles: dict[str, str],
    questions: list[SquadQuestion],
    kept_out: set[str],
) -> HeldOutSet:
    pool = [p for document_id, split in passages.items() if titles[document_id] in kept_out for p in split]
    asked = [q for q in questions if titles[q.document_id] in kept_out]
    # A question whose every answer straddles a passage boundary has no passage to find.
    answerable = [q for q in asked if _positive(passages[q.document_id], q) is not None]
    return HeldOutSet(file_name, pool, answerable, sorted(kept_out))


def batch_order(triples: list[Triple], batch_size: int, seed: int) -> list[list[int]]:
    """One epoch's batches of triple indices, shuffled, no text twice in a batch.

    The loss scores each question against every passage of its batch: a second question on the same
    paragraph, or one whose negative is another's positive, would teach the model that its right
    passage is wrong. Each triple goes to the first open batch free of its texts (a new one when none
    is), so that a paragraph's many questions spread over batches rather than trail in batches of one.
    """
    order = list(range(len(triples)))
    random.Random(seed).shuffle(order)
    open_batches: list[tuple[list[int], set[str]]] = []
    batches: list[list[int]] = []
    for index in order:
        texts = triples[index].texts()
        home = next((batch for batch in open_batches if batch[1].isdisjoint(texts)), None)
        if home is None:
            home = ([], set())
            open_batches.append(home)
            batches.append(home[0])
        home[0].append(index)
        home[1].update(texts)
        if len(home[0]) == batch_size:
            open_batches.remove(home)
    return batches

"""The answering pipeline: an index, the encoder that embeds its questions, and the readers."""

import time
from collections.abc import Sequence
from dataclasses import dataclass

from embeddings.encoder import Encoder
from qa.index.base import Index
from qa.models import Document, Filters, InvalidInputError, Passage, ScoredPassage
from qa.readers import Question, Reader, choose_reader, default_readers
from qa.readers.answers import Answer, assemble_answers

MAX_QUESTION_CHARS = 1000
MAX_TOP_K = 50
MAX_ANSWERS = 20
# Questions one `ask_many` call answers at most: one batch at the encoder's default size.
MAX_BATCH_QUESTIONS = 32


def question_problem(question: str) -> str | None:
    """What makes `question` unanswerable as asked (empty, or too long), or None when it can be asked."""
    if not question.strip() or len(question.strip()) > MAX_QUESTION_CHARS:
        return f"question must be 1 to {MAX_QUESTION_CHARS} characters (after trimming spaces)"
    return None


class EmptyIndexError(Exception):
    """Asked before any report was ingested."""


@dataclass(frozen=True)
class AskResult:
    question: str
    answers: list[Answer]
    no_answer: bool
    passages: list[ScoredPassage]
    timings_ms: dict[str, float]


class Pipeline:
    """Answers questions from an index: embed the question, retrieve passages, read answers, cite them.

    Usage:
        encoder = Encoder()
        pipeline = Pipeline(EmbeddedIndex(Path("index"), encoder), encoder)
        pipeline.index.add_documents([Document(id="a", text="Sergei Shoigu is the defence minister.")])
        result = pipeline.ask("Who is the defence minister?")

    Args:
        index: where the reports are (written through `pipeline.index`).
        encoder: the embedder of questions; the one that embedded the index's passages.
        readers: the readers by name, the first being the default (default: span, then sentence).
        no_answer_threshold: answers scoring below this are not returned (default: each reader's own,
            e.g. the span reader's calibrated threshold).
    """

    def __init__(
        self,
        index: Index,
        encoder: Encoder,
        readers: list[Reader] | None = None,
        no_answer_threshold: float | None = None,
    ):
        self.index = index
        self.encoder = encoder
        readers = readers if readers is not None else default_readers()
        self.readers: dict[str, Reader] = {reader.name: reader for reader in readers}
        self.default_reader = readers[0].name
        self.no_answer_threshold = no_answer_threshold

    def retrieve(
        self, question: Question, top_k: int, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[ScoredPassage]:
        """The index's `top_k` passages for an embedded question (see `Index.retrieve`)."""
        return self.index.retrieve(question.text, question.vector, top_k, filters, mode)

    def search(
        self, query: str, top_k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[ScoredPassage]:
        """The passages that best match `query`, best first, with no reading: retrieval alone.

        Args:
            query: a question or keywords, 1 to 1,000 characters.
            top_k: passages to return, 1 to 50 (default 10).
            filters: restricts which documents are searched.
            mode: "hybrid" (default), "dense" or "sparse" (BM25).

        Raises:
            InvalidInputError: the query or a parameter is not acceptable (the message says why).
        """
        problem = question_problem(query)
        if problem is not None:
            raise InvalidInputError(problem.replace("question", "query", 1))
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidInputError(f"top_k must be 1 to {MAX_TOP_K}, not {top_k}")
        if not self.index.has_passages():
            raise EmptyIndexError("no reports are indexed yet: run `reportqa ingest PATH` or POST /v1/documents first")
        vector = self.encoder.encode([query.strip()])[0]
        return self.retrieve(Question(query.strip(), vector), top_k, filters, mode)

    def ask(
        self,
        question: str,
        top_k: int = 5,
        max_answers: int = 3,
        reader: str | None = None,
        filters: Filters | None = None,
    ) -> AskResult:
        """Answer a question from the indexed reports.

        Args:
            question: the question, 1 to 1,000 characters.
            top_k: passages to retrieve and read, 1 to 50 (default 5).
            max_answers: answers to return at most, 1 to 20 (default 3).
            reader: a name in `readers`; the default reader when None.
            filters: restricts which documents are searched.

        Raises:
            InvalidInputError: the question or a parameter is not acceptable (the message says why).
            EmptyIndexError: nothing has been ingested yet.
        """
        problem = question_problem(question)
        if problem is not None:
            raise InvalidInputError(problem)
        return self._answer_all([question.strip()], top_k, max_answers, reader, filters)[0]

    def ask_many(
        self,
        questions: Sequence[str],
        top_k: int = 5,
        max_answers: int = 3,
        reader: str | None = None,
        filters: Filters | None = None,
    ) -> list[AskResult]:
        """Answer several questions with the same options, in order, as `ask` answers each one.

        The questions are embedded in one encoder call; each is then retrieved and read on its own. A
        result's "encode" timing is its share of that call.

        Args:
            questions: 1 to 32 questions, each 1 to 1,000 characters.
            top_k, max_answers, reader, filters: as in `ask`, for every question.

        Raises:
            InvalidInputError: a question (named by its position, counting from 0) or a parameter is not
                acceptable, or there are no questions or too many.
            EmptyIndexError: nothing has been ingested yet.
        """
        if not 1 <= len(questions) <= MAX_BATCH_QUESTIONS:
            raise InvalidInputError(f"send 1 to {MAX_BATCH_QUESTIONS} questions, not {len(questions)}")
        for position, question in enumerate(questions):
            problem = question_problem(question)
            if problem is not None:
                raise InvalidInputError(f"questions[{position}]: {problem}")
        return self._answer_all([question.strip() for question in questions], top_k, max_answers, reader, filters)

    def _answer_all(
        self, questions: list[str], top_k: int, max_answers: int, reader: str | None, filters: Filters | None
    ) -> list[AskResult]:
        """Answer stripped, valid questions: the options checked, the questions embedded together."""
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidInputError(f"top_k must be 1 to {MAX_TOP_K}, not {top_k}")
        if not 1 <= max_answers <= MAX_ANSWERS:
            raise InvalidInputError(f"max_answers must be 1 to {MAX_ANSWERS}, not {max_answers}")
        chosen = choose_reader(self.readers, reader, self.default_reader)
        if not self.index.has_passages():
            raise EmptyIndexError("no reports are indexed yet: run `reportqa ingest PATH` or POST /v1/documents first")
        started = time.perf_counter()
        vectors = self.encoder.encode(questions)
        encode_ms = (time.perf_counter() - started) * 1000 / len(questions)
        return [
            self._answer(Question(text, vector), top_k, max_answers, chosen, filters, encode_ms)
            for text, vector in zip(questions, vectors, strict=True)
        ]

    def _answer(
        self,
        question: Question,
        top_k: int,
        max_answers: int,
        chosen: Reader,
        filters: Filters | None,
        encode_ms: float,
    ) -> AskResult:
        """Retrieve and read one embedded question; `encode_ms` is the time its embedding took."""
        started = time.perf_counter()
        passages = self.retrieve(question, top_k, filters)
        retrieved = time.perf_counter()
        spans = chosen.read(question, passages, max_answers)
        # A document deleted or replaced since retrieval no longer has the text that was read at
        # these offsets; citing it would break `text[start:end] == answer`.
        found = {doc_id: self.index.document(doc_id) for doc_id in {span.document_id for span in spans}}
        documents = {doc_id: document for doc_id, document in found.items() if document is not None}
        read = {scored.passage.id: scored.passage for scored in passages}
        spans = [span for span in spans if _still_holds(documents.get(span.document_id), read[span.passage_id])]
        threshold = self.no_answer_threshold if self.no_answer_threshold is not None else chosen.no_answer_threshold
        answers = assemble_answers(spans, documents, max_answers, threshold)
        finished = time.perf_counter()
        timings = {
            "encode": encode_ms,
            "retrieve": (retrieved - started) * 1000,
            "read": (finished - retrieved) * 1000,
            "total": encode_ms + (finished - started) * 1000,
        }
        rounded = {name: round(value, 2) for name, value in timings.items()}
        return AskResult(question.text, answers, not answers, passages, rounded)


def _still_holds(document: Document | None, passage: Passage) -> bool:
    return document is not None and document.text[passage.start : passage.end] == passage.text

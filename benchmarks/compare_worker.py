"""One system's run for `benchmarks/compare.py`, in a process of its own: load, index, ask, score, report.

`compare.py` starts this once per system and round; it is not meant to be run by hand. It limits
the process to `--threads` CPUs and threads before torch loads, loads the system's models (not
timed), indexes the work file's paragraphs (timed: splitting, embedding and storing), asks
`--warmup` questions unmeasured, then every question once, timing each, and writes one JSON file:
per-question exact match, F1 and latency, indexing figures, and the process's peak and final
resident memory (VmHWM and VmRSS of /proc/self/status).

Usage (what compare.py runs):
    python benchmarks/compare_worker.py haystack WORK.json RESULT.json --threads 2 --top-k 5
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SYSTEMS = ("reportqa", "haystack")
# How many candidates each of Haystack's two retrievers proposes to the fusion: reportqa's own depth
# (`HybridRetriever.depth`), so both fuse rankings of the same length.
FUSION_DEPTH = 50
# The span reader's window (the model card: at most 256 tokens, a 96-token stride).
READER_TOKENS = 256
READER_STRIDE = 96


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("work", type=Path, help="JSON written by compare.py: documents and questions")
    parser.add_argument("result", type=Path, help="where to write this run's JSON")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--precision", default="auto", help="reportqa's span reader arithmetic (default auto)")
    parser.add_argument("--warmup", type=int, default=3, help="questions asked first, not measured (default 3)")
    parser.add_argument("--early-stop-score", type=float, default=1.0, help="reportqa's early stop (default 1.0)")
    args = parser.parse_args()

    cpus = limit_threads(args.threads)
    work = json.loads(args.work.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix=f"reportqa-compare-{args.system}-") as scratch:
        started = time.perf_counter()
        system = {"reportqa": ReportQA, "haystack": Haystack}[args.system](args, Path(scratch))
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        passages = system.index(work["documents"])
        index_seconds = time.perf_counter() - started
        for question in work["questions"][: args.warmup]:
            system.ask(question["question"])
        em, f1, latencies, predictions = [], [], [], []
        for question in work["questions"]:
            started = time.perf_counter()
            prediction = system.ask(question["question"])
            latencies.append((time.perf_counter() - started) * 1000)
            em.append(best_score("em", prediction, question["answers"]))
            f1.append(best_score("f1", prediction, question["answers"]))
            predictions.append(prediction)
        memory = process_memory()
    result = {
        "system": args.system,
        "settings": system.settings,
        "versions": versions(args.system),
        "threads": args.threads,
        "cpus": cpus,
        "load_seconds": round(load_seconds, 2),
        "documents": len(work["documents"]),
        "passages": passages,
        "index_seconds": round(index_seconds, 3),
        "passages_per_s": round(passages / index_seconds, 2),
        "exact_match": em,
        "f1": f1,
        "latency_ms": [round(ms, 3) for ms in latencies],
        "predictions": predictions,
        **memory,
    }
    args.result.write_text(json.dumps(result), encoding="utf-8")
    return 0


def limit_threads(threads: int) -> list[int]:
    """Hold this process to `threads` CPUs and each library's pool to `threads`; before any of them loads.

    Environment variables set the pools of OpenMP (torch, which reads OMP_NUM_THREADS when it loads, and
    FAISS), MKL, OpenBLAS and the Rust tokenizers; the CPU affinity also bounds pools that size themselves
    by the machine (ONNX Runtime). Torch is not imported here: reportqa on ONNX files runs without it, and
    its resident memory should not count a library it does not use.

    Returns:
        The CPUs the process may run on.
    """
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ[name] = str(threads)
    available = sorted(os.sched_getaffinity(0))
    if threads < len(available):
        os.sched_setaffinity(0, available[:threads])
    return sorted(os.sched_getaffinity(0))


class ReportQA:
    """reportqa's own Pipeline over an EmbeddedIndex (flat FAISS + BM25, hybrid), as `reportqa eval` builds it."""

    def __init__(self, args: argparse.Namespace, scratch: Path):
        from embeddings.encoder import Encoder
        from qa.index.embedded import EmbeddedIndex
        from qa.pipeline import Pipeline
        from qa.readers import default_readers

        encoder = Encoder()
        readers = default_readers(None, args.precision, args.early_stop_score)
        index = EmbeddedIndex(scratch / "index", encoder)
        # As `reportqa eval`: every question gets its top answer, whatever its score.
        self.pipeline = Pipeline(index, encoder, readers, no_answer_threshold=0)
        self.top_k = args.top_k
        self.settings = {
            "embedder": str(encoder.model_path),
            "reader": readers[0].to_dict(),
            "retrieval": "hybrid: dense (flat FAISS) + BM25 + best sentence, weighted RRF",
            "top_k": args.top_k,
        }

    def index(self, documents: list[dict]) -> int:
        from qa.models import Document

        docs = [Document(d["id"], d["text"], title=d["title"], source="compare") for d in documents]
        # In batches of 64, as `reportqa eval` ingests.
        return sum(self.pipeline.index.add_documents(docs[i : i + 64]).passages for i in range(0, len(docs), 64))

    def ask(self, question: str) -> str:
        result = self.pipeline.ask(question, top_k=self.top_k, max_answers=1)
        return result.answers[0].text if result.answers else ""


def reportqa_passages(documents: list[dict], embedder: Path) -> list[tuple[dict, str]]:
    """Each document's passages as reportqa's index cuts them by default: (document, passage text), in order."""
    from embeddings.tokenizer import load_tokenizer
    from qa.ingest.splitter import PassageSplitter

    splitter = PassageSplitter(load_tokenizer(embedder))
    return [(d, d["text"][span.start : span.end]) for d in documents for span in splitter.split(d["text"])]


def embedder_path() -> Path:
    """reportqa's shipped retriever folder (`embeddings/model`), which both systems embed with."""
    from embeddings.encoder import SHIPPED_MODEL

    return SHIPPED_MODEL


def reader_path() -> Path:
    """reportqa's shipped span reader folder (`qa/readers/model`)."""
    from qa.readers.span import SHIPPED_MODEL

    return SHIPPED_MODEL


class Haystack:
    """A Haystack 3 hybrid extractive pipeline: in-memory store, MiniLM dense + BM25, RRF, ExtractiveReader."""

    def __init__(self, args: argparse.Namespace, scratch: Path):
        import torch
        from haystack import Pipeline
        from haystack.components.joiners import DocumentJoiner
        from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
        from haystack.document_stores.in_memory import InMemoryDocumentStore
        from haystack_integrations.components.embedders.sentence_transformers import (
            SentenceTransformersDocumentEmbedder,
            SentenceTransformersTextEmbedder,
        )
        from haystack_integrations.components.readers.transformers import TransformersExtractiveReader

        self.embedder, reader = embedder_path(), reader_path()
        # Its weights are stored in bfloat16: both systems compute in float32.
        embedding = {
            "model": str(self.embedder),
            "local_files_only": True,
            "normalize_embeddings": True,
            "model_kwargs": {"dtype": torch.float32},
        }
        self.store = InMemoryDocumentStore(embedding_similarity_function="dot_product", index="compare")
        self.document_embedder = SentenceTransformersDocumentEmbedder(**embedding, batch_size=32, progress_bar=False)
        self.document_embedder.warm_up()
        pipeline = Pipeline()
        pipeline.add_component("text_embedder", SentenceTransformersTextEmbedder(**embedding, progress_bar=False))
        pipeline.add_component("dense", InMemoryEmbeddingRetriever(self.store, top_k=max(FUSION_DEPTH, args.top_k)))
        pipeline.add_component("bm25", InMemoryBM25Retriever(self.store, top_k=max(FUSION_DEPTH, args.top_k)))
        pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=args.top_k))
        # The folder's weights are float16 and transformers would load them so: read in float32, as on a CPU.
        extractive = TransformersExtractiveReader(
            model=str(reader),
            top_k=1,
            no_answer=False,
            max_seq_length=READER_TOKENS,
            stride=READER_STRIDE,
            token=None,
            model_kwargs={"dtype": torch.float32, "local_files_only": True},
        )
        pipeline.add_component("reader", extractive)
        pipeline.connect("text_embedder.embedding", "dense.query_embedding")
        pipeline.connect("dense.documents", "joiner.documents")
        pipeline.connect("bm25.documents", "joiner.documents")
        pipeline.connect("joiner.documents", "reader.documents")
        pipeline.warm_up()
        self.pipeline = pipeline
        self.settings = {
            "embedder": str(self.embedder),
            "reader": {"model_dir": str(reader), "dtype": "float32", "max_seq_length": READER_TOKENS},
            "retrieval": f"hybrid: InMemoryEmbeddingRetriever + InMemoryBM25Retriever ({FUSION_DEPTH} each), RRF",
            "top_k": args.top_k,
        }

    def index(self, documents: list[dict]) -> int:
        from haystack import Document

        passages = [
            Document(content=text, meta={"document_id": d["id"], "title": d["title"]})
            for d, text in reportqa_passages(documents, self.embedder)
        ]
        self.store.write_documents(self.document_embedder.run(documents=passages)["documents"])
        return len(passages)

    def ask(self, question: str) -> str:
        inputs = {"text_embedder": {"text": question}, "bm25": {"query": question}, "reader": {"query": question}}
        answers = self.pipeline.run(inputs)["reader"]["answers"]
        return next((answer.data for answer in answers if answer.data), "")


def best_score(metric: str, prediction: str, golds: list[str]) -> float:
    """The official SQuAD rule (`qa.evaluation.squad`): the best score over the reference answers."""
    from qa.evaluation import squad

    return squad.best_score(squad.exact_match if metric == "em" else squad.f1_score, prediction, golds)


def process_memory() -> dict:
    """Peak and current resident memory of this process in MiB (VmHWM and VmRSS of /proc/self/status)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return {"peak_rss_mib": fields.get("VmHWM"), "final_rss_mib": fields.get("VmRSS")}


def versions(system: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    packages = {
        "reportqa": ["reportqa", "torch", "transformers", "sentence-transformers", "onnxruntime", "faiss-cpu"],
        "haystack": ["haystack-ai", "sentence-transformers-haystack", "transformers-haystack", "torch", "transformers"],
    }[system]
    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


if __name__ == "__main__":
    sys.exit(main())

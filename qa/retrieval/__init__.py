"""Finding the passages that answer a question: dense, BM25 and best-sentence rankings, fused."""

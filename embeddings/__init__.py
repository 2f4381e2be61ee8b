"""Sentence embeddings and the vector index; nothing here knows about questions."""

from embeddings.memory import bound_inference_memory

# Before torch loads (the encoder imports it): oneDNN reads its cache size once.
bound_inference_memory()

from embeddings.encoder import Encoder, default_model_path  # noqa: E402
from embeddings.index import VectorIndex  # noqa: E402

__all__ = ["Encoder", "VectorIndex", "default_model_path"]

"""Sentence embeddings and the vector index; nothing here knows about questions."""

from embeddings.memory import bound_inference_memory

# Before torch loads (the encoder imports it): oneDNN reads its cache size once.
bound_inference_memory()

from embeddings.encoder import Encoder, default_model_path  # noqa: E402

# The index (faiss) is imported from `embeddings.index` where it is used, so that reader training, which
# needs only the encoder's model path, runs where faiss is not installed (a GPU machine's bare image).
__all__ = ["Encoder", "default_model_path"]

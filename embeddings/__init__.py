"""Sentence embeddings and the vector index; nothing here knows about questions."""

from embeddings.encoder import Encoder, default_model_path
from embeddings.index import VectorIndex

__all__ = ["Encoder", "VectorIndex", "default_model_path"]

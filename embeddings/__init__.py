"""Sentence embeddings (`encoder`) and the vector index (`index`); nothing here knows about questions."""

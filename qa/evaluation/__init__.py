"""Measuring retrieval and answers on SQuAD-format files."""

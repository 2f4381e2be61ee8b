"""FAISS without its type stubs, for the parts the stubs lack."""

from typing import Any

import faiss

# faiss ships type stubs that lack its I/O callbacks, search parameters and direct maps.
faiss_untyped: Any = faiss

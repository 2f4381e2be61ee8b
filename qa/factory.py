"""Building the index and the pipeline that settings describe."""

from embeddings.encoder import Encoder
from qa.index.base import DocumentCatalogue, Index
from qa.index.embedded import EmbeddedIndex
from qa.index.folder import index_exists, open_store
from qa.pipeline import Pipeline
from qa.readers import default_readers
from qa.settings import Settings


def open_index(settings: Settings, encoder: Encoder, repair: bool = False) -> Index:
    """The index at `settings.index_dir`, created when missing.

    Args:
        settings: where the index is and, for a new one, its vector index kind.
        encoder: the embedder of its passages.
        repair: rebuild what derives from the stored passages instead of loading it (default False).
    """
    return EmbeddedIndex(settings.index_dir, encoder, kind=settings.index_kind, repair=repair)


def open_pipeline(settings: Settings, encoder: Encoder | None = None, repair: bool = False) -> Pipeline:
    """The pipeline the settings describe: their index, embedding model and span reader.

    Args:
        settings: the domain's settings.
        encoder: an embedder already loaded (tests share one); loaded from `settings.model_path` when None.
        repair: as in `open_index` (default False).
    """
    encoder = encoder or Encoder(settings.model_path)
    return Pipeline(
        open_index(settings, encoder, repair=repair),
        encoder,
        readers=default_readers(settings.reader_model_path, settings.reader_precision),
        no_answer_threshold=settings.no_answer_threshold,
    )


def has_index(settings: Settings) -> bool:
    """Whether the settings' index exists already (opening one that does not would create it)."""
    return index_exists(settings.index_dir)


def open_catalogue(settings: Settings) -> DocumentCatalogue:
    """The settings' documents for reading only, without loading a model: listing starts fast."""
    return open_store(settings.index_dir)

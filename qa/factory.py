"""Building the index and the pipeline that settings describe."""

from embeddings.encoder import Encoder
from qa.index.base import Index
from qa.index.embedded import EmbeddedIndex
from qa.pipeline import Pipeline
from qa.readers import default_readers
from qa.settings import Settings


def load_encoder(settings: Settings) -> Encoder:
    """The embedder the settings name: `model_path` in `embedding_precision`."""
    return Encoder(settings.model_path, precision=settings.embedding_precision)


def open_index(settings: Settings, encoder: Encoder, repair: bool = False) -> Index:
    """The index the settings name, created when missing: in PostgreSQL and Milvus when `database_url`
    and `milvus_uri` are set, otherwise the embedded one at `index_dir`.

    Args:
        settings: where the index is and, for a new one, its vector index kind.
        encoder: the embedder of its passages.
        repair: rebuild what derives from the stored passages instead of loading it; for an index embedded by
            another model than `encoder`, re-embed every passage and sentence with it (default False).
    """
    if settings.database_url is not None and settings.milvus_uri is not None:
        from qa.index.server import ServerIndex  # psycopg and pymilvus: only where they are used

        return ServerIndex(
            settings.database_url,
            settings.milvus_uri,
            encoder,
            collection=settings.milvus_collection,
            kind=settings.index_kind,
            milvus_token=settings.milvus_token,
            repair=repair,
        )
    return EmbeddedIndex(settings.index_dir, encoder, kind=settings.index_kind, repair=repair)


def open_pipeline(settings: Settings, encoder: Encoder | None = None, repair: bool = False) -> Pipeline:
    """The pipeline the settings describe: their index, embedding model and span reader.

    Args:
        settings: the domain's settings.
        encoder: an embedder already loaded (tests share one); `load_encoder(settings)` when None.
        repair: as in `open_index` (default False).
    """
    encoder = encoder or load_encoder(settings)
    return Pipeline(
        open_index(settings, encoder, repair=repair),
        encoder,
        readers=default_readers(
            settings.reader_model_path, settings.reader_precision, settings.reader_early_stop_score
        ),
        no_answer_threshold=settings.no_answer_threshold,
    )

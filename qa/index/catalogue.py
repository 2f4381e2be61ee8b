"""Whether the settings' index exists, and its documents opened for reading alone: no model is loaded."""

from qa.index.base import DocumentCatalogue
from qa.index.folder import index_exists, open_store
from qa.models import shown
from qa.settings import Settings


def index_name(settings: Settings) -> str:
    """The settings' index as messages name it."""
    if settings.server_side:
        return f"the PostgreSQL and Milvus index at {settings.milvus_uri}"
    return shown(settings.index_dir)


def has_index(settings: Settings) -> bool:
    """Whether the settings' index exists already (opening an embedded one that does not would create it).

    A server-side index always counts as existing: its engines are shared, and opening creates what they lack.
    """
    return settings.server_side or index_exists(settings.index_dir)


def open_catalogue(settings: Settings) -> DocumentCatalogue:
    """The settings' documents for listing, without loading a model, so listing starts fast.

    Raises:
        IndexFilesError: the embedded store is unreadable.
        IndexUnavailableError: PostgreSQL cannot be reached.
    """
    if settings.database_url is not None:
        # psycopg only where it is used: the embedded default needs none of it.
        from qa.index.postgres_store import PostgresStore

        return PostgresStore(settings.database_url)
    return open_store(settings.index_dir)

"""Refusing an index embedded by another model than the encoder at hand."""

import json
from typing import Protocol

import numpy as np

from embeddings.encoder import Encoder
from qa.models import shown

# Embedded when an index is made and again at each opening: another model gives another vector.
MODEL_PROBE = "Reports are split into passages, embedded, and searched for the answer to a question."


class SettingsStore(Protocol):
    """Where an index keeps its named settings."""

    def setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...


def check_embedding_model(store: SettingsStore, encoder: Encoder, where: str) -> None:
    """Record the encoder's dimension and probe vector in a new store; refuse an encoder unlike the stored one.

    Same dimension is not same model: questions embedded by another model would silently retrieve the
    wrong passages. An index made before the probe was recorded adopts the current model.

    Args:
        store: the index's store.
        encoder: the encoder about to embed questions and passages for it.
        where: the index as named in messages.

    Raises:
        ValueError: the store was embedded by another model (the message says what to do).
    """
    stored = store.setting("embedding_dimension")
    if stored is None:
        store.set_setting("embedding_dimension", str(encoder.dimension))
    elif int(stored) != encoder.dimension:
        raise ValueError(
            f"{where} was built with {stored}-dimensional embeddings, but the encoder makes "
            f"{encoder.dimension}; use another index directory or re-ingest"
        )
    probe = encoder.encode([MODEL_PROBE])[0]
    stored_probe = store.setting("embedding_probe")
    if stored_probe is None:
        store.set_setting("embedding_probe", json.dumps([round(float(x), 6) for x in probe]))
    elif float(np.dot(np.array(json.loads(stored_probe), np.float32), probe)) < 0.99:
        raise ValueError(
            f"{where} was embedded by another model than {shown(encoder.model_path)}: point "
            "REPORTQA_MODEL_PATH at the model that built it, or ingest into another index directory"
        )

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


# The probe's value while `reportqa reindex` re-embeds an index for another model: until the new vectors
# are all stored, neither model's questions can be answered from it.
REEMBEDDING = "re-embedding"


def check_embedding_model(
    store: SettingsStore, encoder: Encoder, where: str, remedy: str, reembed: bool = False
) -> bool:
    """Record the encoder's dimension and probe vector in a new store; refuse an encoder unlike the stored one.

    Same dimension is not same model: questions embedded by another model would silently retrieve the
    wrong passages. An index made before the probe was recorded adopts the current model.

    Args:
        store: the index's store.
        encoder: the encoder about to embed questions and passages for it.
        where: the index as named in messages.
        remedy: what the refusal tells the user to do, e.g. the command that re-embeds the index.
        reembed: the caller re-embeds every passage and sentence when the model differs (default False).

    Returns:
        True when the store was embedded by another model, or its re-embedding was interrupted, and
        `reembed` is set: the caller must re-embed it all, then `record_embedding_model`.

    Raises:
        ValueError: the store was embedded by another model, or is half re-embedded (the message says what to do).
    """
    stored_dimension = store.setting("embedding_dimension")
    stored_probe = store.setting("embedding_probe")
    if stored_dimension is None:
        record_embedding_model(store, encoder)
        return False
    if stored_probe == REEMBEDDING:
        if reembed:
            return True
        raise ValueError(f"{where} was being re-embedded for another model when it stopped: {remedy}")
    probe = encoder.identity_vector(MODEL_PROBE)
    if int(stored_dimension) != encoder.dimension:
        problem = f"{where} holds {stored_dimension}-dimensional embeddings, the encoder makes {encoder.dimension}"
    elif stored_probe is not None and float(np.dot(np.array(json.loads(stored_probe), np.float32), probe)) < 0.99:
        problem = f"{where} was embedded by another model than {shown(encoder.model_path)}"
    else:
        if stored_probe is None:
            store.set_setting("embedding_probe", _probe_record(probe))
        return False
    if reembed:
        return True
    raise ValueError(f"{problem}: {remedy}")


def record_embedding_model(store: SettingsStore, encoder: Encoder) -> None:
    """Record that `encoder` embedded the store: its dimension and its probe vector."""
    store.set_setting("embedding_dimension", str(encoder.dimension))
    store.set_setting("embedding_probe", _probe_record(encoder.identity_vector(MODEL_PROBE)))


def _probe_record(probe: np.ndarray) -> str:
    return json.dumps([round(float(x), 6) for x in probe])

"""A model folder's tokenizer, loaded offline, and without torch for the BERT tokenizers this project ships."""

import json
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from embeddings.plain_forms import read_plain_forms

# The class transformers' AutoTokenizer picks for these folders, importable without torch (AutoTokenizer
# itself imports torch, seconds of a server's start-up).
_BERT_TOKENIZERS = {"BertTokenizer", "BertTokenizerFast"}


def load_tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    """The folder's tokenizer as AutoTokenizer loads it, reading ligatures and fullwidth characters as plain ones.

    Training, embedding and reading all load tokenizers here, so that they cut a text into the same tokens.

    Args:
        folder: a model folder with its tokenizer files.

    Returns:
        The fast tokenizer, wrapped by `read_plain_forms`.
    """
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
    if config.get("tokenizer_class") in _BERT_TOKENIZERS:
        from transformers.models.bert.tokenization_bert import BertTokenizer

        return read_plain_forms(BertTokenizer.from_pretrained(str(folder), local_files_only=True))
    from transformers import AutoTokenizer

    return read_plain_forms(AutoTokenizer.from_pretrained(str(folder), local_files_only=True))

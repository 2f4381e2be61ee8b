"""The span model under torch: bfloat16 and float32 reading, and the weights training continues from."""

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from transformers import BertForQuestionAnswering
from transformers.utils import logging as transformers_logging


@lru_cache(maxsize=2)
def load_span_model(folder: Path) -> BertForQuestionAnswering:
    """Load a span model folder's weights once per process, offline, in float32 for the CPU."""
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    model = BertForQuestionAnswering.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)
    return model.eval()


def torch_logits(
    model: BertForQuestionAnswering, inputs: dict[str, np.ndarray], bfloat16: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end logits (windows x tokens) for padded `input_ids`, `token_type_ids` and `attention_mask`.

    Args:
        model: the span model.
        inputs: the padded windows.
        bfloat16: compute in torch's bfloat16 mixed precision rather than float32.

    Returns:
        The start and end logits in float32.
    """
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bfloat16):
        output = model(**{name: torch.from_numpy(array) for name, array in inputs.items()})
    return output.start_logits.float().numpy(), output.end_logits.float().numpy()

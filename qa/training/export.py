"""Export a span reader's or an embedder's encoder to ONNX files: int8, the fast path on CPUs without bfloat16,
and for an embedder float32 too, which serves without torch."""

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from transformers import BertConfig, BertForQuestionAnswering, BertModel
from transformers.utils import logging as transformers_logging

from embeddings.onnx_session import ENCODER_FILE, FLOAT32_ENCODER_FILE, WEIGHTS_DIGEST, weights_file_sha256
from qa.readers.span import require_weights
from qa.training.attention_fusion import fuse_attention

INPUT_NAMES = ("inputs_embeds", "token_type_ids", "attention_mask")


class FromWordVectors(torch.nn.Module):
    """A BERT model from word vectors on: the word embeddings, half the weights, stay in model.safetensors.

    Args:
        model: the model.
        outputs: what the exported graph returns of the model's output, e.g. the span logits.
    """

    def __init__(self, model: torch.nn.Module, outputs: Callable[[Any], Any]):
        super().__init__()
        self.model = model
        self.outputs = outputs

    def forward(self, inputs_embeds: torch.Tensor, token_type_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        output = self.model(inputs_embeds=inputs_embeds, token_type_ids=token_type_ids, attention_mask=attention_mask)
        return self.outputs(output)


def span_logits(output: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A span model's start and end logits."""
    return output.start_logits, output.end_logits


def token_vectors(output: Any) -> torch.Tensor:
    """An embedder's contextual token vectors (pooled by the caller)."""
    return output.last_hidden_state


def export_int8_encoder(model_dir: Path) -> Path:
    """Write `encoder.int8.onnx` into a span reader's folder: its encoder and head, int8 weights per output channel.

    Usage:
        export_int8_encoder(Path("qa/readers/model"))  # then SpanModel(precision="int8") reads with it

    Args:
        model_dir: a folder written by `reportqa train-reader` (model.safetensors, config.json).

    Returns:
        The path of the written file.

    Raises:
        FileNotFoundError: the folder has no model.safetensors.
    """
    require_weights(model_dir)
    transformers_logging.set_verbosity_error()
    # Eager attention: ONNX Runtime ran its graph faster than the SDPA one (BENCHMARKS.md).
    model = BertForQuestionAnswering.from_pretrained(
        str(model_dir), local_files_only=True, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    graph = fused_float_graph(FromWordVectors(model, span_logits), model.config, ["start_logits", "end_logits"])
    return _write_int8(graph, model_dir)


def export_embedder(model_dir: Path) -> list[Path]:
    """Write `encoder.float32.onnx` and `encoder.int8.onnx` into a sentence-transformers folder: its transformer.

    The float32 file computes what torch does, and `Encoder` runs it in float32 so that a server need
    not import torch; the int8 one holds int8 weights per channel.

    Usage:
        export_embedder(Path("retriever"))  # then Encoder("retriever", precision="int8") embeds with it

    Args:
        model_dir: a sentence-transformers folder whose transformer is a BERT (model.safetensors, config.json
            at its top, as the packaged MiniLM and `reportqa train-retriever`'s `model/` have them).

    Returns:
        The paths of the written files, float32 first.

    Raises:
        FileNotFoundError: the folder has no model.safetensors.
    """
    if not (model_dir / "model.safetensors").exists():
        raise FileNotFoundError(f"{model_dir} has no model.safetensors: pass a sentence-transformers model folder")
    transformers_logging.set_verbosity_error()
    model = BertModel.from_pretrained(
        str(model_dir), local_files_only=True, dtype=torch.float32, attn_implementation="eager", add_pooling_layer=False
    ).eval()
    graph = fused_float_graph(FromWordVectors(model, token_vectors), model.config, ["token_vectors"])
    float32 = model_dir / FLOAT32_ENCODER_FILE
    _save_with_weights_digest(_bfloat16_stored(graph), model_dir, float32)
    return [float32, _write_int8(graph, model_dir)]


def _write_int8(graph: onnx.ModelProto, model_dir: Path) -> Path:
    """Quantise a fused float graph into `model_dir/encoder.int8.onnx`, naming the weights it came from."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = model_dir / ENCODER_FILE
    # Per output channel: per-tensor scales cost F1 on held-out questions. 7-bit weights (reduce_range)
    # keep AVX2's int16 sums of u8 x s8 products from saturating on CPUs without VNNI; with them held-out
    # F1 matched float32 (figures in BENCHMARKS.md).
    quantize_dynamic(
        graph,
        out,
        per_channel=True,
        reduce_range=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Attention"],
    )
    _save_with_weights_digest(onnx.load(str(out)), model_dir, out)
    return out


def _save_with_weights_digest(graph: onnx.ModelProto, model_dir: Path, out: Path) -> None:
    """Save `graph` to `out` naming the weights it came from, so that a folder whose weights change refuses it."""
    onnx.helper.set_model_props(graph, {WEIGHTS_DIGEST: weights_file_sha256(model_dir)})
    onnx.save(graph, str(out))


def _bfloat16_stored(graph: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `graph` whose float32 weights holding bfloat16 values are stored so, each widened by a `Cast`.

    Weights saved in bfloat16 (the shipped ones) lose nothing and take half the file; ONNX Runtime folds
    the casts once, when it opens the file.
    """
    stored = onnx.ModelProto()
    stored.CopyFrom(graph)
    casts = []
    for initializer in stored.graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT:
            continue
        bits = onnx.numpy_helper.to_array(initializer).view(np.uint32)
        # A small tensor is not worth a node; one with float32 values beyond bfloat16 stays as it is.
        if bits.size < 1024 or (bits & 0xFFFF).any():
            continue
        wide = initializer.name
        narrow = onnx.helper.make_tensor(
            f"{wide}.bfloat16",
            onnx.TensorProto.BFLOAT16,
            bits.shape,
            (bits >> 16).astype(np.uint16).tobytes(),
            raw=True,
        )
        initializer.CopyFrom(narrow)
        casts.append(onnx.helper.make_node("Cast", [narrow.name], [wide], to=onnx.TensorProto.FLOAT))
    nodes = [*casts, *stored.graph.node]
    del stored.graph.node[:]
    stored.graph.node.extend(nodes)
    return stored


def fused_float_graph(module: torch.nn.Module, config: BertConfig, output_names: list[str]) -> onnx.ModelProto:
    """The float32 ONNX graph of a BERT model from word vectors on, with ONNX Runtime's fused operators.

    Args:
        module: the model in float32, with eager attention, taking `INPUT_NAMES` in that order.
        config: its BERT configuration.
        output_names: names for its outputs, in order.

    Returns:
        The graph, with inputs `INPUT_NAMES` and outputs `output_names`; every layer's
        residual + layer norm, bias + GELU and self-attention fused.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    example = (
        torch.zeros(2, 64, config.hidden_size),
        torch.zeros(2, 64, dtype=torch.int64),
        torch.ones(2, 64, dtype=torch.int64),
    )
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=config.max_position_embeddings)
    exported = torch.onnx.export(
        module.eval(),
        example,
        input_names=list(INPUT_NAMES),
        output_names=output_names,
        dynamic_shapes={name: {0: batch, 1: length} for name in INPUT_NAMES},
        dynamo=True,
        opset_version=18,
        verbose=False,
    )
    if exported is None:  # only the legacy exporter (dynamo=False) returns nothing
        raise RuntimeError("torch.onnx.export returned no program")
    # Fuse residual + layer norm and bias + GELU before quantising, where ONNX Runtime's own session
    # fusions no longer match (timings in BENCHMARKS.md).
    with tempfile.TemporaryDirectory() as work:
        # The optimizer reads the weights from one self-contained file, not from the exporter's tensors.
        path = Path(work) / "encoder.onnx"
        onnx.save(exported.model_proto, str(path), save_as_external_data=False)
        optimized = optimize_model(
            str(path), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
        )
    # The optimizer's attention patterns miss this export's; fused, QAttention reads faster (BENCHMARKS.md).
    fuse_attention(optimized, config.num_attention_heads)
    return optimized.model

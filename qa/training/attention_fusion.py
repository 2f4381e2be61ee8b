"""Fuse an exported BERT graph's self-attention into ONNX Runtime's Attention operator (QAttention once quantised)."""

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.transformers.onnx_model import OnnxModel

MASK_INT32 = "attention_mask_int32"
# Each head-split projection, walking up from the attention MatMul that reads it.
PROJECTION = ["Transpose", "Reshape", "Add", "MatMul"]


# Over 60 lines: one graph pattern matched, checked and replaced, easier to follow in a single pass.
def fuse_attention(model: OnnxModel, num_heads: int, mask_input: str = "attention_mask") -> int:
    """Replace each layer's attention subgraph with one `com.microsoft.Attention` node, in place.

    ONNX Runtime's BERT optimizer fuses residuals, layer norms and GELU in torch's dynamo export of
    transformers 5, but its attention patterns predate that graph. Each layer's
    Q/K/V MatMul + Add -> Reshape -> Transpose -> MatMul -> Mul (scale) -> Add (mask) -> Softmax ->
    MatMul -> Transpose -> Reshape is matched here and read by one operator with the three projections
    in one weight matrix, which `quantize_dynamic` turns into int8 `QAttention`.

    Usage:
        fused = fuse_attention(optimize_model(path, model_type="bert"), num_heads=12)  # 6 for MiniLM-L6

    Args:
        model: the float graph as `onnxruntime.transformers.optimizer.optimize_model` returns it.
        num_heads: attention heads per layer.
        mask_input: the graph input holding the 0/1 attention mask (default "attention_mask").

    Returns:
        How many layers were fused; 0 leaves the graph as it was.
    """
    producers, consumers = model.output_name_to_node(), model.input_name_to_nodes()
    fused = 0
    for softmax in model.get_nodes_by_op_type("Softmax"):
        scores = model.match_parent_path(softmax, ["Add", "Mul", "MatMul"], [0, 0, 0], producers)
        after = model.match_child_path(softmax, ["MatMul", "Transpose", "Reshape"], [(0, 0)] * 3, consumers)
        if scores is None or after is None:
            continue
        mask, scale, query_key = scores
        context, merge, output = after
        parts = [
            model.match_parent_path(query_key, PROJECTION, [0, 0, 0, 0], producers),
            model.match_parent_path(query_key, PROJECTION, [1, 0, 0, 0], producers),
            model.match_parent_path(context, PROJECTION, [1, 0, 0, 0], producers),
        ]
        if any(part is None for part in parts) or len({part[3].input[0] for part in parts}) != 1:
            continue
        weights = [model.get_constant_value(part[3].input[1]) for part in parts]
        biases = [model.get_constant_value(part[2].input[1]) for part in parts]
        factor = model.get_constant_value(scale.input[1])
        if any(value is None for value in (*weights, *biases, factor)):
            continue
        # The operator scales by 1/sqrt(head size) itself; another scale would change the model.
        head_size = weights[0].shape[1] // num_heads
        if factor.size != 1 or not np.isclose(float(factor), head_size**-0.5, rtol=1e-5):
            continue
        removed = [node for part in parts for node in part] + [mask, scale, query_key, softmax, context, merge, output]
        if not model.is_safe_to_fuse_nodes(removed, output.output, consumers, producers):
            continue
        name = f"fused_attention_{fused}"
        model.add_initializer(
            numpy_helper.from_array(np.concatenate(weights, axis=1).astype(np.float32), f"{name}.weight")
        )
        model.add_initializer(numpy_helper.from_array(np.concatenate(biases).astype(np.float32), f"{name}.bias"))
        model.add_node(
            helper.make_node(
                "Attention",
                [parts[0][3].input[0], f"{name}.weight", f"{name}.bias", MASK_INT32],
                list(output.output),
                name=name,
                domain="com.microsoft",
                num_heads=num_heads,
            )
        )
        model.remove_nodes(removed)
        fused += 1
    if fused:
        # The operator takes the 0/1 mask as int32 and builds the additive mask the export computed.
        model.add_node(
            helper.make_node("Cast", [mask_input], [MASK_INT32], name="mask_to_int32", to=onnx.TensorProto.INT32)
        )
        # The old mask arithmetic and reshape shapes are read by nothing now.
        model.prune_graph(allow_remove_graph_inputs=False)
        model.topological_sort()
        if not any(opset.domain == "com.microsoft" for opset in model.model.opset_import):
            model.model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return fused

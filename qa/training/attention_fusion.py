"""Fuse an exported BERT graph's self-attention into ONNX Runtime's Attention operator (QAttention once quantised)."""

import numpy as np
import onnx
from onnx import helper, numpy_helper

MASK_INT32 = "attention_mask_int32"


def fuse_attention(model: onnx.ModelProto, num_heads: int, mask_input: str = "attention_mask") -> int:
    """Replace each layer's attention subgraph with one `com.microsoft.Attention` node, in place.

    ONNX Runtime's BERT optimizer fuses residuals, layer norms and GELU in torch's dynamo export of
    transformers 5, but its attention patterns predate that graph. Each layer's
    Q/K/V MatMul + Add -> Reshape -> Transpose -> MatMul -> Mul (scale) -> Add (mask) -> Softmax ->
    MatMul -> Transpose -> Reshape is matched here and read by one operator with the three projections
    in one weight matrix, which `quantize_dynamic` turns into int8 `QAttention`.

    Usage:
        fused = fuse_attention(model_proto, num_heads=12)  # 6 for MiniLM-L6

    Args:
        model: the float graph (after `onnxruntime.transformers.optimizer.optimize_model`).
        num_heads: attention heads per layer.
        mask_input: the graph input holding the 0/1 attention mask (default "attention_mask").

    Returns:
        How many layers were fused; 0 leaves the graph as it was.
    """
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {init.name: init for init in graph.initializer}

    def constant(name: str) -> np.ndarray | None:
        return numpy_helper.to_array(constants[name]) if name in constants else None

    def back(name: str, *op_types: str) -> list[onnx.NodeProto] | None:
        """The chain of producers of `name` with these operator types, or None where the graph differs."""
        chain = []
        for op_type in op_types:
            node = producers.get(name)
            if node is None or node.op_type != op_type:
                return None
            chain.append(node)
            name = node.input[0]
        return chain

    def forward(name: str, op_type: str) -> onnx.NodeProto | None:
        """The only consumer of `name`, if it has this operator type."""
        readers = consumers.get(name, [])
        return readers[0] if len(readers) == 1 and readers[0].op_type == op_type else None

    def projection(name: str) -> tuple[list[onnx.NodeProto], str, np.ndarray, np.ndarray] | None:
        """A head-split projection: its nodes, its input, weight and bias."""
        chain = back(name, "Transpose", "Reshape", "Add", "MatMul")
        if chain is None:
            return None
        weight, bias = constant(chain[3].input[1]), constant(chain[2].input[1])
        return None if weight is None or bias is None else (chain, chain[3].input[0], weight, bias)

    replaced: dict[str, onnx.NodeProto] = {}  # an attention output -> the fused node that writes it
    removed: set[str] = set()  # nodes by their first output, unique in a graph where names may not be
    for softmax in [node for node in graph.node if node.op_type == "Softmax"]:
        scores = back(softmax.input[0], "Add", "Mul", "MatMul")
        context = forward(softmax.output[0], "MatMul")
        merge = forward(context.output[0], "Transpose") if context else None
        output = forward(merge.output[0], "Reshape") if merge else None
        if scores is None or output is None:
            continue
        mask, scale, query_key = scores
        parts = [projection(query_key.input[0]), projection(query_key.input[1]), projection(context.input[1])]
        if any(part is None for part in parts) or len({part[1] for part in parts}) != 1:
            continue
        # The operator scales by 1/sqrt(head size) itself; another scale would change the model.
        factor = constant(scale.input[1])
        head_size = parts[0][2].shape[1] // num_heads
        if factor is None or factor.size != 1 or not np.isclose(float(factor), head_size**-0.5, rtol=1e-5):
            continue
        name = f"fused_attention_{len(replaced)}"
        weight = np.concatenate([part[2] for part in parts], axis=1).astype(np.float32)
        bias = np.concatenate([part[3] for part in parts]).astype(np.float32)
        graph.initializer.extend(
            [numpy_helper.from_array(weight, f"{name}.weight"), numpy_helper.from_array(bias, f"{name}.bias")]
        )
        replaced[output.output[0]] = helper.make_node(
            "Attention", [parts[0][1], f"{name}.weight", f"{name}.bias", MASK_INT32], list(output.output),
            name=name, domain="com.microsoft", num_heads=num_heads,
        )  # fmt: skip
        chains = [node for part in parts for node in part[0]]
        removed.update(node.output[0] for node in [*chains, mask, scale, query_key, softmax, context, merge])
    if not replaced:
        return 0
    # The operator takes the 0/1 mask as int32 and builds the additive mask the export computed.
    nodes = [helper.make_node("Cast", [mask_input], [MASK_INT32], name="mask_to_int32", to=onnx.TensorProto.INT32)]
    nodes += [replaced.get(node.output[0], node) for node in graph.node if node.output[0] not in removed]
    del graph.node[:]
    graph.node.extend(nodes)
    _drop_unread(graph)
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(replaced)


def _drop_unread(graph: onnx.GraphProto) -> None:
    """Drop the nodes and initializers no output depends on any more (the old mask arithmetic, reshape shapes)."""
    needed = {output.name for output in graph.output}
    kept = []
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)

"""Element types of the tensors of an ONNX graph, including the contrib ops onnxruntime puts in
the graphs it optimizes (QLinearConv in NHWC, QGemm, ...), which have no schema in onnx: a
quantized op's output takes its output zero point's type, a DequantizeLinear gives float32, a
Cast its `to`, anything else its first input's type. Shared by the reference's exactness
rewrite (`accel.check.ort_session`) and the graph analysis (`accel.check.ort_graph`).
"""

from __future__ import annotations

from typing import Any

UINT8, INT8, FLOAT = 2, 3, 1  # onnx.TensorProto element types
# Output zero-point input of each quantized operator: it gives the output's element type.
_OUTPUT_ZERO_POINT = {
    "QuantizeLinear": 2, "QLinearConv": 7, "QLinearMatMul": 7, "QGemm": 8, "QLinearAdd": 7,
    "QLinearMul": 7, "QLinearAveragePool": 4, "QLinearGlobalAveragePool": 4,
    "QLinearSigmoid": 4, "QLinearLeakyRelu": 4, "QLinearSoftmax": 4, "QLinearConcat": 1,
}  # fmt: skip
_FLOAT_RESULT = frozenset(("DequantizeLinear", "DynamicQuantizeLinear"))


def attribute(node: Any, name: str, default: Any) -> Any:
    """An integer or integer-list attribute of `node`, or `default`."""
    for item in node.attribute:
        if item.name == name:
            return list(item.ints) if item.ints else item.i
    return default


def element_types(graph: Any) -> dict[str, int]:
    """The element type of every tensor of an optimized graph (contrib ops have no schema in
    onnx, so this follows the quantized operators' output zero points)."""
    types = {tensor.name: tensor.data_type for tensor in graph.initializer}
    types.update({value.name: value.type.tensor_type.elem_type for value in graph.input})
    for node in graph.node:
        index = _OUTPUT_ZERO_POINT.get(node.op_type)
        if index is not None:
            present = index < len(node.input) and node.input[index]
            fallback = FLOAT if node.op_type == "QGemm" else UINT8
            elem = types.get(node.input[index], UINT8) if present else fallback
        elif node.op_type in _FLOAT_RESULT:
            elem = FLOAT
        elif node.op_type == "Cast":
            elem = attribute(node, "to", FLOAT)
        else:
            elem = types.get(node.input[0], FLOAT) if node.input else FLOAT
        for output in node.output:
            types[output] = elem
    return types

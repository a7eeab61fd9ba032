"""An independent MAC count of an ONNX graph: onnx's own shape inference, no accel code.

A convolution costs (output elements per image) × (input channels per group × kernel taps),
read off the weight initializer's dims [M, C/group, kh, kw]; a Gemm / MatMul costs
(output features) × (reduction length) per image. Quantized forms count the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

CONV = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3}
GEMM = {"Gemm": 1, "MatMul": 1, "MatMulInteger": 1, "QLinearMatMul": 3, "QGemm": 3}


def count_macs(model: Any, input_dims: dict[str, list[int]] | None = None) -> int:
    """MACs per image of every conv and matrix product in `model`."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        if input_dims and value.name in input_dims:
            for dim, size in zip(value.type.tensor_type.shape.dim, input_dims[value.name],
                                 strict=True):
                dim.Clear()
                dim.dim_value = size
    inferred = onnx.shape_inference.infer_shapes(fixed, data_prop=True)
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input)}
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type in CONV:
            w = weights[node.input[CONV[node.op_type]]]
            out = dims[node.output[0]]
            total += int(np.prod(out[1:])) * int(np.prod(w[1:]))
        elif node.op_type in GEMM:
            w = weights[node.input[GEMM[node.op_type]]]
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            out_features, reduction = (w[0], w[1]) if trans_b else (w[1], w[0])
            total += out_features * reduction
    return total

"""An independent MAC count of an ONNX graph: onnx's own shape inference, no accel code.

A convolution costs (output elements per image) × (input channels per group × kernel taps),
read off the weight initializer's dims [M, C/group, kh, kw]; a Gemm / MatMul costs
(output features) × (reduction length) per image. Quantized forms count the same. A
ConvTranspose costs (input pixels per image) × every weight [C_in, C_out/group, kh, kw] (each
input pixel meets every weight of its group once: fvcore's count). Weights are initializers or
the values of Constant nodes (PaddlePaddle's paddle2onnx writes them so).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

CONV = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3}
GEMM = {"Gemm": 1, "MatMul": 1, "MatMulInteger": 1, "QLinearMatMul": 3, "QGemm": 3}


def count_macs(model: Any, input_dims: dict[str, list[int]] | None = None,
               run: bool = False) -> int:
    """MACs per image of every conv and matrix product in `model`.

    Output shapes come from onnx shape inference, or with `run=True` from running the graph in
    onnxruntime on zeros (with zero weights where the file's weight data is absent), for graphs
    whose shape arithmetic (Shape → Slice → ...) inference cannot follow.
    """
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        if input_dims and value.name in input_dims:
            for dim, size in zip(value.type.tensor_type.shape.dim, input_dims[value.name],
                                 strict=True):
                dim.Clear()
                dim.dim_value = size
    dims = _run_shapes(fixed) if run else _inferred_shapes(fixed)
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    weights.update((node.output[0], list(attribute.t.dims)) for node in model.graph.node
                   if node.op_type == "Constant" for attribute in node.attribute
                   if attribute.name == "value")  # fmt: skip
    total = 0
    for node in model.graph.node:
        if node.op_type in CONV:
            w = weights[node.input[CONV[node.op_type]]]
            out = dims[node.output[0]]
            total += int(np.prod(out[1:])) * int(np.prod(w[1:]))
        elif node.op_type == "ConvTranspose":
            w = weights[node.input[1]]
            source = dims[node.input[0]]
            total += int(np.prod(source[2:])) * int(np.prod(w))
        elif node.op_type in GEMM:
            w = weights[node.input[GEMM[node.op_type]]]
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            out_features, reduction = (w[0], w[1]) if trans_b else (w[1], w[0])
            total += out_features * reduction
    return total


def _inferred_shapes(model: Any) -> dict[str, list[int]]:
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input)}


def _run_shapes(model: Any) -> dict[str, list[int]]:
    import onnxruntime

    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            zeros = onnx.numpy_helper.from_array(
                np.zeros(tuple(tensor.dims), onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)),
                tensor.name)
            tensor.CopyFrom(zeros)
    wanted = [n.output[0] for n in model.graph.node if n.op_type in CONV or n.op_type in GEMM]
    wanted += [n.input[0] for n in model.graph.node if n.op_type == "ConvTranspose"]
    known = {o.name for o in (*model.graph.output, *model.graph.input)}
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(name)
                              for name in wanted if name not in known)
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    feeds = {}
    for value in session.get_inputs():
        feeds[value.name] = np.zeros(value.shape, np.float32)
    names = [o.name for o in session.get_outputs()]
    shapes = {name: list(array.shape) for name, array in feeds.items()}
    shapes.update((name, list(array.shape))
                  for name, array in zip(names, session.run(names, feeds), strict=True))
    return shapes

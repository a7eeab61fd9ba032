"""ONNX nodes that run on the vector unit: pooling, activations, normalization, elementwise
arithmetic with activations or per-channel constants, and channel concatenation.

A binary node of an activation and a constant (Add/Sub/Mul/Div by a scalar or per-channel
vector) is a per-channel affine layer (`BatchNorm` in the IR) whose scale and shift are kept
for the functional model; a max pool's output keeps its input's quantization.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.io.imported import Affine, AffineOrigin
from accel.io.onnx_ops.array import window
from accel.io.onnx_reader import Converter, OnnxImporter
from accel.io.onnx_values import Const, Scalar, Tensor, attr
from accel.io.onnx_weights import keep_batchnorm_constants
from accel.model.ops import (
    Activation,
    Add,
    BatchNorm,
    Clip,
    Concat,
    LocalResponseNorm,
    Mul,
    Softmax,
)
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import QuantParams


def pool_layer(
    imp: OnnxImporter,
    node: Any,
    index: int,
    x: Tensor,
    average: bool,
    quant: QuantParams | None = None,
) -> Tensor:
    """A max or average pool; a max pool's output keeps its input's quantization."""
    geometry = window(imp, node, tuple(attr(node, "kernel_shape", [])))
    if average:
        op: AvgPool | MaxPool = AvgPool(
            count_include_pad=bool(attr(node, "count_include_pad", 0)), **geometry)
    else:
        op = MaxPool(**geometry)
    return imp.add_layer(node, index, op, [x], quant=quant if average else x.quant)


def max_pool(imp: OnnxImporter, node: Any, index: int) -> None:
    pool_layer(imp, node, index, imp.tensor(node), average=False)


def average_pool(imp: OnnxImporter, node: Any, index: int) -> None:
    pool_layer(imp, node, index, imp.tensor(node), average=True)


def global_average_pool(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.add_layer(node, index, GlobalAvgPool(), [imp.tensor(node)])


def global_max_pool(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    shape = imp.parts.shapes[x.source]
    imp.add_layer(node, index, MaxPool(kernel=(shape.height, shape.width)), [x], quant=x.quant)


def activation(function: str) -> Converter:
    def convert(imp: OnnxImporter, node: Any, index: int) -> None:
        alpha = float(attr(node, "alpha", 0.01))
        op = Activation(function=function, alpha=alpha)
        imp.add_layer(node, index, op, [imp.tensor(node)])

    return convert


def clip(imp: OnnxImporter, node: Any, index: int) -> None:
    low, high = attr(node, "min", None), attr(node, "max", None)
    if len(node.input) > 1:  # opset 11+: bounds are inputs
        low_a, high_a = imp.optional_array(node, 1), imp.optional_array(node, 2)
        low = None if low_a is None else float(low_a)
        high = None if high_a is None else float(high_a)
    low = None if low is None or low <= -3.0e38 else float(low)
    high = None if high is None or high >= 3.0e38 else float(high)
    x = imp.tensor(node)
    if low == 0 and high in (6.0, None):
        op: Activation | Clip = Activation(function="relu6" if high else "relu")
    else:
        op = Clip(minimum=low, maximum=high)
    imp.add_layer(node, index, op, [x])


def softmax(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    opset = next((o.version for o in imp.opsets if o.domain in ("", "ai.onnx")), 13)
    axis = attr(node, "axis", 1 if opset < 13 else -1) % len(x.dims)
    if axis == 0 or (opset < 13 and axis != len(x.dims) - 1 and axis != 1):
        # before opset 13 a Softmax flattens every axis from `axis` on into one
        return imp.unsupported(node, index, f"softmax over axis {axis}; only over one of "
                               "channels, height or width")  # fmt: skip
    imp.add_layer(node, index, Softmax(axis=axis - 1), [x])


def lrn(imp: OnnxImporter, node: Any, index: int) -> None:
    op = LocalResponseNorm(size=attr(node, "size", 5), alpha=attr(node, "alpha", 1e-4),
                           beta=attr(node, "beta", 0.75), bias=attr(node, "bias", 1.0))
    imp.add_layer(node, index, op, [imp.tensor(node)])


def batchnorm(imp: OnnxImporter, node: Any, index: int) -> None:
    arrays = [imp.optional_array(node, i) for i in range(1, 5)]
    epsilon = attr(node, "epsilon", 1e-5)
    out = imp.add_layer(node, index, BatchNorm(), [imp.tensor(node)])
    scale = shift = None
    if all(a is not None for a in arrays):
        gamma, beta, mean, var = (np.asarray(a, np.float64) for a in arrays)
        scale64 = gamma / np.sqrt(var + epsilon)
        scale, shift = scale64.astype(np.float32), (beta - mean * scale64).astype(np.float32)
    imp.parts.affines[out.source] = Affine(scale, shift, "batchnorm")
    keep_batchnorm_constants(imp, out.source, node, epsilon)


def binary(kind: str) -> Converter:
    """Add/Sub/Mul/Div: of two activations, or an activation and a per-channel constant."""

    def convert(imp: OnnxImporter, node: Any, index: int) -> None:
        a, b = (imp.value(name, node) for name in node.input[:2])
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            if kind not in ("Add", "Mul"):
                return imp.unsupported(node, index, f"{kind} of two activations")
            op = Add() if kind == "Add" else Mul()
            first, second = (a, b) if kind == "Add" or len(a.dims) >= len(b.dims) else (b, a)
            imp.add_layer(node, index, op, [first, second])
            return None
        x, other = (a, b) if isinstance(a, Tensor) else (b, a)
        assert isinstance(x, Tensor)
        return _affine(imp, node, index, kind, x, other, constant_first=x is b)

    return convert


def _affine(imp: OnnxImporter, node: Any, index: int, kind: str, x: Tensor,
            other: object, constant_first: bool) -> None:
    value = None
    if isinstance(other, Const):
        if not _per_channel(x.dims, other.dims):
            return imp.unsupported(node, index, f"a constant of dims {other.dims}; only a "
                                   "scalar or per-channel constant")
        if other.array is not None:
            value = np.asarray(other.array, np.float32).reshape(-1)
    elif not isinstance(other, Scalar):
        return imp.unsupported(node, index, "an operand that is neither activation nor constant")
    if constant_first and kind == "Div":
        return imp.unsupported(node, index, "a constant divided by an activation")
    scale = shift = None
    origin: AffineOrigin = "bias" if kind in ("Add", "Sub") else "scale"
    if value is not None:
        if kind in ("Add", "Sub"):
            shift = -value if kind == "Sub" and not constant_first else value
            scale = -np.ones(1, np.float32) if kind == "Sub" and constant_first else None
            origin = "affine" if scale is not None else origin
        else:
            scale = (np.float32(1) / value).astype(np.float32) if kind == "Div" else value
    out = imp.add_layer(node, index, BatchNorm(), [x])
    imp.parts.affines[out.source] = Affine(scale, shift, origin)
    quantized = other.quantized if isinstance(other, Const) else None
    if (kind in ("Add", "Mul") and quantized is not None and quantized.scale.size == 1
            and quantized.values.dtype.name in ("int8", "uint8")):
        # A QDQ constant operand: onnxruntime runs DQ(x) op DQ(c) → Q as QLinearAdd/QLinearMul.
        zero = quantized.zero_point.reshape(-1)
        imp.parts.attributes[out.source] = {
            "operation": "add" if kind == "Add" else "mul",
            "constant": quantized.values,
            "constant_quant": QuantParams(float(quantized.scale.reshape(-1)[0]), int(zero[0]),
                                          quantized.values.dtype.name),  # type: ignore[arg-type]
            "constant_first": constant_first,
        }


def _per_channel(dims: tuple[int, ...], constant: tuple[int, ...]) -> bool:
    if int(np.prod(constant)) == 1:
        return True
    if len(constant) > len(dims):
        return False
    aligned = (1,) * (len(dims) - len(constant)) + tuple(constant)
    return all(size == 1 for axis, size in enumerate(aligned) if axis != 1) and (
        len(dims) > 1 and aligned[1] == dims[1]
    )


def sum_inputs(imp: OnnxImporter, node: Any, index: int) -> None:
    tensors = [imp.tensor(node, i) for i in range(len(node.input))]
    if len(tensors) == 1:
        imp.alias(node, tensors[0])
    else:
        imp.add_layer(node, index, Add(), tensors)


def concat(imp: OnnxImporter, node: Any, index: int) -> None:
    values = [imp.value(name, node) for name in node.input]
    if not all(isinstance(v, Tensor) for v in values):
        return imp.unsupported(node, index, "a constant among the concatenated tensors")
    tensors = [v for v in values if isinstance(v, Tensor)]
    axis = attr(node, "axis", 1) % len(tensors[0].dims)
    if axis != 1:
        return imp.unsupported(node, index, f"concatenation along axis {axis}; only channels")
    quants = {t.quant for t in tensors}
    imp.add_layer(node, index, Concat(), tensors, quant=quants.pop() if len(quants) == 1 else None)

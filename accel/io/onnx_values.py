"""What the ONNX importer keeps for each tensor of a graph (`accel.io.onnx_reader`): a `Tensor`
(an activation in a layer's output buffer), a `Const` (known before inference, folded) or a
`Scalar` (a run-time value that is not an activation), with the helpers the operator converters
share to read them: a node's attributes, the IR shape of ONNX dims, and QDQ constants turned
into real values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from accel.io.onnx_graph import Dims
from accel.io.onnx_proto import attribute_value
from accel.model.ops import Shape
from accel.model.quantized import QuantParams

TensorHolds = Literal["codes", "dequantized", "raw"]


@dataclass(frozen=True, eq=False)
class QuantizedConst:
    """A constant stored as integers with an affine scale (QDQ weights and biases)."""

    values: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int


@dataclass(frozen=True, eq=False)
class Tensor:
    """An activation: the IR layer (or graph input) that holds it, and its ONNX dims."""

    source: str
    dims: Dims
    quant: QuantParams | None = None
    shuffle_groups: int = 0  # > 0 inside a reshape-transpose-reshape channel shuffle
    shuffle_stage: int = 0  # 1 after the split reshape, 2 after the transpose
    # What the ONNX tensor holds: int8/uint8 codes, their DequantizeLinear, or a float op's
    # raw result (which a layer reading it must take in float32, not from the codes).
    holds: TensorHolds = "raw"


@dataclass(frozen=True, eq=False)
class Const:
    """A value known before inference (None when its data is in a missing external file)."""

    array: np.ndarray | None
    dims: Dims
    quantized: QuantizedConst | None = None


@dataclass(frozen=True)
class Scalar:
    """A run-time value that is not an activation (dynamic quantization's scale)."""


Value = Tensor | Const | Scalar


def ir_shape(dims: Dims) -> Shape:
    """The per-image IR shape of an ONNX activation with a leading batch dimension."""
    rest = [*dims[1:], 1, 1][:3] if len(dims) >= 2 else [*dims, 1, 1, 1][:3]
    return Shape(*rest)


def attr(node: Any, name: str, default: Any) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            value = attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


def dequantize_const(consts: list[Const | None], axis: int) -> Const:
    values, scale_c = consts[0], consts[1] if len(consts) > 1 else None
    zero_c = consts[2] if len(consts) > 2 else None
    assert values is not None
    if values.array is None or scale_c is None or scale_c.array is None:
        return Const(None, values.dims)
    q = values.array
    scale = scale_c.array.astype(np.float32)
    zero = zero_c.array if zero_c is not None and zero_c.array is not None else np.zeros_like(scale,
                                                                                             q.dtype)
    shape = [1] * q.ndim
    if scale.size > 1:
        shape[axis % q.ndim] = scale.size
    real = (q.astype(np.int64) - zero.astype(np.int64).reshape(shape)) * scale.reshape(shape)
    quantized = QuantizedConst(q, scale, zero, axis % max(q.ndim, 1))
    return Const(real.astype(np.float32), tuple(q.shape), quantized)

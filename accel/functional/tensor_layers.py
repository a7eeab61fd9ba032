"""Vector-unit layers that imported models add: moving codes, and arithmetic with a constant.

Reshape, transpose, channel shuffle, channel slice and pad move int8 codes without changing
them (a pad writes the code of its fill value); clip is a table. A `batchnorm` layer that an
importer made from a quantized model's QLinearAdd / QLinearMul by a constant (or its QDQ form)
carries the constant's codes and quantization in its attributes and runs as onnxruntime's
kernel with the constant broadcast per channel. A float batchnorm or LRN has no integer form.

On x86 onnxruntime runs int8 QDQ tensors as uint8 (codes + 128, zero point + 128). That is
exact for most kernels, but QLinearAdd, QLinearMul and QLinearAveragePool add the zero points
in float32, so their last bit depends on it: `in_uint8_domain` runs a layer the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.functional import elementwise, lookup, resample
from accel.functional.requant import QuantMode, dequantize_linear, quantize_linear
from accel.functional.tflite_rescale import requantize_tflite_codes
from accel.model.network import Layer
from accel.model.ops import BatchNorm, ChannelShuffle, ChannelSlice, Clip, Pad, Reshape, Transpose
from accel.model.quantized import LayerAttributes, QuantParams
from accel.model.resample_ops import DepthToSpace, SpaceToDepth

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]
KINDS = frozenset(("reshape", "transpose", "channel_shuffle", "channel_slice", "pad", "clip",
                   "batchnorm", "depth_to_space", "space_to_depth"))  # fmt: skip


def run_tensor_layer(
    layer: Layer,
    x: IntArray,
    xq: QuantParams,
    y: QuantParams,
    mode: QuantMode,
    attributes: LayerAttributes,
) -> IntArray:
    """One of `KINDS` on an NCHW int8/uint8 tensor."""
    op = layer.op
    if layer.op.moves_values and mode == "onnx" and xq != y:
        # A move between two quantizations (a merged double QDQ pair): onnxruntime runs
        # DequantizeLinear → move → QuantizeLinear in float32.
        real = dequantize_linear(move_values(layer, x), xq.scale, xq.zero_point)
        return quantize_linear(real, y.scale, y.zero_point, y.dtype)
    if layer.op.moves_values and mode == "tflite" and xq != y:
        # TFLite's QUANTIZE between two int8 quantizations (imported from a .tflite file).
        return requantize_tflite_codes(move_values(layer, x), xq.scale, xq.zero_point, y.scale,
                                       y.zero_point)  # fmt: skip
    if layer.op.moves_values:
        return move_values(layer, x)
    if isinstance(op, Pad):
        return _pad(op, x, xq)
    if isinstance(op, Clip) and mode == "onnx":
        low = -np.inf if op.minimum is None else op.minimum
        high = np.inf if op.maximum is None else op.maximum
        table = lookup.build_lookup_table(
            lambda v: np.clip(v, np.float32(low), np.float32(high)).astype(np.float32),
            xq.scale, xq.zero_point, y.scale, y.zero_point, y.dtype,
        )  # fmt: skip
        return lookup.apply_lookup_table(x, table)
    if isinstance(op, BatchNorm) and "operation" in attributes and mode == "onnx":
        return _with_constant(x, xq, y, attributes)
    raise InputError(
        f"layer {layer.name!r}: {layer.kind} has no int8 model in {mode} mode (a float "
        "BatchNorm/affine or LRN the quantizer left unquantized)"
    )


def move_values(layer: Layer, x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Flatten, reshape, transpose, channel shuffle or channel slice of an NCHW tensor."""
    op = layer.op
    batch = x.shape[0]
    if isinstance(op, Reshape):
        return np.ascontiguousarray(x).reshape(batch, *op.shape)
    if isinstance(op, Transpose):
        return np.ascontiguousarray(x.transpose(0, *(axis + 1 for axis in op.perm)))
    if isinstance(op, ChannelShuffle):
        _, channels, height, width = x.shape
        grouped = x.reshape(batch, op.groups, channels // op.groups, height, width)
        return np.ascontiguousarray(grouped.transpose(0, 2, 1, 3, 4)).reshape(x.shape)
    if isinstance(op, ChannelSlice):
        return np.ascontiguousarray(x[:, op.start : op.end])
    if isinstance(op, DepthToSpace):
        return resample.depth_to_space(x, op)
    if isinstance(op, SpaceToDepth):
        return resample.space_to_depth(x, op)
    assert layer.kind == "flatten", layer.kind
    return np.ascontiguousarray(x).reshape(batch, -1, 1, 1)


def _pad(op: Pad, x: IntArray, xq: QuantParams) -> IntArray:
    top, bottom, left, right = op.padding
    front, back = op.channel_padding
    widths = ((0, 0), (front, back), (top, bottom), (left, right))
    if op.mode != "constant":
        return np.pad(x, widths, mode="reflect" if op.mode == "reflect" else "edge")
    fill = quantize_linear(np.float32(op.value), xq.scale, xq.zero_point, xq.dtype)
    return np.pad(x, widths, mode="constant", constant_values=fill)


def _with_constant(
    x: IntArray, xq: QuantParams, y: QuantParams, attributes: LayerAttributes
) -> IntArray:
    constant = np.asarray(attributes["constant"])
    cq = attributes["constant_quant"]
    flat = constant.reshape(-1)
    per_channel = flat.reshape(1, -1, 1, 1) if flat.size > 1 else flat.reshape(1, 1, 1, 1)
    c = np.broadcast_to(per_channel, x.shape).astype(x.dtype)
    operands = [(x, xq), (c, cq)]
    if attributes.get("constant_first"):
        operands.reverse()
    (a, aq), (b, bq) = operands
    kernel = elementwise.qlinear_add_onnx if attributes["operation"] == "add" else (
        elementwise.qlinear_mul_onnx)  # fmt: skip
    return kernel(a, aq.scale, aq.zero_point, b, bq.scale, bq.zero_point, y.scale, y.zero_point)


# Vector kernels whose arithmetic depends on the zero points' values, not only on code - zp.
ZERO_POINT_SENSITIVE = frozenset(("add", "mul", "avgpool", "batchnorm"))
VectorKernel = Callable[
    [Sequence[IntArray], Sequence[QuantParams], QuantParams, LayerAttributes], IntArray
]


def _to_uint8(params: QuantParams) -> QuantParams:
    if params.dtype == "uint8":
        return params
    return QuantParams(params.scale, params.zero_point + 128, "uint8")


def _codes_to_uint8(x: IntArray) -> IntArray:
    return x if x.dtype == np.uint8 else (x.astype(np.int16) + 128).astype(np.uint8)


def in_uint8_domain(
    kernel: VectorKernel,
    inputs: Sequence[IntArray],
    params: Sequence[QuantParams],
    output: QuantParams,
    attributes: LayerAttributes,
) -> IntArray:
    """Run `kernel` on int8 tensors converted to uint8 (as onnxruntime's x86 QDQ rewrite does)
    and convert the result back."""
    extra = attributes.copy()
    constant_quant = extra.get("constant_quant")
    if isinstance(constant_quant, QuantParams):
        extra["constant"] = _codes_to_uint8(np.asarray(extra["constant"]))
        extra["constant_quant"] = _to_uint8(constant_quant)
    result = kernel([_codes_to_uint8(x) for x in inputs], [_to_uint8(p) for p in params],
                    _to_uint8(output), extra)  # fmt: skip
    if output.dtype == "uint8":
        return result
    return (result.astype(np.int16) - 128).astype(np.int8)

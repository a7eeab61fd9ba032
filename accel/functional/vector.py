"""The vector unit's layers on quantized tensors: pooling, residual add, SE multiply, concat,
table activations, flatten and softmax, each in the chip's requantization mode (an activation's
table is built by `accel.functional.activation_tables`).

`onnx` mode reproduces onnxruntime's QOperator kernels (com.microsoft QLinearAveragePool,
QLinearAdd, QLinearMul, QLinearConcat, QLinearSigmoid, QLinearSoftmax, and
DequantizeLinear → float op → QuantizeLinear chains as 256-entry tables); `tflite` mode the
TFLite reference int8 kernels: max/avg pooling, MEAN, ADD, MUL, concat (inputs requantized by
QUANTIZE), ReLU/ReLU6 clamps, HARD_SWISH, LOGISTIC, LEAKY_RELU, h-sigmoid as ADD+RELU6+MUL,
and SOFTMAX. Anything else in tflite mode (uint8 tensors for the int8-only kernels, output
quantizations TFLite refuses) is an `InputError` naming the layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.functional import (
    elementwise,
    lookup,
    pooling,
    prelu_tanh,
    resample,
    tflite_activations,
    tflite_rescale,
)
from accel.functional.activation_tables import TFLITE_PROBABILITY
from accel.functional.conv_layer import fused_activation
from accel.functional.kernels import mlas_pool
from accel.functional.kernels.cpu import require_modelled
from accel.functional.requant import (
    QuantMode,
    activation_bounds,
    dequantize_linear,
    quantize_linear,
)
from accel.functional.tensor_layers import KINDS, run_tensor_layer
from accel.model.network import Layer
from accel.model.ops import Activation, Add, Concat, Flatten, Mul, Softmax
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import LayerAttributes, QuantParams
from accel.model.resample_ops import PRelu, ReduceMean, Resize

IntArray = npt.NDArray[np.integer]


def run_vector_layer(
    layer: Layer,
    inputs: Sequence[IntArray],
    input_params: Sequence[QuantParams],
    output_params: QuantParams,
    mode: QuantMode,
    table: IntArray | None,
    attributes: LayerAttributes | None = None,
) -> IntArray:
    """One non-array layer on NCHW int8/uint8 tensors."""
    op = layer.op
    x, xq, y = inputs[0], input_params[0], output_params
    if layer.kind in KINDS:
        return run_tensor_layer(layer, x, xq, y, mode, attributes or {})
    if isinstance(op, MaxPool):
        return _maxpool(layer, x)
    if isinstance(op, GlobalAvgPool) and mode == "tflite" and is_tflite_mean(xq, y, attributes):
        return tflite_rescale.mean_tflite(x, xq.scale, xq.zero_point, y.scale, y.zero_point)
    if isinstance(op, AvgPool | GlobalAvgPool):
        return _avgpool(layer, x, xq, y, mode)
    if isinstance(op, Add):
        return _add(layer, inputs, input_params, y, mode)
    if isinstance(op, Mul):
        return _mul(layer, inputs, input_params, y, mode)
    if isinstance(op, Concat):
        return _concat(layer, inputs, input_params, y, mode)
    if isinstance(op, Activation):
        assert table is not None
        return lookup.apply_lookup_table(x, table)
    if isinstance(op, Flatten):
        return np.asarray(x).reshape(x.shape[0], -1, 1, 1)
    if isinstance(op, Resize | PRelu | ReduceMean):
        return _resample_layer(layer, x, xq, y, mode, attributes or {})
    if isinstance(op, Softmax):
        if mode == "tflite" and op.axis != 0:
            raise InputError(f"layer {layer.name!r}: a tflite softmax must be over channels, "
                             f"not axis {op.axis}")  # fmt: skip
        if mode == "tflite":
            return _softmax_tflite(layer, x, xq, y, op.beta)
        if op.beta != 1.0:
            raise InputError(f"layer {layer.name!r}: an onnx-mode softmax must have beta 1, not "
                             f"{op.beta!r}")  # fmt: skip
        return lookup.softmax_onnx(x, xq.scale, y.scale, y.zero_point, axis=op.axis + 1)
    raise InputError(f"layer {layer.name!r}: {layer.kind} has no functional model")


def _maxpool(layer: Layer, x: IntArray) -> IntArray:
    op = layer.op
    assert isinstance(op, MaxPool)
    if op.ceil_mode == "scalesim":
        raise InputError(f"layer {layer.name!r}: ceil_mode scalesim pooling has no int8 model")
    pads = op.pads(x.shape[2], x.shape[3])
    return pooling.maxpool2d(
        x, op.kernel, strides=op.stride, pads=pads, dilations=op.dilation, ceil_mode=op.ceil_mode
    )


def _avgpool(
    layer: Layer, x: IntArray, xq: QuantParams, y: QuantParams, mode: QuantMode
) -> IntArray:
    op = layer.op
    if isinstance(op, GlobalAvgPool):
        kernel, stride, pads, ceil, include = x.shape[2:], (1, 1), (0, 0, 0, 0), False, False
    else:
        assert isinstance(op, AvgPool)
        if op.dilation != (1, 1) or op.ceil_mode == "scalesim":
            raise InputError(f"layer {layer.name!r}: average pooling must be undilated")
        kernel, stride, ceil = op.kernel, op.stride, bool(op.ceil_mode)
        pads, include = op.pads(x.shape[2], x.shape[3]), op.count_include_pad
    if mode == "onnx":
        return pooling.avgpool2d_onnx(
            x, xq.scale, xq.zero_point, y.scale, y.zero_point, kernel,
            strides=stride, pads=pads, ceil_mode=ceil, count_include_pad=include,
        )  # fmt: skip
    if xq != y or include or ceil:
        raise InputError(
            f"layer {layer.name!r}: tflite average pooling needs equal input and output "
            f"quantization, no count_include_pad and no ceil_mode, not {xq} -> {y}"
        )
    return pooling.avgpool2d_tflite(x, kernel, strides=stride, pads=pads)


def _bounds(layer: Layer, y: QuantParams, mode: QuantMode) -> tuple[int, int]:
    return activation_bounds(fused_activation(layer), y.scale, y.zero_point, y.dtype, mode)


def _add(
    layer: Layer,
    inputs: Sequence[IntArray],
    params: Sequence[QuantParams],
    y: QuantParams,
    mode: QuantMode,
) -> IntArray:
    # More than two inputs add pairwise, each partial sum requantized to the output's scale.
    total, tq = inputs[0], params[0]
    lo, hi = _bounds(layer, y, mode)
    for b, bq in zip(inputs[1:], params[1:], strict=True):
        args = (total, tq.scale, tq.zero_point, b, bq.scale, bq.zero_point, y.scale, y.zero_point)
        if mode == "onnx":
            total = elementwise.qlinear_add_onnx(*args)
        else:
            total = elementwise.add_tflite(*args, act_min=lo, act_max=hi)
        tq = y
    return np.clip(total, lo, hi).astype(total.dtype)


def _mul(
    layer: Layer,
    inputs: Sequence[IntArray],
    params: Sequence[QuantParams],
    y: QuantParams,
    mode: QuantMode,
) -> IntArray:
    (a, b), (aq, bq) = inputs, params
    b = np.broadcast_to(b, a.shape)  # an SE scale (N, C, 1, 1) applies to every pixel
    args = (a, aq.scale, aq.zero_point, b, bq.scale, bq.zero_point, y.scale, y.zero_point)
    if mode == "onnx":
        return elementwise.qlinear_mul_onnx(*args)
    return elementwise.mul_tflite(*args)


def _concat(
    layer: Layer,
    inputs: Sequence[IntArray],
    params: Sequence[QuantParams],
    y: QuantParams,
    mode: QuantMode,
) -> IntArray:
    if mode == "tflite":
        # TFLite's int8 CONCATENATION copies codes; a converter requantizes (QUANTIZE) every
        # input quantized unlike the output first.
        if y.dtype != "int8" or any(p.dtype != "int8" for p in params):
            raise InputError(f"layer {layer.name!r}: a tflite concat must be int8, not "
                             f"{[p.dtype for p in params]} -> {y.dtype}")  # fmt: skip
        requantized = [x if p == y else tflite_rescale.requantize_tflite_codes(
            x, p.scale, p.zero_point, y.scale, y.zero_point)
            for x, p in zip(inputs, params, strict=True)]  # fmt: skip
        return np.concatenate(requantized, axis=1)
    parts = [(x, p.scale, p.zero_point) for x, p in zip(inputs, params, strict=True)]
    return lookup.concat_onnx(parts, y.scale, y.zero_point, axis=1)


def is_tflite_mean(
    x: QuantParams, y: QuantParams, attributes: LayerAttributes | None
) -> bool:
    """Whether a global average pool runs as TFLite's MEAN: imported from one, or requantizing
    (AVERAGE_POOL_2D needs equal input and output quantization; converters emit MEAN)."""
    return bool((attributes or {}).get("tflite_mean")) or x != y


def _softmax_tflite(
    layer: Layer, x: IntArray, xq: QuantParams, y: QuantParams, beta: float
) -> IntArray:
    if xq.dtype != "int8" or y != TFLITE_PROBABILITY:
        raise InputError(f"layer {layer.name!r}: a tflite softmax must map int8 to "
                         f"{TFLITE_PROBABILITY}, not {xq} -> {y}")  # fmt: skip
    try:
        return tflite_activations.softmax_tflite(x, xq.scale, axis=1, beta=beta)
    except ValueError as err:
        raise InputError(f"layer {layer.name!r}: {err}") from None




def _resample_layer(layer: Layer, x: IntArray, xq: QuantParams, y: QuantParams,
                    mode: QuantMode, attributes: LayerAttributes) -> IntArray:
    """Resize, PReLU and reduce_mean (onnx mode only)."""
    op = layer.op
    if isinstance(op, ReduceMean):
        return _reduce_mean(layer, op, x, xq, y, mode)
    if isinstance(op, Resize):
        if xq != y:
            raise InputError(f"layer {layer.name!r}: a resize must keep its input quantization, "
                             f"not {xq} -> {y}")  # fmt: skip
        try:
            if op.mode == "bilinear":
                if mode == "onnx":
                    nhwc = bool(attributes.get("onnxruntime_nhwc"))
                    return resample.resize_bilinear_onnx(x, op, nhwc)
                return resample.resize_bilinear_tflite(x, op)
            return resample.resize_nearest(x, op, mode)
        except ValueError as err:
            raise InputError(f"layer {layer.name!r}: {err}") from None
    assert isinstance(op, PRelu)
    if mode == "tflite":
        codes, quant = attributes.get("slope_codes"), attributes.get("slope_quant")
        if codes is None or quant is None or xq.dtype != "int8" or y.dtype != "int8":
            raise InputError(f"layer {layer.name!r}: a tflite prelu needs int8 input, output "
                             "and slopes")  # fmt: skip
        return prelu_tanh.prelu_tflite(x, xq, y, codes, quant)
    slopes = attributes.get("slopes")
    if slopes is None:
        raise InputError(f"layer {layer.name!r}: the prelu's slopes are not in the model")
    return prelu_tanh.prelu_onnx(x, xq, y, slopes)


def _reduce_mean(layer: Layer, op: ReduceMean, x: IntArray, xq: QuantParams, y: QuantParams,
                 mode: QuantMode) -> IntArray:  # fmt: skip
    """onnx mode: DequantizeLinear → ReduceMean → QuantizeLinear, as quantize_static leaves a
    ReduceMean (onnxruntime has no integer one), in ORT's float32 summation order. tflite mode:
    MEAN's QuantizedMeanOrSum, as tflite-micro and LiteRT's reference kernels compute it."""
    axes = tuple(axis + 1 for axis in op.axes)
    if mode == "tflite":
        return tflite_rescale.mean_tflite(x, xq.scale, xq.zero_point, y.scale, y.zero_point,
                                          axes)  # fmt: skip
    require_modelled(f"layer {layer.name!r}: float32 reduce_mean")
    mean = mlas_pool.reduce_mean(dequantize_linear(x, xq.scale, xq.zero_point), axes)
    return quantize_linear(mean, y.scale, y.zero_point, y.dtype)

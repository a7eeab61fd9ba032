"""Per-operator translation of float ONNX nodes into layers, keyed by (domain, op_type).

Each converter reads its node's inputs through the importer (activations, constants) and places
one layer, aliases its output to an existing tensor (operators that cost nothing), or refuses
with a one-line reason. The quantized forms live in `accel.io.onnx_qops`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from accel.functional.qmodel import FloatWeights, QuantParams
from accel.io.imported import Affine, AffineOrigin
from accel.io.onnx_import import Const, OnnxImporter, Scalar, Tensor, TensorHolds, attr, ir_shape
from accel.io.onnx_weights import keep_batchnorm_constants, keep_qdq_weights
from accel.model.ops import (
    Activation,
    Add,
    AvgPool,
    BatchNorm,
    ChannelShuffle,
    ChannelSlice,
    Clip,
    Concat,
    Conv,
    Flatten,
    FullyConnected,
    GlobalAvgPool,
    LocalResponseNorm,
    MaxPool,
    Mul,
    Pad,
    Reshape,
    Softmax,
    Transpose,
)

Converter = Callable[[OnnxImporter, Any, int], None]
_AUTO_PAD = {"SAME_UPPER": "same_upper", "SAME_LOWER": "same_lower", "VALID": "valid"}


def window(imp: OnnxImporter, node: Any, kernel: tuple[int, ...]) -> dict[str, Any]:
    """Kernel, stride, padding, dilation and ceil_mode of a 2-D conv or pool node."""
    if len(kernel) != 2:
        raise imp.error(node, f"must be 2-D (NCHW); only 2-D windows are supported, not {kernel}")
    pads = list(attr(node, "pads", [0, 0, 0, 0]))
    auto_pad = attr(node, "auto_pad", "NOTSET")
    padding = _AUTO_PAD.get(auto_pad, (pads[0], pads[2], pads[1], pads[3]))
    return {
        "kernel": kernel,
        "stride": tuple(attr(node, "strides", [1, 1])),
        "padding": padding,
        "dilation": tuple(attr(node, "dilations", [1, 1])),
        "ceil_mode": bool(attr(node, "ceil_mode", 0)),
    }


def conv_layer(
    imp: OnnxImporter,
    node: Any,
    index: int,
    x: Tensor,
    weight: Const,
    has_bias: bool,
    quant: QuantParams | None = None,
) -> Tensor:
    """A Conv/ConvInteger/QLinearConv node as a conv layer (weights' dims give the shape)."""
    if len(weight.dims) != 4 or len(x.dims) != 4:
        raise imp.error(node, "must be a 2-D convolution on an NCHW tensor")
    kernel = tuple(attr(node, "kernel_shape", weight.dims[2:]))
    geometry = window(imp, node, kernel)
    geometry.pop("ceil_mode")
    op = Conv(out_channels=weight.dims[0], groups=attr(node, "group", 1), bias=has_bias,
              **geometry)
    if weight.dims[1] * op.groups != imp.parts.shapes[x.source].channels:
        raise imp.error(node, f"weights of shape {weight.dims} must fit "
                        f"{imp.parts.shapes[x.source].channels} input channels")
    return imp.add_layer(node, index, op, [x], quant=quant)


def _conv(imp: OnnxImporter, node: Any, index: int) -> None:
    weight, bias = imp.const(node, 1), imp.const(node, 2)
    assert weight is not None
    out = conv_layer(imp, node, index, imp.tensor(node), weight, bias is not None)
    _keep_float_weights(imp, out.source, weight, bias)
    keep_qdq_weights(imp, out.source, imp.tensor(node), weight, bias)


def _keep_float_weights(
    imp: OnnxImporter, name: str, weight: Const, bias: Const | None, transpose: bool = False
) -> None:
    if weight.array is None or (bias is not None and bias.array is None):
        return
    array = weight.array.T if transpose else weight.array
    channels = array.shape[0]
    bias_array = np.zeros(channels, np.float32) if bias is None else bias.array
    imp.parts.float_weights[name] = FloatWeights(
        np.ascontiguousarray(array, np.float32),
        np.broadcast_to(np.asarray(bias_array, np.float32).reshape(-1), (channels,)).copy(),
    )


def fc_layer(
    imp: OnnxImporter,
    node: Any,
    index: int,
    x: Tensor,
    out_features: int,
    in_features: int,
    has_bias: bool,
    quant: QuantParams | None = None,
) -> Tensor:
    if len(x.dims) != 2:
        raise imp.error(node, f"must multiply a (batch, features) matrix, not one of dims {x.dims}")
    if in_features != x.dims[1]:
        raise imp.error(node, f"weights must have {x.dims[1]} input features, not {in_features}")
    return imp.add_layer(node, index, FullyConnected(out_features=out_features, bias=has_bias),
                         [x], rank=2, quant=quant)


def _gemm(imp: OnnxImporter, node: Any, index: int) -> None:
    weight, bias = imp.const(node, 1), imp.const(node, 2)
    if attr(node, "transA", 0) or weight is None or len(weight.dims) != 2:
        return imp.unsupported(node, index, "only A·B with A an activation and B constant")
    trans_b = bool(attr(node, "transB", 0))
    out_features, in_features = weight.dims if trans_b else weight.dims[::-1]
    out = fc_layer(imp, node, index, imp.tensor(node), out_features, in_features,
                   bias is not None)
    alpha, beta = attr(node, "alpha", 1.0), attr(node, "beta", 1.0)
    scaled_w = replace(weight, array=None if weight.array is None else weight.array * alpha)
    scaled_b = None if bias is None else replace(
        bias, array=None if bias.array is None else bias.array * beta)
    _keep_float_weights(imp, out.source, scaled_w, scaled_b, transpose=not trans_b)
    keep_qdq_weights(imp, out.source, imp.tensor(node), weight, bias, transpose=not trans_b)
    if out.source in imp.parts.qweights:  # how onnxruntime would run it in float32
        imp.parts.attributes.setdefault(out.source, {})["gemm"] = {
            "trans_b": trans_b, "alpha": float(alpha), "beta": float(beta)}


def _matmul(imp: OnnxImporter, node: Any, index: int) -> None:
    weight = imp.values.get(node.input[1])
    if not isinstance(weight, Const) or len(weight.dims) != 2:
        return imp.unsupported(node, index, "only activation × constant 2-D weights")
    out = fc_layer(imp, node, index, imp.tensor(node), weight.dims[1], weight.dims[0], False)
    _keep_float_weights(imp, out.source, weight, None, transpose=True)
    keep_qdq_weights(imp, out.source, imp.tensor(node), weight, None, transpose=True)


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


def _maxpool(imp: OnnxImporter, node: Any, index: int) -> None:
    pool_layer(imp, node, index, imp.tensor(node), average=False)


def _avgpool(imp: OnnxImporter, node: Any, index: int) -> None:
    pool_layer(imp, node, index, imp.tensor(node), average=True)


def _global_avgpool(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.add_layer(node, index, GlobalAvgPool(), [imp.tensor(node)])


def _global_maxpool(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    shape = imp.parts.shapes[x.source]
    imp.add_layer(node, index, MaxPool(kernel=(shape.height, shape.width)), [x], quant=x.quant)


def _reduce_mean(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    axes = attr(node, "axes", None)
    if axes is None and len(node.input) > 1:
        axes = imp.const_array(node, 1).tolist()
    rank = len(x.dims)
    if rank != 4 or axes is None or sorted(a % rank for a in axes) != [2, 3]:
        return imp.unsupported(node, index, "only a mean over the spatial axes 2 and 3")
    imp.add_layer(node, index, GlobalAvgPool(), [x], rank=4 if attr(node, "keepdims", 1) else 2)


def _activation(function: str) -> Converter:
    def convert(imp: OnnxImporter, node: Any, index: int) -> None:
        alpha = float(attr(node, "alpha", 0.01))
        op = Activation(function=function, alpha=alpha)
        imp.add_layer(node, index, op, [imp.tensor(node)])

    return convert


def _hard_sigmoid(imp: OnnxImporter, node: Any, index: int) -> None:
    alpha, beta = attr(node, "alpha", 0.2), attr(node, "beta", 0.5)
    if abs(alpha - 1 / 6) > 1e-6 or abs(beta - 0.5) > 1e-6:
        return imp.unsupported(node, index, f"alpha={alpha:g}, beta={beta:g}; only the "
                               "hsigmoid form alpha=1/6, beta=0.5")
    imp.add_layer(node, index, Activation(function="hsigmoid"), [imp.tensor(node)])


def _clip(imp: OnnxImporter, node: Any, index: int) -> None:
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


def _softmax(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    opset = next((o.version for o in imp.opsets if o.domain in ("", "ai.onnx")), 13)
    axis = attr(node, "axis", 1 if opset < 13 else -1) % len(x.dims)
    if axis != 1:
        return imp.unsupported(node, index, f"softmax over axis {axis}; only over channels")
    imp.add_layer(node, index, Softmax(), [x])


def _lrn(imp: OnnxImporter, node: Any, index: int) -> None:
    op = LocalResponseNorm(size=attr(node, "size", 5), alpha=attr(node, "alpha", 1e-4),
                           beta=attr(node, "beta", 0.75), bias=attr(node, "bias", 1.0))
    imp.add_layer(node, index, op, [imp.tensor(node)])


def _batchnorm(imp: OnnxImporter, node: Any, index: int) -> None:
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


def _binary(kind: str) -> Converter:
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
            "operation": kind.lower(),
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


def _sum(imp: OnnxImporter, node: Any, index: int) -> None:
    tensors = [imp.tensor(node, i) for i in range(len(node.input))]
    if len(tensors) == 1:
        imp.alias(node, tensors[0])
    else:
        imp.add_layer(node, index, Add(), tensors)


def _concat(imp: OnnxImporter, node: Any, index: int) -> None:
    values = [imp.value(name, node) for name in node.input]
    if not all(isinstance(v, Tensor) for v in values):
        return imp.unsupported(node, index, "a constant among the concatenated tensors")
    tensors = [v for v in values if isinstance(v, Tensor)]
    axis = attr(node, "axis", 1) % len(tensors[0].dims)
    if axis != 1:
        return imp.unsupported(node, index, f"concatenation along axis {axis}; only channels")
    quants = {t.quant for t in tensors}
    imp.add_layer(node, index, Concat(), tensors, quant=quants.pop() if len(quants) == 1 else None)


def _alias(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.alias(node, imp.tensor(node))


def _shape(imp: OnnxImporter, node: Any, index: int) -> None:
    dims = np.array(imp.tensor(node).dims, np.int64)
    start, end = attr(node, "start", 0), attr(node, "end", None)
    result = dims[start:end]
    imp.values[node.output[0]] = Const(result, tuple(result.shape))


def _flatten(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    axis = attr(node, "axis", 1) % max(len(x.dims), 1)
    if axis != 1:
        return imp.unsupported(node, index, f"flatten at axis {axis}; only axis 1")
    reshape_to(imp, node, index, x, (x.dims[0], int(np.prod(x.dims[1:]))))


def _reshape(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    target = [int(v) for v in imp.const_array(node, 1).reshape(-1)]
    if not attr(node, "allowzero", 0):
        target = [x.dims[i] if v == 0 and i < len(x.dims) else v for i, v in enumerate(target)]
    if -1 in target:
        known = int(np.prod([v for v in target if v != -1]))
        target[target.index(-1)] = int(np.prod(x.dims)) // max(known, 1)
    reshape_to(imp, node, index, x, tuple(target))


def _squeeze_axes(imp: OnnxImporter, node: Any) -> list[int] | None:
    axes = attr(node, "axes", None)
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = imp.const_array(node, 1).tolist()
    return None if axes is None else list(axes)


def _squeeze(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    axes = _squeeze_axes(imp, node)
    rank = len(x.dims)
    drop = {a % rank for a in axes} if axes else {i for i in range(1, rank) if x.dims[i] == 1}
    if 0 in drop:
        return imp.unsupported(node, index, "it removes the batch dimension")
    reshape_to(imp, node, index, x, tuple(d for i, d in enumerate(x.dims) if i not in drop))


def _unsqueeze(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    axes = _squeeze_axes(imp, node) or []
    rank = len(x.dims) + len(axes)
    dims = list(x.dims)
    for axis in sorted(a % rank for a in axes):
        dims.insert(axis, 1)
    if 0 in {a % rank for a in axes}:
        return imp.unsupported(node, index, "it inserts a dimension before the batch")
    reshape_to(imp, node, index, x, tuple(dims))


def _transpose(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    perm = list(attr(node, "perm", list(range(len(x.dims)))[::-1]))
    dims = tuple(x.dims[p] for p in perm)
    if x.shuffle_stage == 1 and perm == [0, 2, 1, 3, 4]:
        imp.alias(node, replace(x, dims=dims, shuffle_stage=2))
        return None
    if perm[0] != 0 or x.shuffle_stage:
        return imp.unsupported(node, index, f"permutation {perm}; the batch must stay first")
    ir_perm = tuple(perm[i + 1] - 1 if i + 1 < len(perm) else i for i in range(3))
    if ir_shape(dims) == imp.parts.shapes[x.source] and (
        ir_perm == (0, 1, 2) or sum(size > 1 for size in x.dims[1:]) <= 1
    ):
        imp.alias(node, replace(x, dims=dims))
        return None
    imp.add_layer(node, index, Transpose(perm=ir_perm), [x], rank=len(dims), quant=x.quant)
    return None


def reshape_to(imp: OnnxImporter, node: Any, index: int, x: Tensor, dims: tuple[int, ...]) -> None:
    """A free change of dims: an alias, a flatten, a reshape, or a channel shuffle's step."""
    if int(np.prod(dims)) != int(np.prod(x.dims)):
        raise imp.error(node, f"must keep {int(np.prod(x.dims))} elements, not reshape to {dims}")
    if len(dims) == 5:
        if len(x.dims) == 4 and dims[0] == x.dims[0] and dims[3:] == x.dims[2:]:
            imp.alias(node, replace(x, dims=dims, shuffle_groups=dims[1], shuffle_stage=1))
            return
        raise imp.error(node, "makes a 5-D tensor; 5-D tensors are supported only inside a "
                        "reshape-transpose-reshape channel shuffle")
    if x.shuffle_stage == 2 and len(dims) == 4:
        shuffle = ChannelShuffle(groups=x.shuffle_groups)
        imp.add_layer(node, index, shuffle, [replace(x, dims=dims)], quant=x.quant)
        return
    if x.shuffle_stage:
        raise imp.error(node, "breaks a reshape-transpose-reshape channel shuffle")
    target = ir_shape(dims)
    if len(dims) < 2 or dims[0] != x.dims[0]:
        raise imp.error(node, f"must keep the batch dimension {x.dims[0]} first, not {dims}")
    if target == imp.parts.shapes[x.source]:
        imp.alias(node, replace(x, dims=dims))
        return
    flat = (target.height, target.width) == (1, 1)
    size = (target.channels, target.height, target.width)
    op: Flatten | Reshape = Flatten() if flat else Reshape(shape=size)
    out = imp.add_layer(node, index, op, [x], rank=len(dims), quant=x.quant)
    imp.alias(node, replace(out, dims=dims))


def _channel_slice(imp: OnnxImporter, node: Any, index: int, x: Tensor, start: int, end: int,
                   output: int) -> None:
    channels = imp.parts.shapes[x.source].channels
    start, end = max(start + channels if start < 0 else start, 0), min(
        end + channels if end < 0 else end, channels)
    if (start, end) == (0, channels):
        imp.alias(node, x, output)
        return
    layer_node = node if output == 0 else _with_output(node, output)
    imp.add_layer(layer_node, index, ChannelSlice(start=start, end=end), [x], quant=x.quant)
    imp.values[node.output[output]] = imp.values[layer_node.output[0]]


def _with_output(node: Any, output: int) -> Any:
    from onnx import helper

    return helper.make_node(node.op_type, list(node.input), [node.output[output]],
                            name=f"{node.name or node.op_type.lower()}_{output}")


def _slice(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    if len(node.input) > 1:
        starts, ends = (imp.const_array(node, i).tolist() for i in (1, 2))
        axes = imp.const_array(node, 3).tolist() if len(node.input) > 3 and node.input[3] else None
        steps = imp.const_array(node, 4).tolist() if len(node.input) > 4 and node.input[4] else None
    else:  # opset < 10: attributes
        starts, ends = attr(node, "starts", []), attr(node, "ends", [])
        axes, steps = attr(node, "axes", None), None
    axes = list(range(len(starts))) if axes is None else axes
    if [a % len(x.dims) for a in axes] != [1] or (steps and steps != [1]):
        return imp.unsupported(node, index, "only a contiguous range of channels (axis 1)")
    end = min(int(ends[0]), 2**31)
    _channel_slice(imp, node, index, x, int(starts[0]), end, 0)
    return None


def _split(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    if attr(node, "axis", 0) % len(x.dims) != 1:
        return imp.unsupported(node, index, "only a split of the channels (axis 1)")
    sizes = attr(node, "split", None)
    if sizes is None and len(node.input) > 1 and node.input[1]:
        sizes = imp.const_array(node, 1).tolist()
    channels = imp.parts.shapes[x.source].channels
    count = len(node.output)
    sizes = sizes or [-(-channels // count)] * (count - 1) + [channels - -(-channels // count)
                                                             * (count - 1)]
    start = 0
    for output, size in enumerate(sizes):
        _channel_slice(imp, node, index, x, start, start + int(size), output)
        start += int(size)
    return None


def _pad(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    rank = len(x.dims)
    pads = attr(node, "pads", None)
    if pads is None:
        pads = imp.const_array(node, 1).astype(int).tolist()
    value_array = imp.optional_array(node, 2) if len(node.input) > 2 else None
    value = float(attr(node, "value", 0.0) if value_array is None else value_array.reshape(-1)[0])
    if len(node.input) > 3 and node.input[3]:
        return imp.unsupported(node, index, "the axes input; give pads for every axis")
    before, after = pads[:rank], pads[rank:]
    if rank != 4 or before[0] or after[0] or min(pads) < 0:
        return imp.unsupported(node, index, f"pads {pads}; only non-negative channel and "
                               "spatial padding of an NCHW tensor")
    if x.quant is not None and value_array is not None and value_array.dtype != np.float32:
        value = (value - x.quant.zero_point) * x.quant.scale  # an int8 code → its real value
    op = Pad(padding=(before[2], after[2], before[3], after[3]),
             channel_padding=(before[1], after[1]), mode=attr(node, "mode", "constant"),
             value=value)
    imp.add_layer(node, index, op, [x], quant=x.quant)


def _quantize(imp: OnnxImporter, node: Any, index: int) -> None:
    """Quantize/DequantizeLinear on an activation: a rename that records its quantization."""
    x = imp.tensor(node)
    quant = imp.quant_of(node, 1) or x.quant
    if quant is not None and node.op_type == "QuantizeLinear" and (
            x.source in imp.parts.inherited_quant):  # fmt: skip
        imp.parts.quant[x.source] = quant  # onnxruntime requantizes the moved float values
        imp.parts.inherited_quant.discard(x.source)
    if quant is not None:
        imp.parts.quant.setdefault(x.source, quant)
    if node.op_type == "QuantizeLinear" and x.source not in imp.parts.named_codes:
        # The first QuantizeLinear of a float op's output holds its codes.
        imp.parts.named_codes.add(x.source)
        imp.parts.tensor_names[x.source] = node.output[0]
    holds: TensorHolds = "codes" if node.op_type == "QuantizeLinear" else "dequantized"
    imp.alias(node, replace(x, quant=quant, holds=holds))


def _dynamic_quantize(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.parts.dynamic_quantization = True
    imp.alias(node, imp.tensor(node))
    for output in node.output[1:]:
        imp.values[output] = Scalar()


FLOAT_OPS: dict[tuple[str, str], Converter] = {
    ("", "Conv"): _conv,
    ("", "Gemm"): _gemm,
    ("", "MatMul"): _matmul,
    ("", "MaxPool"): _maxpool,
    ("", "AveragePool"): _avgpool,
    ("", "GlobalAveragePool"): _global_avgpool,
    ("", "GlobalMaxPool"): _global_maxpool,
    ("", "ReduceMean"): _reduce_mean,
    ("", "Relu"): _activation("relu"),
    ("", "Sigmoid"): _activation("sigmoid"),
    ("", "HardSwish"): _activation("hswish"),
    ("", "LeakyRelu"): _activation("leaky_relu"),
    ("", "HardSigmoid"): _hard_sigmoid,
    ("", "Clip"): _clip,
    ("", "Softmax"): _softmax,
    ("", "LRN"): _lrn,
    ("", "BatchNormalization"): _batchnorm,
    ("", "Add"): _binary("Add"),
    ("", "Sub"): _binary("Sub"),
    ("", "Mul"): _binary("Mul"),
    ("", "Div"): _binary("Div"),
    ("", "Sum"): _sum,
    ("", "Concat"): _concat,
    ("", "Dropout"): _alias,
    ("", "Identity"): _alias,
    ("", "Cast"): _alias,
    ("", "Shape"): _shape,
    ("", "Flatten"): _flatten,
    ("", "Reshape"): _reshape,
    ("", "Squeeze"): _squeeze,
    ("", "Unsqueeze"): _unsqueeze,
    ("", "Transpose"): _transpose,
    ("", "Pad"): _pad,
    ("", "Slice"): _slice,
    ("", "Split"): _split,
    ("", "QuantizeLinear"): _quantize,
    ("", "DequantizeLinear"): _quantize,
    ("com.microsoft", "QuantizeLinear"): _quantize,
    ("com.microsoft", "DequantizeLinear"): _quantize,
    ("", "DynamicQuantizeLinear"): _dynamic_quantize,
}


def operator_table() -> dict[tuple[str, str], Converter]:
    from accel.io.onnx_qops import QUANTIZED_OPS

    return {**FLOAT_OPS, **QUANTIZED_OPS}


def supported_ops() -> list[str]:
    """Operator names for error messages: `Conv`, ..., `com.microsoft.QLinearAdd`."""
    return sorted(f"{d}.{op}" if d else op for d, op in operator_table())


def convert_node(imp: OnnxImporter, node: Any, index: int) -> None:
    domain = "" if node.domain in ("", "ai.onnx") else node.domain
    converter = operator_table().get((domain, node.op_type))
    if converter is None:
        imp.unsupported(node, index)
    else:
        converter(imp, node, index)

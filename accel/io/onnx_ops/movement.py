"""ONNX nodes that move or rename data without arithmetic: reshapes, transposes, channel
slices and splits, padding, and Quantize/DequantizeLinear on activations.

Most cost nothing on the chip: the output is an alias of the input buffer (Identity, Dropout,
Cast, a reshape that keeps the IR shape, Q/DQ that only record a quantization). What does move
data becomes a layer: a flatten or reshape, a transpose, a channel slice, a pad, or the channel
shuffle that a reshape → transpose → reshape sequence spells (tracked through its 5-D steps),
and the requantization of codes to a double QDQ pair's merged quantization
(`accel.io.onnx_qdq_pairs`).
Shape arithmetic on constants never gets here; the importer folds it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from accel.io.onnx_reader import OnnxImporter
from accel.io.onnx_values import Const, Scalar, Tensor, TensorHolds, attr, ir_shape
from accel.model.ops import ChannelShuffle, ChannelSlice, Flatten, Pad, Reshape, Transpose
from accel.model.quantized import QuantParams


def alias(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.alias(node, imp.tensor(node))


def shape(imp: OnnxImporter, node: Any, index: int) -> None:
    dims = np.array(imp.tensor(node).dims, np.int64)
    start, end = attr(node, "start", 0), attr(node, "end", None)
    result = dims[start:end]
    imp.values[node.output[0]] = Const(result, tuple(result.shape))


def flatten(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    axis = attr(node, "axis", 1) % max(len(x.dims), 1)
    if axis != 1:
        return imp.unsupported(node, index, f"flatten at axis {axis}; only axis 1")
    reshape_to(imp, node, index, x, (x.dims[0], int(np.prod(x.dims[1:]))))


def reshape(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    if len(node.input) > 1:
        target = [int(v) for v in imp.const_array(node, 1).reshape(-1)]
    else:  # opset 1-4: the target shape is an attribute
        target = [int(v) for v in attr(node, "shape", [])]
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


def squeeze(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    axes = _squeeze_axes(imp, node)
    rank = len(x.dims)
    drop = {a % rank for a in axes} if axes else {i for i in range(1, rank) if x.dims[i] == 1}
    if 0 in drop:
        return imp.unsupported(node, index, "it removes the batch dimension")
    reshape_to(imp, node, index, x, tuple(d for i, d in enumerate(x.dims) if i not in drop))


def unsqueeze(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    axes = _squeeze_axes(imp, node) or []
    rank = len(x.dims) + len(axes)
    dims = list(x.dims)
    for axis in sorted(a % rank for a in axes):
        dims.insert(axis, 1)
    if 0 in {a % rank for a in axes}:
        return imp.unsupported(node, index, "it inserts a dimension before the batch")
    reshape_to(imp, node, index, x, tuple(dims))


def transpose(imp: OnnxImporter, node: Any, index: int) -> None:
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
    return node.replace(output=(node.output[output],), attribute=(),
                        name=f"{node.name or node.op_type.lower()}_{output}")


def slice_channels(imp: OnnxImporter, node: Any, index: int) -> None:
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


def split_channels(imp: OnnxImporter, node: Any, index: int) -> None:
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


def pad(imp: OnnxImporter, node: Any, index: int) -> None:
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


def quantize(imp: OnnxImporter, node: Any, index: int) -> None:
    """Quantize/DequantizeLinear on an activation: a rename that records its quantization."""
    x = imp.tensor(node)
    merged = imp.merged_quant.get(index)
    quant = merged or imp.quant_of(node, 1) or x.quant
    if merged is not None and node.op_type == "QuantizeLinear" and _holds_other_codes(imp, x,
                                                                                      merged):
        x = _requantize(imp, node, index, x, merged)
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


def _holds_other_codes(imp: OnnxImporter, x: Tensor, quant: QuantParams) -> bool:
    """Whether `x` is already stored as codes of another quantization than `quant`."""
    recorded = imp.parts.quant.get(x.source)
    return recorded is not None and recorded != quant and x.source not in imp.parts.inherited_quant


def _requantize(imp: OnnxImporter, node: Any, index: int, x: Tensor, quant: QuantParams) -> Tensor:
    """A layer that requantizes `x` to the merged quantization of a double QDQ pair: what
    onnxruntime's remaining DequantizeLinear → (free op) → QuantizeLinear computes."""
    shape = imp.parts.shapes[x.source]
    op = Reshape(shape=(shape.channels, shape.height, shape.width))
    out = imp.add_layer(node, index, op, [x], quant=quant)
    return replace(out, dims=x.dims)


def dynamic_quantize(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.parts.dynamic_quantization = True
    imp.alias(node, imp.tensor(node))
    for output in node.output[1:]:
        imp.values[output] = Scalar()

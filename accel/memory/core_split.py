"""One layer cut into per-core pieces: what each core of a multi-core chip computes of it.

Two cuts of an array layer (conv, depthwise, fc):

- `channels`: each core computes a slice of the output channels (of a grouped or depthwise conv:
  a slice of the groups, with their input channels). Every core of a dense conv or an fc layer
  reads the whole ifmap; each reads only its own weights.
- `rows`: each core computes a band of output rows (a conv or pooling window), reading the input
  rows its band's windows cover (the halo rows are read by both neighbours) and every weight.

A piece is an ordinary `Layer` (same operator, fewer channels or rows, the padding of its band
made explicit), so the single-core stages map, time and tile it unchanged. `split_layer` returns
None when a layer cannot be cut that way (an fc layer has no rows; a layer with fewer channels or
rows than cores is cut into fewer pieces). Vector-unit layers are not cut here: their work is
elementwise and spreads evenly (`accel/memory/multicore.py` divides it).
"""

from __future__ import annotations

from typing import Literal

from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected, Op, Shape
from accel.model.pool_ops import AvgPool, MaxPool

Cut = Literal["channels", "rows"]
CUTS: tuple[Cut, ...] = ("channels", "rows")


def shares(total: int, parts: int) -> list[int]:
    """`total` in at most `parts` near-equal positive shares, the larger ones first."""
    parts = min(parts, total)
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def split_layer(layer: Layer, parts: int, cut: Cut) -> tuple[Layer, ...] | None:
    """`layer` cut into at most `parts` pieces by `cut`, or None when it cannot be cut so."""
    if parts < 2:
        return None
    pieces = _by_channels(layer, parts) if cut == "channels" else _by_rows(layer, parts)
    return pieces if pieces is not None and len(pieces) > 1 else None


def _by_channels(layer: Layer, parts: int) -> tuple[Layer, ...] | None:
    op, (shape,), out = layer.op, layer.input_shapes[:1], layer.output_shape
    if isinstance(op, FullyConnected) and len(layer.input_shapes) == 1:
        return tuple(
            _piece(layer, op.model_copy(update={"out_features": n}), (shape,),
                   Shape(n, out.height, out.width), i)
            for i, n in enumerate(shares(op.out_features, parts))
        )  # fmt: skip
    if not isinstance(op, Conv) or len(layer.input_shapes) != 1:
        return None
    if op.groups == 1:
        return tuple(
            _piece(layer, op.model_copy(update={"out_channels": n}), (shape,),
                   Shape(n, out.height, out.width), i)
            for i, n in enumerate(shares(op.out_channels, parts))
        )  # fmt: skip
    in_per_group, out_per_group = shape.channels // op.groups, op.out_channels // op.groups
    pieces = []
    for i, groups in enumerate(shares(op.groups, parts)):
        sub = op.model_copy(update={"groups": groups, "out_channels": groups * out_per_group})
        sub_input = Shape(groups * in_per_group, shape.height, shape.width)
        pieces.append(_piece(layer, sub, (sub_input,),
                             Shape(groups * out_per_group, out.height, out.width), i))  # fmt: skip
    return tuple(pieces)


def _by_rows(layer: Layer, parts: int) -> tuple[Layer, ...] | None:
    op = layer.op
    if not isinstance(op, Conv | MaxPool | AvgPool) or len(layer.input_shapes) != 1:
        return None
    (shape,), out = layer.input_shapes, layer.output_shape
    top, _, left, right = op.fitted_pads(shape.height, shape.width)
    reach = op.dilation[0] * (op.kernel[0] - 1) + 1  # input rows one window spans
    pieces, first = [], 0
    for i, rows in enumerate(shares(out.height, parts)):
        # The band's windows cover padded rows [first·s, (last)·s + reach), unpadded [a, b).
        a = first * op.stride[0] - top
        b = (first + rows - 1) * op.stride[0] + reach - top
        pads = (max(0, -a), max(0, b - shape.height), left, right)
        sub = op.model_copy(update={"padding": pads, "ceil_mode": False})
        sub_input = Shape(shape.channels, min(b, shape.height) - max(a, 0), shape.width)
        if sub_input.height <= 0:
            return None  # a band of padding only: leave the layer whole
        sub_output = Shape(out.channels, rows, out.width)
        if sub.output_shape((sub_input,)) != sub_output:
            return None
        pieces.append(_piece(layer, sub, (sub_input,), sub_output, i))
        first += rows
    return tuple(pieces)


def _piece(layer: Layer, op: Op, inputs: tuple[Shape, ...], output: Shape, index: int) -> Layer:
    return Layer(f"{layer.name}#{index}", op, layer.inputs, inputs, output)

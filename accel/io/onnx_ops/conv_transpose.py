"""ONNX ConvTranspose → a `conv_transpose` layer (float, or the QDQ form `quantize_static` emits).

ONNX stores the weights (C_in, C_out / groups, kh, kw); the layer keeps them as a conv's,
(C_out, C_in / groups, kh, kw), so the float weights, the 8-bit QDQ weights (quantized per
output channel along axis 1, as onnxruntime's quantizer does for ConvTranspose) and their
scales are rearranged once here. Padding follows the ONNX spec as onnxruntime 1.32 computes it
(checked in tests/test_conv_transpose.py): explicit `pads`; `auto_pad` SAME_UPPER / SAME_LOWER
make the output `in · stride` with the odd padding row at the end / at the start; an
`output_shape` sets the output size and the padding (the odd row at the start, or at the end
with SAME_UPPER). Only 2-D transposed convolutions are imported; an output_shape larger than
the full scatter is refused.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from accel.io.onnx_ops.array import _keep_float_weights
from accel.io.onnx_reader import OnnxImporter
from accel.io.onnx_values import Const, attr
from accel.io.onnx_weights import keep_qdq_weights
from accel.model.conv_transpose import ConvTranspose, transposed_output_size


def conv_transpose(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    weight, bias = imp.const(node, 1), imp.const(node, 2)
    assert weight is not None
    if len(weight.dims) != 4 or len(x.dims) != 4:
        raise imp.error(node, "must be a 2-D transposed convolution on an NCHW tensor")
    groups = int(attr(node, "group", 1))
    channels = imp.parts.shapes[x.source].channels
    if groups <= 0 or weight.dims[0] != channels or channels % groups:
        raise imp.error(node, f"weights of shape {weight.dims} with group {groups} must fit "
                        f"{channels} input channels")  # fmt: skip
    kernel = tuple(weight.dims[2:])
    if tuple(attr(node, "kernel_shape", kernel)) != kernel:
        raise imp.error(node, f"attribute kernel_shape {attr(node, 'kernel_shape', None)} must "
                        f"match the weights' {list(kernel)}")  # fmt: skip
    stride = tuple(attr(node, "strides", [1, 1]))
    dilation = tuple(attr(node, "dilations", [1, 1]))
    output_padding = tuple(attr(node, "output_padding", [0, 0]))
    source = imp.parts.shapes[x.source]
    pads = _pads(imp, node, (source.height, source.width), kernel, stride, dilation,
                 output_padding)  # fmt: skip
    op = ConvTranspose(out_channels=weight.dims[1] * groups, kernel=kernel, stride=stride,
                       padding=pads, output_padding=output_padding, dilation=dilation,
                       groups=groups, bias=bias is not None)  # fmt: skip
    out = imp.add_layer(node, index, op, [x])
    conv_weight = _as_conv_weight(imp, node, out.source, weight, groups)
    _keep_float_weights(imp, out.source, conv_weight, bias)
    keep_qdq_weights(imp, out.source, x, conv_weight, bias)


def _pads(imp: OnnxImporter, node: Any, sizes: tuple[int, int], kernel: tuple[int, ...],
          stride: tuple[int, ...], dilation: tuple[int, ...],
          output_padding: tuple[int, ...]) -> tuple[int, int, int, int]:  # fmt: skip
    """(top, bottom, left, right) from pads, auto_pad or output_shape (see module docstring)."""
    auto_pad = attr(node, "auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise imp.error(node, f"attribute auto_pad must be NOTSET, VALID, SAME_UPPER or "
                        f"SAME_LOWER, not {auto_pad!r}")  # fmt: skip
    shape = list(attr(node, "output_shape", []))
    if len(shape) not in (0, 2):
        raise imp.error(node, f"attribute output_shape must list the 2 spatial sizes, not {shape}")
    if not shape and auto_pad in ("NOTSET", "VALID"):
        pads = list(attr(node, "pads", [0, 0, 0, 0])) if auto_pad == "NOTSET" else [0] * 4
        if len(pads) != 4:
            raise imp.error(node, f"attribute pads must have 4 values, not {pads}")
        return (pads[0], pads[2], pads[1], pads[3])
    targets = shape if shape else [size * s for size, s in zip(sizes, stride, strict=True)]
    result: list[int] = []
    for axis in (0, 1):
        full = transposed_output_size(sizes[axis], kernel[axis], stride[axis], 0, 0,
                                      dilation[axis], output_padding[axis])  # fmt: skip
        total = full - int(targets[axis])
        if total < 0:
            raise imp.error(node, f"attribute output_shape {shape} must not exceed the full "
                            f"transposed-conv output {full} along axis {axis + 2}")  # fmt: skip
        small = total // 2
        # The odd row goes at the end with SAME_UPPER (and explicit output_shape + SAME_UPPER),
        # else at the start.
        head = small if auto_pad == "SAME_UPPER" else total - small
        result.extend((head, total - head))
    return (result[0], result[1], result[2], result[3])


def _as_conv_weight(imp: OnnxImporter, node: Any, name: str, weight: Const,
                    groups: int) -> Const:  # fmt: skip
    """The weights (C_in, C_out/g, kh, kw) as a conv's (C_out, C_in/g, kh, kw), with their
    QDQ integers, scales and zero points per output channel."""
    in_channels, per_group, kh, kw = weight.dims
    dims = (per_group * groups, in_channels // groups, kh, kw)
    array = None if weight.array is None else conv_layout(weight.array, groups)
    q = weight.quantized
    if q is None:
        return Const(array, dims)
    scale = np.asarray(q.scale).reshape(-1)
    zero = np.asarray(q.zero_point).reshape(-1)
    if scale.size > 1 and q.axis != 1:
        imp.parts.functional_gaps.append(
            f"node {name!r} (ConvTranspose weights quantized along axis {q.axis}, not the "
            "output channels)")  # fmt: skip
        return Const(array, dims)
    if scale.size > 1:  # one per output channel of a group, the same for every group
        scale, zero = np.tile(scale, groups), np.tile(zero, groups)
    values = conv_layout(q.values, groups)
    return Const(array, dims, replace(q, values=values, scale=scale, zero_point=zero, axis=0))


def conv_layout(w: np.ndarray, groups: int) -> np.ndarray:
    """ONNX ConvTranspose weights (C_in, C_out/g, kh, kw) in a conv's (C_out, C_in/g, kh, kw)."""
    in_channels, per_group, kh, kw = w.shape
    grouped = w.reshape(groups, in_channels // groups, per_group, kh, kw)
    reordered: np.ndarray = grouped.transpose(0, 2, 1, 3, 4).reshape(
        groups * per_group, in_channels // groups, kh, kw)
    return np.ascontiguousarray(reordered)


"""ONNX nodes of detection and segmentation heads: Resize / Upsample, DepthToSpace /
SpaceToDepth, PRelu, Tanh, HardSigmoid with any alpha and beta, and ReduceMean over any axes.

Every attribute combination accel cannot model exactly (cubic or antialiased resampling,
tf_crop_and_resize, a resize of the batch or channel axes, per-pixel PReLU slopes) is refused
with one line naming the node and the attribute (or kept as a zero-cost placeholder with
--allow-unsupported).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from accel.io.onnx_reader import OnnxImporter
from accel.io.onnx_values import Const, Tensor, attr
from accel.model.ops import Activation, Reshape
from accel.model.pool_ops import GlobalAvgPool
from accel.model.quantized import FloatWeights
from accel.model.resample_ops import (
    DepthToSpace,
    PRelu,
    ReduceMean,
    Resize,
    SpaceToDepth,
)

_COORDINATES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                "tf_half_pixel_for_nn")  # fmt: skip
_NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def resize(imp: OnnxImporter, node: Any, index: int) -> None:
    """Resize (opset 10: X, scales; 11+: X, roi, scales, sizes)."""
    x = imp.tensor(node)
    mode = attr(node, "mode", "nearest")
    coordinate = attr(node, "coordinate_transformation_mode", "half_pixel")
    nearest = attr(node, "nearest_mode", "round_prefer_floor")
    opset = _opset(imp)
    if opset < 11:  # Resize-10: asymmetric coordinates, nearest truncates
        coordinate, nearest = "asymmetric", "floor"
    problems = [
        (mode not in ("nearest", "linear"), f"mode={mode!r}; only nearest and linear"),
        (coordinate not in _COORDINATES, f"coordinate_transformation_mode={coordinate!r}; "
         f"only {', '.join(_COORDINATES)}"),
        (mode == "nearest" and nearest not in _NEAREST, f"nearest_mode={nearest!r}"),
        (attr(node, "antialias", 0) != 0, "antialias=1; only plain resampling"),
        (attr(node, "exclude_outside", 0) != 0, "exclude_outside=1"),
        (attr(node, "keep_aspect_ratio_policy", "stretch") != "stretch",
         f"keep_aspect_ratio_policy={attr(node, 'keep_aspect_ratio_policy', '')!r}; only "
         "stretch"),
        (len(x.dims) != 4, f"a rank-{len(x.dims)} input; only NCHW images"),
    ]
    for failed, reason in problems:
        if failed:
            return imp.unsupported(node, index, reason)
    axes = attr(node, "axes", None)
    if axes is not None and sorted(a % 4 for a in axes) != [2, 3]:
        return imp.unsupported(node, index, f"axes={list(axes)}; only height and width")
    scales_at, sizes_at = (1, None) if opset < 11 else (2, 3)
    scales = _optional(imp, node, scales_at)
    sizes = _optional(imp, node, sizes_at) if sizes_at is not None else None
    _resize_layer(imp, node, index, x, "bilinear" if mode == "linear" else "nearest",
                  scales, sizes, coordinate, nearest)


def upsample(imp: OnnxImporter, node: Any, index: int) -> None:
    """Upsample (opset 7: scales attribute; 9: scales input): asymmetric, nearest truncates."""
    x = imp.tensor(node)
    mode = attr(node, "mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear"):
        return imp.unsupported(node, index, f"mode={mode!r}; only nearest and linear")
    if len(x.dims) != 4:
        return imp.unsupported(node, index, f"a rank-{len(x.dims)} input; only NCHW images")
    scales = attr(node, "scales", None)
    scales_array = np.asarray(scales, np.float32) if scales is not None else _optional(imp, node, 1)
    _resize_layer(imp, node, index, x, "nearest" if mode == "nearest" else "bilinear",
                  scales_array, None, "asymmetric", "floor")


def _resize_layer(
    imp: OnnxImporter, node: Any, index: int, x: Tensor,
    mode: Literal["nearest", "bilinear"], scales: np.ndarray | None, sizes: np.ndarray | None,
    coordinate: Any, nearest: Any,
) -> None:
    geometry: dict[str, Any]
    if sizes is not None and sizes.size:
        sizes = sizes.reshape(-1).astype(np.int64)
        if sizes.size == 2:  # with axes = [2, 3]
            sizes = np.concatenate([np.asarray(x.dims[:2], np.int64), sizes])
        if sizes.size != 4 or (x.dims[1] and sizes[1] != x.dims[1]):
            return imp.unsupported(node, index, f"sizes={sizes.tolist()}; only height and "
                                   "width may change")  # fmt: skip
        geometry = {"size": (int(sizes[2]), int(sizes[3]))}
    elif scales is not None and scales.size:
        scales = scales.reshape(-1).astype(np.float32)
        if scales.size == 2:
            scales = np.concatenate([np.ones(2, np.float32), scales])
        if scales.size != 4 or scales[0] != 1 or scales[1] != 1:
            return imp.unsupported(node, index, f"scales={scales.tolist()}; only height and "
                                   "width may be scaled")  # fmt: skip
        geometry = {"scale": (float(scales[2]), float(scales[3]))}
    else:
        raise imp.error(node, "must give constant scales or sizes")
    op = Resize(mode=mode, coordinate_mode=coordinate, nearest_mode=nearest, **geometry)
    imp.add_layer(node, index, op, [x], quant=x.quant)


def _optional(imp: OnnxImporter, node: Any, at: int) -> np.ndarray | None:
    array = imp.optional_array(node, at)
    if at < len(node.input) and node.input[at] and array is None:
        raise imp.error(node, f"input {at} must be a constant with data in the file")
    return array


def _opset(imp: OnnxImporter) -> int:
    return next((o.version for o in imp.opsets if o.domain in ("", "ai.onnx")), 13)


def depth_to_space(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    order = attr(node, "mode", "DCR")
    if order not in ("DCR", "CRD"):
        return imp.unsupported(node, index, f"mode={order!r}; only DCR and CRD")
    op = DepthToSpace(block=attr(node, "blocksize", 0), order=order)
    imp.add_layer(node, index, op, [x], quant=x.quant)


def space_to_depth(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.tensor(node)
    imp.add_layer(node, index, SpaceToDepth(block=attr(node, "blocksize", 0)), [x], quant=x.quant)


def prelu(imp: OnnxImporter, node: Any, index: int) -> None:
    """PRelu with a constant slope per channel or one for all (MTCNN, Keras PReLU)."""
    x = imp.tensor(node)
    slope = imp.value(node.input[1], node) if len(node.input) > 1 else None
    if not isinstance(slope, Const):
        return imp.unsupported(node, index, "a slope that is not a constant")
    size = int(np.prod(slope.dims)) if slope.dims else 1
    channels = x.dims[1] if len(x.dims) > 1 else 1
    aligned = (1,) * (len(x.dims) - len(slope.dims)) + tuple(slope.dims)
    per_channel = len(aligned) == len(x.dims) and size == channels and all(
        d == 1 for axis, d in enumerate(aligned) if axis != 1)
    if size != 1 and not per_channel:
        return imp.unsupported(node, index, f"slope of dims {list(slope.dims)}; only one slope "
                               "per channel or one for all")  # fmt: skip
    out = imp.add_layer(node, index, PRelu(shared_slope=size == 1), [x])
    if slope.array is not None:
        slopes = np.asarray(slope.array, np.float32).reshape(-1)
        imp.parts.attributes.setdefault(out.source, {})["slopes"] = slopes
        imp.parts.float_weights[out.source] = FloatWeights(slopes, np.zeros(0, np.float32))


def hard_sigmoid(imp: OnnxImporter, node: Any, index: int) -> None:
    """HardSigmoid: h-sigmoid when alpha and beta are exactly float32(1/6) and 0.5, else the
    general max(0, min(1, alpha·x + beta)) (PaddlePaddle's alpha = 0.2)."""
    alpha, beta = float(attr(node, "alpha", 0.2)), float(attr(node, "beta", 0.5))
    if np.float32(alpha) == np.float32(1 / 6) and beta == 0.5:
        op = Activation(function="hsigmoid")
    else:
        op = Activation(function="hard_sigmoid", alpha=alpha, beta=beta)
    imp.add_layer(node, index, op, [imp.tensor(node)])


def reduce_mean(imp: OnnxImporter, node: Any, index: int) -> None:
    """ReduceMean over any of the channel, height and width axes (not the batch)."""
    x = imp.tensor(node)
    axes = attr(node, "axes", None)
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = imp.const_array(node, 1).reshape(-1).tolist()
    rank = len(x.dims)
    if rank != 4:
        return imp.unsupported(node, index, f"a rank-{rank} input; only NCHW tensors")
    if axes is None or not len(axes):
        if attr(node, "noop_with_empty_axes", 0):
            return imp.alias(node, x)
        axes = [0, 1, 2, 3]
    reduced = sorted({int(a) % rank for a in axes})
    if 0 in reduced:
        return imp.unsupported(node, index, f"axes={list(axes)}; the batch axis cannot be "
                               "reduced")  # fmt: skip
    keepdims = bool(attr(node, "keepdims", 1))
    if reduced == [2, 3]:
        imp.add_layer(node, index, GlobalAvgPool(), [x], rank=4 if keepdims else 2)
        return None
    out = imp.add_layer(node, index, ReduceMean(axes=tuple(a - 1 for a in reduced)), [x])
    if keepdims:
        return None
    kept = [size for axis, size in enumerate(x.dims) if axis not in reduced]
    dims = tuple(kept)
    shape = (*kept[1:], 1, 1)[:3]
    if tuple(shape) != (out.dims[1], out.dims[2], out.dims[3]):
        flat = imp.add_layer(node, index, Reshape(shape=tuple(shape)), [out], quant=out.quant)
        out = flat
    imp.values[node.output[0]] = Tensor(out.source, dims, out.quant, holds=out.holds)
    return None

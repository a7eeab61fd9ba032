"""TFLite operators of detection and segmentation models, and the shape arithmetic before a
RESHAPE.

RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR become `resize` layers (align_corners →
`align_corners`; half_pixel_centers → `half_pixel` for bilinear and `tf_half_pixel_for_nn` for
nearest), PRELU a `prelu` layer (its alpha tensor kept as slopes, and as codes when int8),
DEPTH_TO_SPACE / SPACE_TO_DEPTH the block moves (TFLite's order is ONNX's DCR), TANH an
activation and MEAN over axes other than height and width a `reduce_mean`.

Converters emit `SHAPE → STRIDED_SLICE → PACK → RESHAPE` to compute a reshape's target from an
activation's static shape. SHAPE of an activation is a constant (TFLite shapes are static), and
STRIDED_SLICE, PACK and CONCATENATION of constants are evaluated here, so nothing of that
arithmetic reaches the chip.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.io.tflite_ops import _mean, _options
from accel.io.tflite_reader import Activation, TfliteImporter, nhwc_shape
from accel.model.ops import Activation as ActivationOp
from accel.model.quantized import FloatWeights
from accel.model.resample_ops import DepthToSpace, PRelu, ReduceMean, Resize, SpaceToDepth

Converter = Any


def _resize(bilinear: bool) -> Converter:
    def convert(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
        name = "RESIZE_BILINEAR" if bilinear else "RESIZE_NEAREST_NEIGHBOR"
        x = imp.activation(inputs[0], name)
        options = _options(op, "ResizeBilinearOptions" if bilinear else
                           "ResizeNearestNeighborOptions")  # fmt: skip
        align, half = bool(options.AlignCorners()), bool(options.HalfPixelCenters())
        if align and half:
            imp.unsupported(op, name, "align_corners and half_pixel_centers both set")
            return
        dims = imp.dims(int(op.Outputs(0)))
        if len(x.dims) != 4 or len(dims) != 4:
            imp.unsupported(op, name, "only NHWC images")
            return
        if bilinear:
            coordinate, nearest = ("align_corners" if align else "half_pixel" if half
                                   else "asymmetric"), "floor"  # fmt: skip
        else:
            coordinate = "align_corners" if align else "tf_half_pixel_for_nn" if half else (
                "asymmetric")
            nearest = "round_prefer_ceil" if align else "floor"
        layer = Resize(mode="bilinear" if bilinear else "nearest", size=(dims[1], dims[2]),
                       coordinate_mode=coordinate, nearest_mode=nearest)
        imp.add_layer(op, layer, [x], quant=x.quant)

    return convert


def _prelu(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    x = imp.activation(inputs[0], "PRELU")
    alpha = imp.value(inputs[1])
    if isinstance(alpha, Activation):
        imp.unsupported(op, "PRELU", "an alpha that is not a constant")
        return
    alpha_dims = imp.dims(inputs[1])
    size = int(np.prod(alpha_dims)) if alpha_dims else 1
    channels = imp.parts.shapes[x.source].channels
    per_channel = size == channels and all(d == 1 for d in alpha_dims[:-1])
    if size != 1 and not per_channel:
        imp.unsupported(op, "PRELU", f"alpha of dims {list(alpha_dims)}; only one per channel "
                        "or one for all")  # fmt: skip
        return
    out = imp.add_layer(op, PRelu(shared_slope=size == 1), [x])
    if alpha is None:
        return
    slopes = imp.dequantized(inputs[1], alpha).reshape(-1).astype(np.float32)
    imp.parts.float_weights[out.source] = FloatWeights(slopes, np.zeros(0, np.float32))
    attributes = imp.parts.attributes.setdefault(out.source, {})
    attributes["slopes"] = slopes
    if alpha.dtype in (np.int8, np.uint8) and (quant := imp.quant(inputs[1])) is not None:
        attributes["slope_codes"] = alpha.reshape(-1).copy()
        attributes["slope_quant"] = quant


def _depth_to_space(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    x = imp.activation(inputs[0], "DEPTH_TO_SPACE")
    block = _options(op, "DepthToSpaceOptions").BlockSize()
    imp.add_layer(op, DepthToSpace(block=block), [x], quant=x.quant)


def _space_to_depth(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    x = imp.activation(inputs[0], "SPACE_TO_DEPTH")
    block = _options(op, "SpaceToDepthOptions").BlockSize()
    imp.add_layer(op, SpaceToDepth(block=block), [x], quant=x.quant)


def _tanh(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    imp.add_layer(op, ActivationOp(function="tanh"), [imp.activation(inputs[0], "TANH")])


_NHWC_TO_IR = {3: 0, 1: 1, 2: 2}


def _mean_any(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    """MEAN over height and width is a global average pool (TFLite's MEAN kernel); over other
    axes of an NHWC tensor a `reduce_mean`."""
    x = imp.activation(inputs[0], "MEAN")
    axes = imp.value(inputs[1])
    rank = len(x.dims)
    if rank != 4 or not isinstance(axes, np.ndarray):
        _mean(imp, op, inputs)  # refuses with its own reason
        return
    reduced = sorted({int(a) % rank for a in axes.reshape(-1)})
    if reduced == [1, 2] or 0 in reduced:
        _mean(imp, op, inputs)
        return
    layer = ReduceMean(axes=tuple(_NHWC_TO_IR[a] for a in reduced))
    shape = layer.output_shape((imp.parts.shapes[x.source],))
    if shape != nhwc_shape(imp.dims(int(op.Outputs(0)))):
        imp.unsupported(op, "MEAN", f"axes {reduced} without keep_dims; only keep_dims or a "
                        "mean over height and width")  # fmt: skip
        return
    out = imp.add_layer(op, layer, [x])
    imp.parts.attributes.setdefault(out.source, {})["tflite_mean"] = True


def _shape(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    """SHAPE of an activation: its static dims, a constant."""
    imp.activation(inputs[0], "SHAPE")
    imp.values[int(op.Outputs(0))] = np.asarray(imp.dims(inputs[0]), np.int32)


OPERATORS: dict[str, Converter] = {
    "RESIZE_BILINEAR": _resize(bilinear=True),
    "RESIZE_NEAREST_NEIGHBOR": _resize(bilinear=False),
    "PRELU": _prelu,
    "DEPTH_TO_SPACE": _depth_to_space,
    "SPACE_TO_DEPTH": _space_to_depth,
    "TANH": _tanh,
    "MEAN": _mean_any,
    "SHAPE": _shape,
}


def fold_constant(imp: TfliteImporter, op: Any, name: str, arrays: list[Any]) -> Any:
    """The value of STRIDED_SLICE, PACK or CONCATENATION of constants (shape arithmetic), or
    None when it is not one of those or an input is known by its dims only."""
    if any(a is None or not isinstance(a, np.ndarray) for a in arrays):
        return None
    if name == "PACK":
        return np.stack(arrays, axis=_options(op, "PackOptions").Axis())
    if name == "CONCATENATION":
        return np.concatenate(arrays, axis=_options(op, "ConcatenationOptions").Axis())
    if name == "STRIDED_SLICE" and len(arrays) == 4:
        return _strided_slice(_options(op, "StridedSliceOptions"), *arrays)
    return None


def _strided_slice(options: Any, x: np.ndarray, begin: np.ndarray, end: np.ndarray,
                   strides: np.ndarray) -> np.ndarray | None:
    if options.EllipsisMask() or options.NewAxisMask():
        return None
    index: list[int | slice] = []
    shrink = options.ShrinkAxisMask()
    for axis, (b, e, s) in enumerate(zip(begin.tolist(), end.tolist(), strides.tolist(),
                                         strict=True)):  # fmt: skip
        if shrink >> axis & 1:
            index.append(int(b))
            continue
        start = None if options.BeginMask() >> axis & 1 else int(b)
        stop = None if options.EndMask() >> axis & 1 else int(e)
        index.append(slice(start, stop, int(s)))
    return np.asarray(x[tuple(index)])


def _strided_slice_channels(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    """STRIDED_SLICE of an NHWC activation that keeps a range of channels whole planes (a
    channel split): `channel_slice`, an offset."""
    from accel.model.ops import ChannelSlice

    x = imp.activation(inputs[0], "STRIDED_SLICE")
    begin, end, strides = (imp.value(i) for i in inputs[1:4])
    options = _options(op, "StridedSliceOptions")
    arrays = [a for a in (begin, end, strides) if isinstance(a, np.ndarray)]
    dims = imp.dims(int(op.Outputs(0)))
    if len(arrays) != 3 or len(x.dims) != 4 or options.ShrinkAxisMask() or (
            options.EllipsisMask() or options.NewAxisMask()) or tuple(dims[:3]) != x.dims[:3] or (
            int(arrays[2][3]) != 1):  # fmt: skip
        imp.unsupported(op, "STRIDED_SLICE", "only a slice of channels with stride 1")
        return
    channels = x.dims[3]
    start = 0 if options.BeginMask() >> 3 & 1 else int(arrays[0][3]) % (channels + 1)
    stop = start + dims[3]
    imp.add_layer(op, ChannelSlice(start=start, end=stop), [x], quant=x.quant)


OPERATORS["STRIDED_SLICE"] = _strided_slice_channels

"""The detection/segmentation layers of a quantized network as TFLite operators: RESIZE_BILINEAR
and RESIZE_NEAREST_NEIGHBOR (an int32 size input; TFLite's align_corners / half_pixel_centers
flags from the resize's coordinate mode), PRELU (its int8 slopes as the alpha input, shaped
[1, 1, C] as converters write it), DEPTH_TO_SPACE, SPACE_TO_DEPTH and MEAN (a reduce_mean,
keep_dims, over the NHWC axes of its reduced axes).

TFLite's DEPTH_TO_SPACE has only the DCR order; a CRD one (PixelShuffle) is a GATHER that puts
its channels in DCR order first, a copy of codes like the move itself. A block move between
two quantizations is followed by a QUANTIZE, as the engine's tflite mode runs it. What TFLite
cannot express (a resize in another coordinate mode, a prelu without int8 slopes) gives False.
"""

from __future__ import annotations

import numpy as np

from accel.io.tflite_export_ops import LayerBuilder
from accel.io.tflite_flatbuffer import schema
from accel.model.network import Layer
from accel.model.resample_ops import DepthToSpace, PRelu, ReduceMean, Resize, SpaceToDepth

# coordinate mode → (align_corners, half_pixel_centers), per TFLite resize operator
_NEAREST_FLAGS = {"asymmetric": (False, False), "align_corners": (True, False),
                  "tf_half_pixel_for_nn": (False, True)}  # fmt: skip
_BILINEAR_FLAGS = {"asymmetric": (False, False), "align_corners": (True, False),
                   "half_pixel": (False, True)}  # fmt: skip


def resample_layer(m: LayerBuilder, layer: Layer, x: int, y: int) -> bool:
    """Append `layer` (a resize, prelu or block move) reading tensor x into y; False if TFLite
    has no form of it."""
    op = layer.op
    if isinstance(op, Resize):
        return _resize(m, layer, op, x, y)
    if isinstance(op, PRelu):
        return _prelu(m, layer, x, y)
    if isinstance(op, DepthToSpace | SpaceToDepth):
        _block_move(m, layer, op, x, y)
        return True
    if isinstance(op, ReduceMean):
        _mean(m, layer, op, x, y)
        return True
    return False


def _mean(m: LayerBuilder, layer: Layer, op: ReduceMean, x: int, y: int) -> None:
    """MEAN with keep_dims over the NHWC axes of the reduced channels (3), height (1), width
    (2)."""
    axes = sorted({0: 3, 1: 1, 2: 2}[axis] for axis in op.axes)
    tensor = m.b.tensor(f"{layer.name}.axes", (len(axes),), "int32",
                        data=np.array(axes, np.int32))  # fmt: skip
    options = schema().ReducerOptionsT()
    options.keepDims = True
    m.b.operator("MEAN", [x, tensor], [y], options)


def _resize(m: LayerBuilder, layer: Layer, op: Resize, x: int, y: int) -> bool:
    bilinear = op.mode == "bilinear"
    flags = (_BILINEAR_FLAGS if bilinear else _NEAREST_FLAGS).get(op.coordinate_mode)
    if flags is None:
        return False
    out = layer.output_shape
    size = m.b.tensor(f"{layer.name}.size", (2,), "int32",
                      data=np.array([out.height, out.width], np.int32))  # fmt: skip
    sc = schema()
    options = sc.ResizeBilinearOptionsT() if bilinear else sc.ResizeNearestNeighborOptionsT()
    options.alignCorners, options.halfPixelCenters = flags
    code = "RESIZE_BILINEAR" if bilinear else "RESIZE_NEAREST_NEIGHBOR"
    m.b.operator(code, [x, size], [y], options)
    return True


def _prelu(m: LayerBuilder, layer: Layer, x: int, y: int) -> bool:
    attributes = m.qnet.attributes.get(layer.name, {})
    codes, quant = attributes.get("slope_codes"), attributes.get("slope_quant")
    if codes is None or quant is None or quant.dtype != "int8":
        return False
    slopes = np.asarray(codes, np.int8).reshape(1, 1, -1)
    alpha = m.b.tensor(f"{layer.name}.alpha", slopes.shape, "int8", quant.scale,
                       quant.zero_point, data=slopes)  # fmt: skip
    m.b.operator("PRELU", [x, alpha], [y])
    return True


def _block_move(m: LayerBuilder, layer: Layer, op: DepthToSpace | SpaceToDepth, x: int,
                y: int) -> None:  # fmt: skip
    out = layer.output_shape
    x_params, y_params = m.qnet.activations[layer.inputs[0]], m.qnet.activations[layer.name]
    if isinstance(op, DepthToSpace) and op.order == "CRD":
        x = _crd_as_dcr(m, layer, op.block, x)
    moved = y
    if x_params != y_params:  # the move keeps the codes; a QUANTIZE requantizes them
        moved = m.activation(f"{layer.name}.moved", (m.batch, out.height, out.width,
                                                     out.channels), x_params)  # fmt: skip
    if isinstance(op, DepthToSpace):
        options = schema().DepthToSpaceOptionsT()
        options.blockSize = op.block
        m.b.operator("DEPTH_TO_SPACE", [x], [moved], options)
    else:
        space = schema().SpaceToDepthOptionsT()
        space.blockSize = op.block
        m.b.operator("SPACE_TO_DEPTH", [x], [moved], space)
    if moved != y:
        m.b.operator("QUANTIZE", [moved], [y])


def _crd_as_dcr(m: LayerBuilder, layer: Layer, block: int, x: int) -> int:
    """GATHER of the channels into DCR order: DCR channel (i·b + j)·C' + c is CRD channel
    c·b² + i·b + j."""
    s = layer.input_shapes[0]
    area = block * block
    out_channels = s.channels // area
    order = np.array([c * area + k for k in range(area) for c in range(out_channels)], np.int32)
    indices = m.b.tensor(f"{layer.name}.dcr_order", order.shape, "int32", data=order)
    gathered = m.activation(f"{layer.name}.dcr", (m.batch, s.height, s.width, s.channels),
                            m.qnet.activations[layer.inputs[0]])  # fmt: skip
    options = schema().GatherOptionsT()
    options.axis = 3
    m.b.operator("GATHER", [x, indices], [gathered], options)
    return gathered

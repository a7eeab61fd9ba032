"""Small int8 TFLite models written with LiteRT's flatbuffer schema (no TensorFlow needed).

`int8_cnn` mirrors what TFLite's converter emits for full-integer quantization: per-channel conv
and depthwise weights with int32 biases at x_s·w_s[o], a fused ReLU6/ReLU, a residual ADD,
AVERAGE_POOL_2D and MAX_POOL_2D keeping their input's quantization, RESHAPE and a per-tensor
FULLY_CONNECTED; optionally a float input behind QUANTIZE and a DEQUANTIZE output.
`transpose_conv_bias` writes mediapipe's custom Convolution2DTransposeBias as its selfie
segmentation model has it (float16 weights behind DEQUANTIZE, options as raw struct bytes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


def _schema() -> Any:
    return pytest.importorskip("ai_edge_litert.schema_py_generated")


def _tensor(shape: list[int], buffer: int, name: str, type_: int,
            scale: list[float] | None = None, zero: list[int] | None = None,
            axis: int = 0) -> Any:
    tensor = _schema().TensorT()
    tensor.shape, tensor.buffer, tensor.name, tensor.type = shape, buffer, name, type_
    if scale is not None:
        tensor.quantization = _schema().QuantizationParametersT()
        tensor.quantization.scale = scale
        tensor.quantization.zeroPoint = zero if zero is not None else [0] * len(scale)
        tensor.quantization.quantizedDimension = axis
    return tensor


class TfliteBuilder:
    """Tensors, buffers and operators of one subgraph, then a serialized TFL3 model."""

    def __init__(self) -> None:
        self.tensors: list[Any] = []
        self.buffers: list[bytes] = []
        self.ops: list[tuple[int, list[int], list[int], Any, int]] = []
        self.custom: dict[int, tuple[str, bytes]] = {}  # op position → (custom code, options)

    def activation(self, shape: list[int], name: str, scale: float, zero: int,
                   type_: int = 9) -> int:
        self.tensors.append(_tensor(shape, 0, name, type_, [scale], [zero]))
        return len(self.tensors) - 1

    def float_tensor(self, shape: list[int], name: str) -> int:
        self.tensors.append(_tensor(shape, 0, name, 0))
        return len(self.tensors) - 1

    def constant(self, array: np.ndarray, name: str, type_: int, scale: list[float],
                 axis: int = 0) -> int:
        self.buffers.append(np.ascontiguousarray(array).tobytes())
        self.tensors.append(_tensor(list(array.shape), len(self.buffers), name, type_, scale,
                                    axis=axis))
        return len(self.tensors) - 1

    def op(self, code: int, inputs: list[int], outputs: list[int], options: Any = None,
           options_type: int = 0) -> None:
        self.ops.append((code, inputs, outputs, options, options_type))

    def custom_op(self, custom_code: str, inputs: list[int], outputs: list[int],
                  options: bytes) -> None:
        """A CUSTOM operator with its custom code and raw custom options."""
        self.custom[len(self.ops)] = (custom_code, options)
        self.op(_schema().BuiltinOperator.CUSTOM, inputs, outputs)

    def build(self, inputs: list[int], outputs: list[int]) -> bytes:
        import flatbuffers

        schema = _schema()
        model = schema.ModelT()
        model.version = 3
        keys = [(code, self.custom.get(i, ("", b""))[0])
                for i, (code, *_) in enumerate(self.ops)]  # fmt: skip
        codes = sorted(set(keys))
        model.operatorCodes = []
        for code, custom_code in codes:
            entry = schema.OperatorCodeT()
            entry.builtinCode, entry.deprecatedBuiltinCode = code, min(code, 127)
            entry.customCode = custom_code or None
            model.operatorCodes.append(entry)
        model.buffers = []
        for data in [b"", *self.buffers]:
            buffer = schema.BufferT()
            buffer.data = list(data) if data else None
            model.buffers.append(buffer)
        graph = schema.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs = self.tensors, inputs, outputs
        graph.operators = []
        for position, (_, op_inputs, op_outputs, options, options_type) in enumerate(self.ops):
            op = schema.OperatorT()
            op.opcodeIndex, op.inputs, op.outputs = codes.index(keys[position]), op_inputs, op_outputs
            op.builtinOptionsType, op.builtinOptions = options_type, options
            if position in self.custom:
                op.customOptions = list(self.custom[position][1])
            graph.operators.append(op)
        model.subgraphs = [graph]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _conv_options(depthwise: bool, stride: int, activation: int) -> tuple[Any, int]:
    schema = _schema()
    options = schema.DepthwiseConv2DOptionsT() if depthwise else schema.Conv2DOptionsT()
    options.padding, options.strideH, options.strideW = 0, stride, stride  # SAME
    options.dilationHFactor = options.dilationWFactor = 1
    options.fusedActivationFunction = activation
    if depthwise:
        options.depthMultiplier = 1
        return options, schema.BuiltinOptions.DepthwiseConv2DOptions
    return options, schema.BuiltinOptions.Conv2DOptions


def _pool_options(size: int) -> Any:
    options = _schema().Pool2DOptionsT()
    options.padding, options.strideH, options.strideW = 1, size, size  # VALID
    options.filterHeight = options.filterWidth = size
    return options


def int8_cnn(seed: int = 0, float_io: bool = False) -> bytes:
    """8x8x3 → conv 3x3/2 ReLU6 (8) → depthwise 3x3 ReLU → add → avgpool 2 → maxpool 2x2/1...

    ... → reshape → fc 5 (per-tensor). Weights, scales and zero points are seeded."""
    schema = _schema()
    ops, options = schema.BuiltinOperator, schema.BuiltinOptions
    rng = np.random.default_rng(seed)
    g = TfliteBuilder()
    x_s, x_zp = 0.02 + 0.01 * rng.random(), int(rng.integers(-20, 20))
    a_s, a_zp = 6 / 255, -128  # relu6 output range
    if float_io:
        image = g.float_tensor([1, 8, 8, 3], "image")
        x = g.activation([1, 8, 8, 3], "image_int8", x_s, x_zp)
        g.op(ops.QUANTIZE, [image], [x])
    else:
        image = x = g.activation([1, 8, 8, 3], "image", x_s, x_zp)
    w_s = list(0.004 + 0.004 * rng.random(8))
    conv_w = g.constant(rng.integers(-127, 128, (8, 3, 3, 3)).astype(np.int8), "conv_w", 9, w_s)
    conv_b = g.constant(rng.integers(-2000, 2000, 8).astype(np.int32), "conv_b", 2,
                        [x_s * s for s in w_s])
    conv = g.activation([1, 4, 4, 8], "conv", a_s, a_zp)
    g.op(ops.CONV_2D, [x, conv_w, conv_b], [conv], *_conv_options(False, 2, 3))
    d_s = list(0.01 + 0.01 * rng.random(8))
    dw_w = g.constant(rng.integers(-127, 128, (1, 3, 3, 8)).astype(np.int8), "dw_w", 9, d_s,
                      axis=3)
    dw_b = g.constant(rng.integers(-500, 500, 8).astype(np.int32), "dw_b", 2,
                      [a_s * s for s in d_s])
    dw = g.activation([1, 4, 4, 8], "depthwise", 0.03, -128)
    g.op(ops.DEPTHWISE_CONV_2D, [conv, dw_w, dw_b], [dw], *_conv_options(True, 1, 1))
    total = g.activation([1, 4, 4, 8], "sum", 0.05, -100)
    g.op(ops.ADD, [conv, dw], [total], schema.AddOptionsT(), options.AddOptions)
    pooled = g.activation([1, 2, 2, 8], "avgpool", 0.05, -100)
    g.op(ops.AVERAGE_POOL_2D, [total], [pooled], _pool_options(2), options.Pool2DOptions)
    maxed = g.activation([1, 1, 1, 8], "maxpool", 0.05, -100)
    g.op(ops.MAX_POOL_2D, [pooled], [maxed], _pool_options(2), options.Pool2DOptions)
    shape = g.constant(np.array([1, 8], np.int32), "shape", 2, [1.0])
    flat = g.activation([1, 8], "flat", 0.05, -100)
    reshape = schema.ReshapeOptionsT()
    reshape.newShape = [1, 8]
    g.op(ops.RESHAPE, [maxed, shape], [flat], reshape, options.ReshapeOptions)
    fc_s = 0.01
    fc_w = g.constant(rng.integers(-127, 128, (5, 8)).astype(np.int8), "fc_w", 9, [fc_s])
    fc_b = g.constant(rng.integers(-1000, 1000, 5).astype(np.int32), "fc_b", 2, [0.05 * fc_s])
    logits = g.activation([1, 5], "logits", 0.1, 3)
    g.op(ops.FULLY_CONNECTED, [flat, fc_w, fc_b], [logits], schema.FullyConnectedOptionsT(),
         options.FullyConnectedOptions)
    output = logits
    if float_io:
        output = g.float_tensor([1, 5], "logits_float")
        g.op(ops.DEQUANTIZE, [logits], [output])
    return g.build([image], [output])


def int8_activations(seed: int = 0) -> bytes:
    """8x8x4 → HARD_SWISH → LOGISTIC; QUANTIZE (requantize) of the logistic, CONCATENATION with
    the h-swish → MEAN over H, W (own quantization, no keep_dims) → LEAKY_RELU (0.2) → SOFTMAX
    (beta 0.7): the
    integer kernels tflite mode added, as a converter lays them out."""
    schema = _schema()
    ops, options = schema.BuiltinOperator, schema.BuiltinOptions
    rng = np.random.default_rng(seed)
    g = TfliteBuilder()
    x = g.activation([1, 8, 8, 4], "image", 0.02 + 0.04 * rng.random(), int(rng.integers(-30, 30)))
    swish_s, swish_zp = 0.02 + 0.02 * rng.random(), int(rng.integers(-110, -90))
    swish = g.activation([1, 8, 8, 4], "hswish", swish_s, swish_zp)
    g.op(ops.HARD_SWISH, [x], [swish])
    gate = g.activation([1, 8, 8, 4], "sigmoid", 1 / 256, -128)
    g.op(ops.LOGISTIC, [swish], [gate])
    requantized = g.activation([1, 8, 8, 4], "sigmoid_requantized", swish_s, swish_zp)
    g.op(ops.QUANTIZE, [gate], [requantized])
    joined = g.activation([1, 8, 8, 8], "concat", swish_s, swish_zp)
    concat = schema.ConcatenationOptionsT()
    concat.axis = 3
    g.op(ops.CONCATENATION, [swish, requantized], [joined], concat, options.ConcatenationOptions)
    axes = g.constant(np.array([1, 2], np.int32), "axes", 2, [1.0])
    mean = g.activation([1, 8], "mean", 0.01 + 0.01 * rng.random(), int(rng.integers(-50, 50)))
    reducer = schema.ReducerOptionsT()
    reducer.keepDims = False
    g.op(ops.MEAN, [joined, axes], [mean], reducer, options.ReducerOptions)
    leaky = g.activation([1, 8], "leaky_relu", 0.01 + 0.01 * rng.random(), int(rng.integers(-9, 9)))
    slope = schema.LeakyReluOptionsT()
    slope.alpha = 0.2
    g.op(ops.LEAKY_RELU, [mean], [leaky], slope, options.LeakyReluOptions)
    probabilities = g.activation([1, 8], "softmax", 1 / 256, -128)
    softmax = schema.SoftmaxOptionsT()
    softmax.beta = 0.7
    g.op(ops.SOFTMAX, [leaky], [probabilities], softmax, options.SoftmaxOptions)
    return g.build([x], [probabilities])


def int8_dense(seed: int = 0) -> bytes:
    """A rank-2 model as an autoencoder's converter output has it: [1, 16] → FULLY_CONNECTED 8
    (ReLU) → FULLY_CONNECTED 16, int8 throughout."""
    schema = _schema()
    ops, options = schema.BuiltinOperator, schema.BuiltinOptions
    rng = np.random.default_rng(seed)
    g = TfliteBuilder()
    x_s = 0.02 + 0.01 * rng.random()
    x = g.activation([1, 16], "features", x_s, int(rng.integers(-20, 20)))
    source, scale = x, x_s
    for index, (size, activation) in enumerate([(8, 1), (16, 0)]):
        w_s = 0.005 + 0.005 * rng.random()
        inputs = 16 if index == 0 else 8
        w = g.constant(rng.integers(-127, 128, (size, inputs)).astype(np.int8), f"w{index}", 9,
                       [w_s])  # fmt: skip
        b = g.constant(rng.integers(-500, 500, size).astype(np.int32), f"b{index}", 2,
                       [scale * w_s])  # fmt: skip
        out_s = 0.03 + 0.01 * rng.random()
        out = g.activation([1, size], f"dense{index}", out_s, -128 if activation else 5)
        fc = schema.FullyConnectedOptionsT()
        fc.fusedActivationFunction = activation
        g.op(ops.FULLY_CONNECTED, [source, w, b], [out], fc, options.FullyConnectedOptions)
        source, scale = out, out_s
    return g.build([x], [source])


def dynamic_reshape(seed: int = 0) -> bytes:
    """A converter's dynamic flatten: SHAPE of the input → STRIDED_SLICE of the batch (rank 0,
    shrink_axis_mask) → PACK with a rank-0 -1 → RESHAPE → FULLY_CONNECTED."""
    schema = _schema()
    ops, options = schema.BuiltinOperator, schema.BuiltinOptions
    rng = np.random.default_rng(seed)
    g = TfliteBuilder()
    x = g.activation([1, 2, 2, 4], "image", 0.05, 3)
    shape = g.float_tensor([4], "shape")
    g.tensors[shape].type = 2  # int32
    g.op(ops.SHAPE, [x], [shape], schema.ShapeOptionsT(), options.ShapeOptions)
    begin = g.constant(np.array([0], np.int32), "begin", 2, [1.0])
    end = g.constant(np.array([1], np.int32), "end", 2, [1.0])
    strides = g.constant(np.array([1], np.int32), "strides", 2, [1.0])
    batch = g.float_tensor([], "batch")
    g.tensors[batch].type = 2
    slicing = schema.StridedSliceOptionsT()
    slicing.shrinkAxisMask = 1
    g.op(ops.STRIDED_SLICE, [shape, begin, end, strides], [batch], slicing,
         options.StridedSliceOptions)  # fmt: skip
    minus_one = g.constant(np.array(-1, np.int32), "minus_one", 2, [1.0])
    packed = g.float_tensor([2], "new_shape")
    g.tensors[packed].type = 2
    pack = schema.PackOptionsT()
    pack.valuesCount, pack.axis = 2, 0
    g.op(ops.PACK, [batch, minus_one], [packed], pack, options.PackOptions)
    flat = g.activation([1, 16], "flat", 0.05, 3)
    g.op(ops.RESHAPE, [x, packed], [flat], schema.ReshapeOptionsT(), options.ReshapeOptions)
    w = g.constant(rng.integers(-127, 128, (4, 16)).astype(np.int8), "w", 9, [0.01])
    b = g.constant(rng.integers(-99, 99, 4).astype(np.int32), "b", 2, [0.0005])
    logits = g.activation([1, 4], "logits", 0.1, 0)
    g.op(ops.FULLY_CONNECTED, [flat, w, b], [logits], schema.FullyConnectedOptionsT(),
         options.FullyConnectedOptions)
    return g.build([x], [logits])


def int8_unary(kind: str, shape: list[int], x_quant: tuple[float, int],
               y_quant: tuple[float, int] | None = None, seed: int = 0, **options: Any) -> bytes:
    """One int8 operator on an NHWC input (for the detection/segmentation ops): `kind` is
    RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR (options size, align_corners,
    half_pixel_centers), PRELU (options per_channel; alpha int8 with a seeded scale),
    DEPTH_TO_SPACE / SPACE_TO_DEPTH (option block), TANH or MEAN (option axes, keep_dims)."""
    schema = _schema()
    ops, kinds = schema.BuiltinOperator, schema.BuiltinOptions
    rng = np.random.default_rng(seed)
    g = TfliteBuilder()
    x = g.activation(shape, "x", *x_quant)
    n, h, w, c = shape
    y_quant = y_quant or x_quant
    inputs = [x]
    if kind.startswith("RESIZE"):
        size = options.get("size", (2 * h, 2 * w))
        out_shape = [n, *size, c]
        inputs.append(g.constant(np.array(size, np.int32), "size", 2, [1.0]))
        bilinear = kind == "RESIZE_BILINEAR"
        opts = schema.ResizeBilinearOptionsT() if bilinear else (
            schema.ResizeNearestNeighborOptionsT())
        opts.alignCorners = options.get("align_corners", False)
        opts.halfPixelCenters = options.get("half_pixel_centers", False)
        op_args = (opts, kinds.ResizeBilinearOptions if bilinear else
                   kinds.ResizeNearestNeighborOptions)  # fmt: skip
    elif kind == "PRELU":
        count = c if options.get("per_channel", True) else 1
        alpha = rng.integers(-100, 128, [1, 1, count]).astype(np.int8)
        inputs.append(g.constant(alpha, "alpha", 9, [float(0.002 + 0.01 * rng.random())]))
        out_shape, op_args = shape, (None, 0)
    elif kind in ("DEPTH_TO_SPACE", "SPACE_TO_DEPTH"):
        b = options["block"]
        if kind == "DEPTH_TO_SPACE":
            out_shape = [n, h * b, w * b, c // (b * b)]
            opts = schema.DepthToSpaceOptionsT()
            op_args = (opts, kinds.DepthToSpaceOptions)
        else:
            out_shape = [n, h // b, w // b, c * b * b]
            opts = schema.SpaceToDepthOptionsT()
            op_args = (opts, kinds.SpaceToDepthOptions)
        opts.blockSize = b
    elif kind == "TANH":
        out_shape, op_args = shape, (None, 0)
    elif kind == "MEAN":
        axes = list(options["axes"])
        inputs.append(g.constant(np.array(axes, np.int32), "axes", 2, [1.0]))
        keep = options.get("keep_dims", True)
        out_shape = [1 if (axis in axes and keep) else d for axis, d in enumerate(shape)
                     if keep or axis not in axes]  # fmt: skip
        opts = schema.ReducerOptionsT()
        opts.keepDims = keep
        op_args = (opts, kinds.ReducerOptions)
    else:
        raise ValueError(kind)
    y = g.activation(out_shape, "y", *y_quant)
    g.op(getattr(ops, kind), inputs, [y], *op_args)
    return g.build([x], [y])


def int8_heads(seed: int = 0, bilinear_flag: str = "align_corners",
               nearest_flag: str = "half_pixel_centers") -> bytes:
    """The detection/segmentation operators as a converter lays them out, int8 throughout:
    8x8x3 → conv 3x3 (16, per channel) → PRELU (per-channel alpha) → RESIZE_NEAREST_NEIGHBOR
    ×2 → DEPTH_TO_SPACE 2 → TANH (1/128, 0) → SPACE_TO_DEPTH 2 → RESIZE_BILINEAR to 12x12 →
    conv 1x1 (4). Each resize and move keeps its input's quantization; `*_flag` is the
    resize's align_corners / half_pixel_centers / none."""
    schema = _schema()
    ops, options = schema.BuiltinOperator, schema.BuiltinOptions
    rng = np.random.default_rng(seed)
    g = TfliteBuilder()
    x_s, x_zp = 0.02 + 0.01 * rng.random(), int(rng.integers(-20, 20))
    x = g.activation([1, 8, 8, 3], "image", x_s, x_zp)
    w_s = list(0.004 + 0.004 * rng.random(16))
    conv_w = g.constant(rng.integers(-127, 128, (16, 3, 3, 3)).astype(np.int8), "conv_w", 9, w_s)
    conv_b = g.constant(rng.integers(-2000, 2000, 16).astype(np.int32), "conv_b", 2,
                        [x_s * s for s in w_s])  # fmt: skip
    c_s, c_zp = 0.03 + 0.02 * rng.random(), int(rng.integers(-10, 10))
    conv = g.activation([1, 8, 8, 16], "conv", c_s, c_zp)
    g.op(ops.CONV_2D, [x, conv_w, conv_b], [conv], *_conv_options(False, 1, 0))
    alpha = g.constant(rng.integers(10, 90, (1, 1, 16)).astype(np.int8), "alpha", 9,
                       [float(0.002 + 0.002 * rng.random())])  # fmt: skip
    p_s, p_zp = 0.02 + 0.01 * rng.random(), int(rng.integers(-60, -20))
    prelu = g.activation([1, 8, 8, 16], "prelu", p_s, p_zp)
    g.op(ops.PRELU, [conv, alpha], [prelu])

    def resize(kind: str, x: int, size: list[int], channels: int, flag: str, name: str) -> int:
        bilinear = kind == "RESIZE_BILINEAR"
        opts = schema.ResizeBilinearOptionsT() if bilinear else (
            schema.ResizeNearestNeighborOptionsT())  # fmt: skip
        opts.alignCorners = flag == "align_corners"
        opts.halfPixelCenters = flag == "half_pixel_centers"
        tensor = g.tensors[x]
        scale, zero = tensor.quantization.scale[0], tensor.quantization.zeroPoint[0]
        y = g.activation([1, *size, channels], name, scale, zero)
        sizes = g.constant(np.array(size, np.int32), f"{name}_size", 2, [1.0])
        g.op(getattr(ops, kind), [x, sizes], [y], opts,
             options.ResizeBilinearOptions if bilinear else options.ResizeNearestNeighborOptions)
        return y

    up = resize("RESIZE_NEAREST_NEIGHBOR", prelu, [16, 16], 16, nearest_flag, "nearest")
    d2s_opts = schema.DepthToSpaceOptionsT()
    d2s_opts.blockSize = 2
    d2s = g.activation([1, 32, 32, 4], "d2s", p_s, p_zp)
    g.op(ops.DEPTH_TO_SPACE, [up], [d2s], d2s_opts, options.DepthToSpaceOptions)
    tanh = g.activation([1, 32, 32, 4], "tanh", 1 / 128, 0)
    g.op(ops.TANH, [d2s], [tanh])
    s2d_opts = schema.SpaceToDepthOptionsT()
    s2d_opts.blockSize = 2
    s2d = g.activation([1, 16, 16, 16], "s2d", 1 / 128, 0)
    g.op(ops.SPACE_TO_DEPTH, [tanh], [s2d], s2d_opts, options.SpaceToDepthOptions)
    down = resize("RESIZE_BILINEAR", s2d, [12, 12], 16, bilinear_flag, "bilinear")
    h_s = list(0.004 + 0.004 * rng.random(4))
    head_w = g.constant(rng.integers(-127, 128, (4, 1, 1, 16)).astype(np.int8), "head_w", 9, h_s)
    head_b = g.constant(rng.integers(-500, 500, 4).astype(np.int32), "head_b", 2,
                        [s / 128 for s in h_s])  # fmt: skip
    head = g.activation([1, 12, 12, 4], "head", 0.02, 3)
    g.op(ops.CONV_2D, [down, head_w, head_b], [head], *_conv_options(False, 1, 0))
    return g.build([x], [head])


def transpose_conv_bias(in_hw: tuple[int, int], channels: int, out_channels: int, kernel: int,
                        stride: int, padding: int, out_hw: tuple[int, int],
                        seed: int = 0, options: bytes | None = None) -> bytes:
    """A float model: [1, H, W, C] → mediapipe's Convolution2DTransposeBias (OHWI float16
    weights and a float16 bias, each behind DEQUANTIZE) → [1, out_h, out_w, out_channels].
    `options` default to the struct bytes of (padding, stride, stride); `out_hw` is written as
    the output tensor's shape (mediapipe's converter writes the kernel's size)."""
    ops = _schema().BuiltinOperator
    rng = np.random.default_rng(seed)
    g = TfliteBuilder()
    x = g.float_tensor([1, *in_hw, channels], "x")
    weight16 = rng.normal(size=(out_channels, kernel, kernel, channels)).astype(np.float16)
    bias16 = rng.normal(size=out_channels).astype(np.float16)
    weight = g.float_tensor(list(weight16.shape), "weights")
    bias = g.float_tensor([out_channels], "bias")
    for array, target, name in ((weight16, weight, "weights_fp16"), (bias16, bias, "bias_fp16")):
        g.buffers.append(array.tobytes())
        g.tensors.append(_tensor(list(array.shape), len(g.buffers), name, 1))
        g.op(ops.DEQUANTIZE, [len(g.tensors) - 1], [target])
    y = g.float_tensor([1, *out_hw, out_channels], "segment")
    if options is None:
        options = np.array([padding, stride, stride], "<i4").tobytes()
    g.custom_op("Convolution2DTransposeBias", [x, weight, bias], [y], options)
    return g.build([x], [y])

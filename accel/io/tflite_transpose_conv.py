"""TFLite's transposed convolutions as `conv_transpose` layers: the builtin TRANSPOSE_CONV and
mediapipe's custom Convolution2DTransposeBias (selfie segmentation).

A transposed convolution scatters each input pixel through the kernel onto a `stride`-spaced
output grid. Neither TFLite form stores its padding: TRANSPOSE_CONV gives the output size (an
input tensor) and SAME / VALID, mediapipe's op a C struct of padding and strides, and each
kernel derives the rows it crops at the top and left from them; the converters here redo that
arithmetic so the layer's `padding` and `output_padding` are what the kernel computes. The
weights are OHWI in the file, transposed to accel's (out, in, kh, kw).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.io.tflite_ops import Converter, _fused, _options
from accel.io.tflite_reader import TfliteImporter, nhwc_shape
from accel.model.conv_transpose import ConvTranspose


def _transpose_conv(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    """TRANSPOSE_CONV (inputs: output shape, OHWI weights, input, optional bias in newer
    schemas). The padding is what TFLite's kernel computes from the output size: the top
    `total // 2` of `total = (ceil-or-valid out size − 1)·stride + kernel − out`; the rest of the
    full scatter (or the rows it does not reach: output padding) is at the end."""
    x = imp.activation(inputs[2], "TRANSPOSE_CONV")
    weight = imp.value(inputs[1])
    bias = imp.value(inputs[3]) if len(inputs) > 3 and inputs[3] >= 0 else None
    options = _options(op, "TransposeConvOptions")
    ok, activation = _fused(imp, op, options)
    if not ok:
        return
    source = imp.parts.shapes[x.source]
    dims = _transposed_weight_dims(imp, op, "TRANSPOSE_CONV", inputs[1], source.channels)
    if dims is None:
        return
    out_channels, kh, kw, _ = dims
    out = nhwc_shape(imp.dims(int(op.Outputs(0))))
    stride = (options.StrideH(), options.StrideW())
    same = options.Padding() == 0
    pads = [
        _transpose_pads(size, out_size, kernel, step, same)
        for size, out_size, kernel, step in zip(
            (source.height, source.width), (out.height, out.width), (kh, kw), stride,
            strict=True)
    ]  # fmt: skip
    layer = ConvTranspose(
        out_channels=out_channels, kernel=(kh, kw), stride=stride,
        padding=(pads[0][0], pads[0][1], pads[1][0], pads[1][1]),
        output_padding=(pads[0][2], pads[1][2]), bias=bias is not None, activation=activation,
    )
    result = imp.add_layer(op, layer, [x])
    if isinstance(weight, np.ndarray):
        bias_array = bias if isinstance(bias, np.ndarray) else None
        imp.keep_weights(result.source, inputs[1], weight, bias_array,
                         weight.transpose(0, 3, 1, 2))  # fmt: skip


def _transpose_conv_bias(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    """mediapipe's custom Convolution2DTransposeBias (selfie segmentation): a float transposed
    conv with a bias. Inputs: the input, OHWI weights, the bias; its custom options are the raw
    bytes of TFLite's C struct TfLiteTransposeConvParams — int32 padding (1 SAME, 2 VALID, 0
    unknown, taken as no padding), stride_width, stride_height. mediapipe's kernel sizes the
    output `stride·(in − 1) + kernel − total` per axis, with `total = max(0, kernel − (in − 1) %
    stride − 1)` for SAME (else 0), of which it crops `total // 2` at the top and left."""
    where = "custom options of Convolution2DTransposeBias"
    data = op.CustomOptionsAsNumpy() if op.CustomOptionsLength() else np.zeros(0, np.uint8)
    if len(inputs) != 3 or len(data) < 12:
        imp.unsupported(op, "CUSTOM:Convolution2DTransposeBias",
                        f"{len(inputs)} inputs and {len(data)} bytes of {where}; it needs 3 "
                        "inputs and 12 bytes (padding, stride_width, stride_height)")
        return
    padding, stride_w, stride_h = (int(v) for v in np.frombuffer(data[:12].tobytes(), "<i4"))
    if padding not in (0, 1, 2) or stride_w < 1 or stride_h < 1:
        imp.unsupported(op, "CUSTOM:Convolution2DTransposeBias",
                        f"{where}: padding must be 0, 1 (SAME) or 2 (VALID) and strides >= 1, "
                        f"not padding {padding}, strides {stride_h}x{stride_w}")
        return
    x = imp.activation(inputs[0], "Convolution2DTransposeBias")
    weight, bias = imp.value(inputs[1]), imp.value(inputs[2])
    source = imp.parts.shapes[x.source]
    dims = _transposed_weight_dims(imp, op, "CUSTOM:Convolution2DTransposeBias", inputs[1],
                                   source.channels)  # fmt: skip
    if dims is None:
        return
    out_channels, kh, kw, _ = dims
    pads = []
    for size, kernel, step in ((source.height, kh, stride_h), (source.width, kw, stride_w)):
        total = max(0, kernel - (size - 1) % step - 1) if padding == 1 else 0
        pads += [total // 2, total - total // 2]
    layer = ConvTranspose(out_channels=out_channels, kernel=(kh, kw), stride=(stride_h, stride_w),
                          padding=tuple(pads))  # fmt: skip
    result = imp.add_layer(op, layer, [x])
    if isinstance(weight, np.ndarray):
        bias_array = bias if isinstance(bias, np.ndarray) else None
        imp.keep_weights(result.source, inputs[1], weight, bias_array,
                         weight.transpose(0, 3, 1, 2))  # fmt: skip


def _transpose_pads(size: int, out: int, kernel: int, stride: int,
                    same: bool) -> tuple[int, int, int]:  # fmt: skip
    """(pad_begin, pad_end, output_padding) of one axis of a TRANSPOSE_CONV."""
    steps = (out + stride - 1) // stride if same else (out + stride - kernel) // stride
    top = max(0, (steps - 1) * stride + kernel - out) // 2
    excess = (size - 1) * stride + kernel - top - out
    return (top, excess, 0) if excess >= 0 else (top, 0, -excess)


def _transposed_weight_dims(imp: TfliteImporter, op: Any, what: str, weight: int,
                            channels: int) -> tuple[int, ...] | None:  # fmt: skip
    """A transposed conv's OHWI weight dims, or None (the op left unsupported, reason given)
    when they read other than the input's `channels`."""
    dims = tuple(imp.dims(weight))
    if dims[3] != channels:
        imp.unsupported(op, what, f"weights for {dims[3]} input channels reading {channels}")
        return None
    return dims


OPERATORS: dict[str, Converter] = {
    "TRANSPOSE_CONV": _transpose_conv,
    "CUSTOM:Convolution2DTransposeBias": _transpose_conv_bias,
}

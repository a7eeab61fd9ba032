"""ONNX operators → accelerator layers: the one table of converters, keyed by (domain, op_type).

A converter reads its node's inputs through the importer (activations, constants) and places
one layer, aliases its output to an existing tensor (operators that cost nothing), or refuses
with a one-line reason. They are grouped by where the work lands on the chip: `array` (Conv,
Gemm, MatMul on the MAC array), `vector` (pooling, activations, elementwise on the vector unit),
`movement` (reshapes, slices, padding and Q/DQ renames: data movement, no arithmetic) and
`quantized` (the QOperator and integer forms of the same layers).
"""

from __future__ import annotations

from typing import Any

from accel.io.onnx_ops import array, movement, quantized, resample, vector
from accel.io.onnx_ops.conv_transpose import conv_transpose
from accel.io.onnx_reader import Converter, OnnxImporter

MS = "com.microsoft"

CONVERTERS: dict[tuple[str, str], Converter] = {
    # MAC array
    ("", "Conv"): array.conv,
    ("", "Gemm"): array.gemm,
    ("", "MatMul"): array.matmul,
    ("", "ConvTranspose"): conv_transpose,
    # vector unit
    ("", "MaxPool"): vector.max_pool,
    ("", "AveragePool"): vector.average_pool,
    ("", "GlobalAveragePool"): vector.global_average_pool,
    ("", "GlobalMaxPool"): vector.global_max_pool,
    ("", "ReduceMean"): resample.reduce_mean,
    ("", "Relu"): vector.activation("relu"),
    ("", "Sigmoid"): vector.activation("sigmoid"),
    ("", "HardSwish"): vector.activation("hswish"),
    ("", "LeakyRelu"): vector.activation("leaky_relu"),
    ("", "HardSigmoid"): resample.hard_sigmoid,
    ("", "Tanh"): vector.activation("tanh"),
    ("", "PRelu"): resample.prelu,
    ("", "Resize"): resample.resize,
    ("", "Upsample"): resample.upsample,
    ("", "DepthToSpace"): resample.depth_to_space,
    ("", "SpaceToDepth"): resample.space_to_depth,
    ("", "Clip"): vector.clip,
    ("", "Softmax"): vector.softmax,
    ("", "LRN"): vector.lrn,
    ("", "BatchNormalization"): vector.batchnorm,
    ("", "Add"): vector.binary("Add"),
    ("", "Sub"): vector.binary("Sub"),
    ("", "Mul"): vector.binary("Mul"),
    ("", "Div"): vector.binary("Div"),
    ("", "Sum"): vector.sum_inputs,
    ("", "Concat"): vector.concat,
    # data movement and renames
    ("", "Dropout"): movement.alias,
    ("", "Identity"): movement.alias,
    ("", "Cast"): movement.alias,
    ("", "Shape"): movement.shape,
    ("", "Flatten"): movement.flatten,
    ("", "Reshape"): movement.reshape,
    ("", "Squeeze"): movement.squeeze,
    ("", "Unsqueeze"): movement.unsqueeze,
    ("", "Transpose"): movement.transpose,
    ("", "Pad"): movement.pad,
    ("", "Slice"): movement.slice_channels,
    ("", "Split"): movement.split_channels,
    ("", "QuantizeLinear"): movement.quantize,
    ("", "DequantizeLinear"): movement.quantize,
    (MS, "QuantizeLinear"): movement.quantize,
    (MS, "DequantizeLinear"): movement.quantize,
    ("", "DynamicQuantizeLinear"): movement.dynamic_quantize,
    # quantized forms
    ("", "QLinearConv"): quantized.qlinear_conv,
    ("", "ConvInteger"): quantized.conv_integer,
    ("", "QLinearMatMul"): quantized.qlinear_matmul,
    ("", "MatMulInteger"): quantized.matmul_integer,
    (MS, "QGemm"): quantized.qgemm,
    (MS, "QLinearAdd"): quantized.qlinear_binary("Add"),
    (MS, "QLinearMul"): quantized.qlinear_binary("Mul"),
    (MS, "QLinearAveragePool"): quantized.qlinear_average_pool,
    (MS, "QLinearGlobalAveragePool"): quantized.qlinear_global_average_pool,
    (MS, "QLinearConcat"): quantized.qlinear_concat,
    (MS, "QLinearSigmoid"): quantized.qlinear_activation("sigmoid"),
    (MS, "QLinearLeakyRelu"): quantized.qlinear_activation("leaky_relu"),
    (MS, "QLinearSoftmax"): quantized.qlinear_softmax,
    (MS, "ConvInteger"): quantized.conv_integer,
    (MS, "MatMulInteger"): quantized.matmul_integer,
}


def supported_ops() -> list[str]:
    """Operator names for error messages: `Conv`, ..., `com.microsoft.QLinearAdd`."""
    return sorted(f"{domain}.{op}" if domain else op for domain, op in CONVERTERS)


def convert_node(imp: OnnxImporter, node: Any, index: int) -> None:
    """Translate one node with its converter, or report it unsupported."""
    domain = "" if node.domain in ("", "ai.onnx") else node.domain
    converter = CONVERTERS.get((domain, node.op_type))
    if converter is None:
        imp.unsupported(node, index)
    else:
        converter(imp, node, index)


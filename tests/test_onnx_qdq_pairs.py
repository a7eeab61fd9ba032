"""Double QDQ pairs (accel.io.onnx_qdq_pairs): the merged quantization is onnxruntime's own,
bit for bit, and a QDQ GoogLeNet whose Dropout sits between two pairs checks with no mismatch."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accel.config import ChipConfig
from accel.functional.requant import dequantize_linear, quantize_linear
from accel.functional.tensor_layers import run_tensor_layer
from accel.io.onnx_import import import_onnx
from accel.io.onnx_proto import parse_model
from accel.io.onnx_qdq_pairs import merged_pairs, merged_quantization, round_half_away
from accel.io.sources import load_model
from accel.model.network import Layer
from accel.model.op_base import Shape
from accel.model.ops import Reshape
from accel.model.quantized import QuantParams
from accel.simulation import run_functional

ort = pytest.importorskip("onnxruntime")

# (scale 1, zero point 1, scale 2, zero point 2, type): narrower and wider second ranges, a
# zero point that lands on .5 before rounding, and both 8-bit types.
PAIRS = [
    (0.05583728, -128, 0.03445128, -128, np.int8),
    (0.1, 0, 0.05, 10, np.int8),
    (0.02, -20, 0.03, 5, np.int8),
    (0.5, 3, 0.25, -7, np.int8),
    (0.01, 128, 0.02, 100, np.uint8),
    (0.007, 0, 0.004, 37, np.uint8),
    (0.3, 200, 0.2, 128, np.uint8),
]


def _pair_model(s1: float, z1: int, s2: float, z2: int, dtype: Any, share: bool = False) -> Any:
    """x → Q1 → DQ1 → Dropout → Q2 → DQ2 → Relu; `share` makes pair 2 reuse pair 1's
    initializers."""
    names = ("s1", "z1", "s1", "z1") if share else ("s1", "z1", "s2", "z2")
    inits = [numpy_helper.from_array(np.array(s1, np.float32), "s1"),
             numpy_helper.from_array(np.array(z1, dtype), "z1"),
             numpy_helper.from_array(np.array(s2, np.float32), "s2"),
             numpy_helper.from_array(np.array(z2, dtype), "z2")]
    nodes = [helper.make_node("QuantizeLinear", ["x", names[0], names[1]], ["q1"], name="q1"),
             helper.make_node("DequantizeLinear", ["q1", names[0], names[1]], ["dq1"]),
             helper.make_node("Dropout", ["dq1"], ["drop"]),
             helper.make_node("QuantizeLinear", ["drop", names[2], names[3]], ["q2"]),
             helper.make_node("DequantizeLinear", ["q2", names[2], names[3]], ["dq2"]),
             helper.make_node("Relu", ["dq2"], ["y"])]
    graph = helper.make_graph(
        nodes, "pair", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _ort_merged(model: Any) -> QuantParams | None:
    """The scale and zero point onnxruntime's level-1 optimizer gives Q1 (None if it kept
    Q1's own initializers)."""
    with tempfile.TemporaryDirectory() as folder:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(folder) / "basic.onnx")
        ort.InferenceSession(model.SerializeToString(), options,
                             providers=["CPUExecutionProvider"])  # fmt: skip
        optimized = onnx.load(options.optimized_model_filepath)
    init = {t.name: numpy_helper.to_array(t) for t in optimized.graph.initializer}
    q1 = next(n for n in optimized.graph.node if n.name == "q1")
    if not q1.input[1].startswith("DoubleQDQRemoved_"):
        return None
    zero = init[q1.input[2]]
    return QuantParams(float(init[q1.input[1]].reshape(-1)[0]), int(zero.reshape(-1)[0]),
                       zero.dtype.name)  # type: ignore[arg-type]


@pytest.mark.parametrize(("s1", "z1", "s2", "z2", "dtype"), PAIRS)
def test_merged_quantization_is_onnxruntimes(s1: float, z1: int, s2: float, z2: int,
                                             dtype: Any) -> None:
    model = _pair_model(s1, z1, s2, z2, dtype)
    expected = _ort_merged(model)
    assert expected is not None
    first = QuantParams(s1, z1, np.dtype(dtype).name)  # type: ignore[arg-type]
    second = QuantParams(s2, z2, np.dtype(dtype).name)  # type: ignore[arg-type]
    merged = merged_quantization(first, second)
    assert merged == expected
    assert np.float32(merged.scale).tobytes() == np.float32(expected.scale).tobytes()
    assert merged_pairs(parse_model(model.SerializeToString()).graph).quant == {0: merged, 1: merged, 3: merged, 4: merged}


def test_merged_quantization_by_hand() -> None:
    # int8 ranges [-12.8, 12.7] and [-0.7, 1.9875...]: the intersection is the second range's
    # bottom and the second's top; zero point round(-128 + 0.7 / scale) = -128 + 68.
    merged = merged_quantization(QuantParams(0.1, 0), QuantParams(0.01, 58))
    assert merged is not None
    low, high = np.float32(-128 - 58) * np.float32(0.01), np.float32(127 - 58) * np.float32(0.01)
    assert merged.scale == float((high - low) / np.float32(255))
    assert merged.zero_point == -128 + 186 and merged.dtype == "int8"
    assert merged_quantization(QuantParams(0.1, -128), QuantParams(0.1, 127)) is None  # disjoint


@pytest.mark.parametrize(("value", "rounded"), [(0.49999997, 0), (2.5, 3), (-2.5, -3),
                                                (-0.49999997, 0), (126.5, 127), (-127.5, -128)])
def test_zero_points_round_half_away_from_zero(value: float, rounded: int) -> None:
    assert round_half_away(np.float32(value)) == rounded


@pytest.mark.parametrize("share", [True, False])
def test_equal_or_shared_pairs_keep_their_quantization(share: bool) -> None:
    # onnxruntime removes the middle pair but keeps the outer parameters; so does accel.
    model = _pair_model(0.05, 3, 0.05, 3, np.int8, share=share)
    assert _ort_merged(model) is None
    assert merged_pairs(parse_model(model.SerializeToString()).graph).quant == {}


@pytest.mark.parametrize(("tensor", "elem"), [("dq1", TensorProto.FLOAT),
                                              ("q2", TensorProto.INT8)])
def test_a_graph_output_inside_the_chain_blocks_the_merge(tensor: str, elem: int) -> None:
    model = _pair_model(0.1, 0, 0.05, 10, np.int8)
    model.graph.output.append(helper.make_tensor_value_info(tensor, elem, [1, 8]))
    assert _ort_merged(model) is None
    assert merged_pairs(parse_model(model.SerializeToString()).graph).quant == {}


def test_disjoint_ranges_are_a_functional_gap() -> None:
    model = _pair_model(0.1, -128, 0.1, 127, np.int8)  # [0, 25.5] and [-25.5, 0]
    rewrites = merged_pairs(parse_model(model.SerializeToString()).graph)
    assert rewrites.quant == {}
    assert rewrites.gaps == ["node 'q1' (double QDQ pair with disjoint ranges)"]


def _googlenet_qdq(folder: Path, share: bool) -> Path:
    from test_onnx_quantized import quantize

    _, model, path = quantize("googlenet", "qdq", folder)
    if share:  # the Dropout's pair reuses the Flatten's initializers: nothing to merge
        for node in model.graph.node:
            if node.name.startswith("dropout66_"):
                node.input[1:] = ["concat63_scale", "concat63_zero_point"]
        onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("share", [False, True])
def test_googlenet_qdq_with_dropout_checks_bit_exact(share: bool, tmp_path: Path) -> None:
    path = _googlenet_qdq(tmp_path, share)
    model = load_model(str(path))
    report = run_functional(model.network, ChipConfig(), 1, None, True, 0, model=model).check
    assert report is not None and report.mismatches == 0
    assert report.layers_checked == len(model.network.layers)
    quantized = model.quantized
    assert quantized is not None
    requantized = "flatten65_QuantizeLinear" in quantized.activations
    assert requantized is not share
    if not share:  # avgpool codes at the Flatten's scale, then the merged pair's
        assert quantized.activations["flatten65_QuantizeLinear"].scale != (
            quantized.activations["averagepool64"].scale)
        assert model.network.layer("gemm69").inputs == ("flatten65_QuantizeLinear",)


def test_a_requantizing_move_is_dequantize_move_quantize() -> None:
    xq, y = QuantParams(0.05583728, -128), QuantParams(0.03445128, -128)
    layer = Layer("r", Reshape(shape=(44, 1, 1)), ("a",), (Shape(44, 1, 1),), Shape(44, 1, 1))
    codes = np.arange(-128, 92, 5, dtype=np.int8).reshape(1, 44, 1, 1)
    out = run_tensor_layer(layer, codes, xq, y, "onnx", {})
    expected = quantize_linear(dequantize_linear(codes, xq.scale, xq.zero_point), y.scale,
                               y.zero_point, np.int8)  # fmt: skip
    np.testing.assert_array_equal(out, expected)
    assert out.max() == 127 and not np.array_equal(out, codes)  # saturates the wider range


def test_import_records_the_merged_quantization(tmp_path: Path) -> None:
    path = _googlenet_qdq(tmp_path, share=False)
    model = onnx.load(str(path))
    quant = import_onnx(path).quantized
    assert quant is not None
    index = next(i for i, n in enumerate(model.graph.node) if n.name == "flatten65_QuantizeLinear")
    assert quant.activations["flatten65_QuantizeLinear"] == merged_pairs(parse_model(model.SerializeToString()).graph).quant[index]


@pytest.mark.parametrize("activation", ["QInt8", "QUInt8"])
def test_a_conv_whose_first_quantization_is_merged_writes_the_merged_codes(
    activation: str, tmp_path: Path
) -> None:
    # conv → Q1 → DQ1 → Dropout → Q2 → DQ2 → conv, the Dropout's pair given another range:
    # ORT fuses the first conv with the merged output quantization, and so does accel.
    from onnx_builders import GraphBuilder
    from test_onnx_quantized import _Calibration, quantization

    g = GraphBuilder("conv_dropout", [1, 3, 16, 16])
    x = g.node("Dropout", [g.conv(g.input, 3, 8, 3)])
    source, path = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(g.model([g.relu(g.conv(x, 8, 8, 3))]), str(source))
    quantization.quantize_static(
        str(source), str(path), _Calibration("input", [1, 3, 16, 16]),
        quant_format=quantization.QuantFormat.QDQ, per_channel=True,
        activation_type=getattr(quantization.QuantType, activation),
        weight_type=quantization.QuantType.QInt8)  # fmt: skip
    model = onnx.load(str(path))
    for tensor in model.graph.initializer:
        value = numpy_helper.to_array(tensor)
        if tensor.name == "dropout4_scale":
            tensor.CopyFrom(numpy_helper.from_array(np.array(0.031, np.float32), tensor.name))
        elif tensor.name == "dropout4_zero_point":
            tensor.CopyFrom(numpy_helper.from_array(np.array(int(value) - 9, value.dtype),
                                                    tensor.name))  # fmt: skip
    onnx.save(model, str(path))
    imported = load_model(str(path))
    report = run_functional(imported.network, ChipConfig(), 1, None, True, 0,
                            model=imported).check  # fmt: skip
    assert report is not None and (report.layers_checked, report.mismatches) == (2, 0)
    assert imported.quantized is not None
    conv = imported.quantized.activations["conv3"]
    assert conv in merged_pairs(parse_model(model.SerializeToString()).graph).quant.values()
    assert np.float32(conv.scale) == np.float32(0.031)  # the narrower, second range

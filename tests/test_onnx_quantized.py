"""Quantized ONNX models (QOperator and QDQ, made by onnxruntime's quantize_static): they
simulate with the float model's MACs, and their int8 weights, scales and zero points reach the
QuantizedNetwork unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx_builders import FAMILIES
from onnx_macs import count_macs

from accel.io.onnx_import import import_onnx

quantization = pytest.importorskip("onnxruntime.quantization")

SHAPES = {"googlenet": [1, 3, 48, 48], "shufflenet": [1, 3, 32, 32],
          "mobilenet_v3": [1, 3, 32, 32], "densenet": [1, 3, 32, 32]}


class _Calibration(quantization.CalibrationDataReader):  # type: ignore[misc]
    """Four seeded random images."""

    def __init__(self, name: str, shape: list[int]) -> None:
        rng = np.random.default_rng(0)
        self.batches = iter(
            [{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(4)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def quantize(family: str, form: str, tmp_path: Path) -> tuple[Any, Any, Path]:
    float_model = FAMILIES[family]()
    source, target = tmp_path / "float.onnx", tmp_path / f"{form}.onnx"
    onnx.save(float_model, str(source))
    qoperator = form == "qoperator"
    quantization.quantize_static(
        str(source), str(target), _Calibration("input", SHAPES[family]),
        quant_format=quantization.QuantFormat.QOperator if qoperator
        else quantization.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8 if qoperator
        else quantization.QuantType.QInt8,
        weight_type=quantization.QuantType.QInt8,
    )
    return float_model, onnx.load(str(target)), target


@pytest.mark.parametrize("form", ["qoperator", "qdq"])
@pytest.mark.parametrize("family", sorted(SHAPES))
def test_quantized_model_has_the_float_models_macs(family: str, form: str,
                                                   tmp_path: Path) -> None:
    float_model, _, path = quantize(family, form, tmp_path)
    imported = import_onnx(path)
    assert imported.network.macs == count_macs(float_model)
    quantized = imported.quantized
    assert quantized is not None
    assert set(quantized.weights) == {layer.name for layer in imported.network if layer.uses_array}
    assert "input" in quantized.activations


def _initializers(model: Any) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def test_qoperator_weights_scales_and_zero_points_are_the_initializers(tmp_path: Path) -> None:
    _, model, path = quantize("googlenet", "qoperator", tmp_path)
    quantized = import_onnx(path).quantized
    assert quantized is not None
    init = _initializers(model)
    convs = [n for n in model.graph.node if n.op_type == "QLinearConv"]
    assert len(convs) == 14
    for node in convs:
        weights = quantized.weights[node.name]
        np.testing.assert_array_equal(weights.weight, init[node.input[3]])
        np.testing.assert_array_equal(weights.weight_scales, init[node.input[4]])
        np.testing.assert_array_equal(weights.weight_zero_points, init[node.input[5]])
        np.testing.assert_array_equal(weights.bias, init[node.input[8]])
        output = quantized.activations[node.name]
        assert output.scale == float(init[node.input[6]])
        assert (output.zero_point, output.dtype) == (int(init[node.input[7]]), "uint8")
    gemm = next(n for n in model.graph.node if n.op_type == "QGemm")
    weights = quantized.weights[gemm.name]
    b = init[gemm.input[3]]
    trans_b = any(a.name == "transB" and a.i for a in gemm.attribute)
    np.testing.assert_array_equal(weights.weight, b if trans_b else b.T)


def test_qdq_weights_come_from_the_weight_dequantize_nodes(tmp_path: Path) -> None:
    _, model, path = quantize("mobilenet_v3", "qdq", tmp_path)
    quantized = import_onnx(path).quantized
    assert quantized is not None
    init = _initializers(model)
    producers = {n.output[0]: n for n in model.graph.node}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    for node in convs:
        weight_dq, bias_dq = producers[node.input[1]], producers[node.input[2]]
        weights = quantized.weights[node.name]
        np.testing.assert_array_equal(weights.weight, init[weight_dq.input[0]])
        np.testing.assert_array_equal(weights.weight_scales, init[weight_dq.input[1]])
        np.testing.assert_array_equal(weights.bias, init[bias_dq.input[0]])
        assert weights.weight.dtype == np.int8 and weights.bias.dtype == np.int32
    quantize_input = next(n for n in model.graph.node if n.op_type == "QuantizeLinear"
                          and n.input[0] == "input")
    params = quantized.activations["input"]
    assert params.scale == float(init[quantize_input.input[1]])
    assert (params.zero_point, params.dtype) == (int(init[quantize_input.input[2]]), "int8")


def test_qoperator_contrib_ops_become_their_float_kinds(tmp_path: Path) -> None:
    _, model, path = quantize("mobilenet_v3", "qoperator", tmp_path)
    contrib = {n.op_type for n in model.graph.node if n.domain == "com.microsoft"}
    assert {"QLinearAdd", "QLinearMul", "QLinearGlobalAveragePool", "QLinearSigmoid"} <= contrib
    network = import_onnx(path).network
    assert [layer.kind for layer in network] == [
        "conv", "activation", "conv", "global_avgpool", "conv", "conv", "activation", "mul",
        "conv", "add", "activation", "activation", "global_avgpool", "fc",
    ]


def test_qgemm_with_alpha_simulates_but_refuses_functional_runs(tmp_path: Path) -> None:
    from accel.config import ChipConfig
    from accel.errors import InputError
    from accel.simulation import run_functional

    _, model, _ = quantize("googlenet", "qoperator", tmp_path)
    gemm = next(n for n in model.graph.node if n.op_type == "QGemm")
    gemm.attribute.append(onnx.helper.make_attribute("alpha", 0.5))
    path = tmp_path / "alpha.onnx"
    onnx.save(model, str(path))
    imported = import_onnx(path)
    assert imported.functional_gaps == (f"node {gemm.name!r} (QGemm with alpha=0.5)",)
    with pytest.raises(InputError, match=r"QGemm with alpha=0.5\) is not supported"):
        run_functional(imported.network, ChipConfig(), model=imported)


def test_qlinear_add_with_a_per_channel_constant_is_refused_by_name(tmp_path: Path) -> None:
    """QLinearAdd's constant operand needs one scale and zero point: a per-channel one is
    named in the refusal instead of failing later in the datapath."""
    from onnx import TensorProto, helper

    from accel.errors import InputError

    def const(name: str, value: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(value, name)

    inits = [
        const("xs", np.array(0.1, np.float32)), const("xz", np.array(128, np.uint8)),
        const("b", np.arange(4, dtype=np.uint8).reshape(1, 4, 1, 1)),
        const("bs", np.array([0.1, 0.2, 0.3, 0.4], np.float32)),
        const("bz", np.full(4, 128, np.uint8)),
        const("ys", np.array(0.2, np.float32)), const("yz", np.array(128, np.uint8)),
    ]  # fmt: skip
    node = helper.make_node("QLinearAdd", ["x", "xs", "xz", "b", "bs", "bz", "ys", "yz"], ["y"],
                            name="add_pc", domain="com.microsoft")  # fmt: skip
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 4, 2, 2])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
    path = tmp_path / "qadd.onnx"
    onnx.save(model, str(path))
    with pytest.raises(InputError, match=r"add_pc.*constant without its data or one scale"):
        import_onnx(path)

"""uint8 weights with nonzero zero points (older onnxruntime quantizers' default, many published
int8 models): quantize_static files and hand-made QLinearConv / QLinearMatMul / QGemm and QDQ
Conv / MatMul / Gemm with per-tensor and per-channel zero points check bit for bit against
onnxruntime, a K long enough to need several float32-exact slices included, and forms that
onnxruntime cannot run (or accel does not model) stop with one line naming the node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_builders import FAMILIES
from quantized_models import UINT8_WEIGHT_CONFIGS, QuantConfig, every_block_cnn, quantize

from accel import simulation
from accel.config import ChipConfig
from accel.errors import InputError
from accel.functional.accumulate import Accumulator
from accel.functional.conv_layer import layer_accumulators, prepare_array_layer
from accel.io.sources import load_model
from accel.simulation import simulate_network

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ZERO_POINTS = {"per-tensor": [131], "per-channel": [131, 0, 255, 7]}  # 4 output channels


def check(path: Path) -> simulation.FunctionalResult:
    model = load_model(str(path))
    return simulation.run_functional(model.network, ChipConfig(), 1, None, True, 0, model=model)


def assert_bit_exact(path: Path, layers: int) -> None:
    report = check(path).check
    assert report is not None and report.reference == "onnxruntime"
    assert (report.layers_checked, report.mismatches, report.mismatched_elements) == (layers, 0, 0)


@pytest.mark.parametrize("config", UINT8_WEIGHT_CONFIGS, ids=lambda c: c.label)
def test_quantize_static_uint8_weights_are_bit_exact(config: QuantConfig, tmp_path: Path) -> None:
    path = quantize(every_block_cnn(), config, tmp_path)
    result = check(path)
    weights = result.qnet.weights.values()
    dtypes = {w.weight.dtype.name for w in weights}
    zero_points = {int(z) for w in weights for z in np.ravel(w.weight_zero_points)}
    if config.per_channel:  # QOperator keeps per-channel convs int8, its QGemm uint8
        assert dtypes == ({"int8", "uint8"} if config.form == "qoperator" else {"uint8"})
    else:  # per-tensor uint8 weights are asymmetric: zero points away from 128
        assert dtypes == {"uint8"} and len(zero_points - {128}) > 5
    report = result.check
    assert report is not None and (report.layers_checked, report.mismatches) == (20, 0)


@pytest.mark.parametrize("form", ["qoperator", "qdq"])
def test_uint8_weights_cost_what_int8_weights_cost(form: str, tmp_path: Path) -> None:
    """One byte a weight either way: cycles, DRAM traffic and energy are the same."""
    results = []
    for weights in ("int8", "uint8"):
        folder = tmp_path / weights
        folder.mkdir()
        path = quantize(every_block_cnn(), QuantConfig(form, "uint8", False, weights), folder)
        results.append(simulate_network(load_model(str(path)).network, ChipConfig()))
    int8, uint8 = (result.summary() for result in results)
    assert int8["total_cycles"] > 0 and int8["dram_read_bytes"] > 0
    assert uint8.pop("network") == f"{form}-uint8-pt-u8w"  # the file's name; every figure equal
    assert int8.pop("network") == f"{form}-uint8-pt" and uint8 == int8


@pytest.mark.parametrize("config", UINT8_WEIGHT_CONFIGS[::3], ids=lambda c: c.label)
@pytest.mark.parametrize("family", ["googlenet", "mobilenet_v2_opset13", "mobilenet_v3", "squeezenet"])
def test_families_with_uint8_weights_are_bit_exact(family: str, config: QuantConfig,
                                                   tmp_path: Path) -> None:
    path = quantize(FAMILIES[family](), config, tmp_path)
    report = check(path).check
    assert report is not None and report.layers_checked > 0
    assert (report.mismatches, report.mismatched_elements) == (0, 0)


def _save(tmp_path: Path, nodes: list[Any], x: Any, inits: dict[str, np.ndarray],
          x_type: int = TensorProto.UINT8, y_type: int | None = None) -> Path:
    graph = helper.make_graph(
        nodes, "uint8_weights", [helper.make_tensor_value_info("x", x_type, list(x))],
        [helper.make_tensor_value_info("y", x_type if y_type is None else y_type, None)],
        [numpy_helper.from_array(value, name) for name, value in inits.items()],
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path


def _params(weight: np.ndarray, zero_points: list[int], ifmap_zero_point: int,
            out_scale: float) -> dict[str, np.ndarray]:
    channels = len(zero_points)
    rng = np.random.default_rng(channels)
    return {
        "xs": np.float32(0.05), "xz": np.uint8(ifmap_zero_point), "w": weight,
        "ws": rng.uniform(0.002, 0.01, channels).astype(np.float32),
        "wz": np.array(zero_points, np.uint8),
        "ys": np.float32(out_scale), "yz": np.uint8(128),
    }  # fmt: skip


def _dequantize(name: str, axis: int = 0, x: str = "x") -> list[Any]:
    return [helper.make_node("DequantizeLinear", [x, "xs", "xz"], ["xf"]),
            helper.make_node("DequantizeLinear", ["w", "ws", "wz"], [name], axis=axis)]


def _conv_nodes(form: str) -> list[Any]:
    if form == "qoperator":
        return [helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"],
                                 ["y"], name="conv", pads=[1, 1, 1, 1])]  # fmt: skip
    return [*_dequantize("wf"), helper.make_node("Conv", ["xf", "wf"], ["yf"], name="conv",
                                                 pads=[1, 1, 1, 1]),
            helper.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"])]  # fmt: skip


@pytest.mark.parametrize("zero_points", ZERO_POINTS.values(), ids=list(ZERO_POINTS))
@pytest.mark.parametrize("form", ["qoperator", "qdq"])
def test_hand_made_uint8_weight_conv_is_bit_exact(form: str, zero_points: list[int],
                                                  tmp_path: Path) -> None:
    weight = np.random.default_rng(1).integers(0, 256, (4, 6, 3, 3), dtype=np.uint8)
    inits = _params(weight, zero_points * (4 // len(zero_points)), 3, 0.25)
    if len(zero_points) == 1:
        inits["ws"], inits["wz"] = inits["ws"][:1], inits["wz"][:1]
    assert_bit_exact(_save(tmp_path, _conv_nodes(form), [1, 6, 5, 5], inits), 1)


def _fc_nodes(op: str) -> list[Any]:
    flatten = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["codes"]),
               helper.make_node("Flatten", ["codes"], ["flat"])]  # a 1×6×2×2 float input
    quantized = ["flat", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    if op == "QLinearMatMul":
        return [*flatten, helper.make_node(op, quantized, ["y"], name="fc")]
    if op == "QGemm":
        return [*flatten, helper.make_node(op, [*quantized[:6], "", "ys", "yz"], ["y"],
                                          name="fc", domain="com.microsoft")]  # fmt: skip
    # QDQ MatMul (weights K×N, per column) or Gemm with transB (N×K, per row).
    dq = _dequantize("wf", axis=0 if op == "Gemm" else 1, x="flat")
    extra = {"transB": 1} if op == "Gemm" else {}
    return [*flatten, *dq, helper.make_node(op, ["xf", "wf"], ["yf"], name="fc", **extra),
            helper.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"])]


@pytest.mark.parametrize("zero_points", ZERO_POINTS.values(), ids=list(ZERO_POINTS))
@pytest.mark.parametrize("op", ["QLinearMatMul", "QGemm", "MatMul", "Gemm"])
def test_hand_made_uint8_weight_fc_is_bit_exact(op: str, zero_points: list[int],
                                                tmp_path: Path) -> None:
    weight = np.random.default_rng(2).integers(0, 256, (24, 4), dtype=np.uint8)  # K × N
    if op == "Gemm":
        weight = np.ascontiguousarray(weight.T)
    inits = _params(weight, zero_points * (4 // len(zero_points)), 250, 0.25)
    if len(zero_points) == 1:
        inits["ws"], inits["wz"] = inits["ws"][:1], inits["wz"][:1]
    path = _save(tmp_path, _fc_nodes(op), [1, 6, 2, 2], inits, TensorProto.FLOAT,
                 TensorProto.UINT8)
    qnet = load_model(str(path)).quantized
    assert qnet is not None and qnet.weights["fc"].weight.shape == (4, 24)
    assert_bit_exact(path, 2)


def _long_k_conv(tmp_path: Path) -> Path:
    """512 input channels × 3×3: K = 4608. Weights far below their zero point 131 against
    ifmaps far above theirs make every product ≈ −2.7e4 and the sums ≈ −1.2e8, far past 2**24:
    only K slices of at most 2**24 / (255 · 131) = 502 products stay exact in float32."""
    rng = np.random.default_rng(3)
    weight = rng.integers(0, 20, (4, 512, 3, 3), dtype=np.uint8)
    inits = _params(weight, [131] * 4, 0, 1.0)
    inits["ws"] = np.full(4, 0.005, np.float32)
    inits["ys"] = np.float32(0.05 * 0.005 * 2000)  # accumulator spread ±1e5 → ±50 codes
    inits["b"] = np.full(4, 120_000_000, np.int32)  # brings the sums back near zero
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
                            ["y"], name="conv")  # fmt: skip
    return _save(tmp_path, [node], [1, 512, 3, 3], inits)


def test_long_k_uint8_weights_accumulate_exactly(tmp_path: Path) -> None:
    qnet = load_model(str(_long_k_conv(tmp_path))).quantized
    assert qnet is not None
    layer, weights = qnet.network.layer("conv"), qnet.weights["conv"]
    x = np.random.default_rng(4).integers(200, 256, (1, 512, 3, 3), dtype=np.uint8)
    prepared = prepare_array_layer(layer, qnet, "onnx")
    got = layer_accumulators(prepared, x, qnet.activations["x"], None, Accumulator())
    centred = weights.weight.astype(np.int64) - 131
    expected = np.einsum("ckl,ockl->o", x[0].astype(np.int64), centred) + weights.bias
    assert np.all(np.abs(expected - weights.bias) > 2**24)
    np.testing.assert_array_equal(got.values, expected[None, :].astype(np.float64))


def test_long_k_uint8_weights_are_bit_exact(tmp_path: Path) -> None:
    assert_bit_exact(_long_k_conv(tmp_path), 1)


def test_int8_ifmap_with_uint8_weights_names_the_node(tmp_path: Path) -> None:
    """onnxruntime has no QLinearConv kernel for int8 activations with uint8 weights."""
    weight = np.random.default_rng(5).integers(0, 256, (4, 6, 3, 3), dtype=np.uint8)
    inits = _params(weight, [131] * 4, 0, 0.25)
    inits["xz"], inits["yz"] = np.int8(0), np.int8(0)
    path = _save(tmp_path, _conv_nodes("qoperator"), [1, 6, 5, 5], inits, TensorProto.INT8)
    with pytest.raises(InputError, match=r"onnxruntime cannot load the model .*QLinearConv.*'conv'"):
        check(path)


@pytest.mark.parametrize("zero_points", [[131] * 4, [131, 0, 255, 7]])
def test_qdq_int8_ifmap_with_uint8_weights_runs_in_float32(zero_points: list[int],
                                                           tmp_path: Path) -> None:
    """The QDQ form of the same layer runs: ORT cannot fuse it and keeps the float Conv."""
    weight = np.random.default_rng(5).integers(0, 256, (4, 6, 3, 3), dtype=np.uint8)
    inits = _params(weight, zero_points, 0, 0.25)
    inits["xz"], inits["yz"] = np.int8(0), np.int8(0)
    result = check(_save(tmp_path, _conv_nodes("qdq"), [1, 6, 5, 5], inits, TensorProto.INT8))
    report = result.check
    assert report is not None and report.extra["float_layers"] == {"conv": "Conv"}
    assert (report.layers_checked, report.mismatches) == (1, 0)


def test_weights_quantized_along_input_channels_name_the_node(tmp_path: Path) -> None:
    weight = np.random.default_rng(6).integers(0, 256, (4, 6, 3, 3), dtype=np.uint8)
    inits = _params(weight, [131] * 6, 3, 0.25)
    nodes = _conv_nodes("qdq")
    nodes[1] = helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=1)
    with pytest.raises(InputError, match=r"node 'conv' \(weights quantized along axis 1, not "):
        check(_save(tmp_path, nodes, [1, 6, 5, 5], inits))

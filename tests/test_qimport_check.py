"""Quantized model files run their own int8 weights and scales, checked bit for bit against
onnxruntime running the file (default graph optimizations, one thread): QOperator and QDQ
models made by quantize_static (per-channel and per-tensor, int8 and uint8 activations), float
models calibrated from their own weights, the CLI's exit codes, and the refusal of dynamically
quantized models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from conftest import run_accel
from hypothesis import given, settings
from hypothesis import strategies as st
from quantized_models import (
    CONFIGS,
    QuantConfig,
    classifier_cnn,
    every_block_cnn,
    pool_island_cnn,
    quantize,
    random_cnn,
    shuffle_unit_cnn,
)

from accel import simulation
from accel.check import model_check, ort_graph
from accel.check.ort_session import u8s8_saturates
from accel.config import ChipConfig
from accel.functional.calibrate import quantize_weights
from accel.functional.kernels.cpu import nchwc_block_size
from accel.io.sources import load_model

ort = pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def check(path: Path, batch: int = 1, seed: int = 0) -> simulation.FunctionalResult:
    model = load_model(str(path))
    return simulation.run_functional(model.network, ChipConfig(), batch, None, True, seed,
                                   model=model)  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_every_layer_of_a_quantized_model_is_bit_exact(config: QuantConfig,
                                                       tmp_path: Path) -> None:
    path = quantize(every_block_cnn(), config, tmp_path)
    result = check(path)
    report = result.check
    assert report is not None and report.reference == "onnxruntime"
    layers = [layer.name for layer in result.qnet.network.layers]
    assert len(layers) == 20
    # Every tensor is quantized in the file, so every layer's codes are compared, and the
    # graph output (a DequantizeLinear of the last layer) too.
    assert report.layers_checked == 20 and report.extra["layers_not_compared"] == []
    assert report.extra["final_outputs_checked"] == ["output:gemm50"]
    assert report.extra["replay_reproduces_session"] is True
    assert (report.mismatches, report.mismatched_elements) == (0, 0)
    assert result.weights == "the model file's int8 weights and scales"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_leaky_relu_and_softmax_classifier_is_bit_exact(config: QuantConfig,
                                                        tmp_path: Path) -> None:
    """QLinearLeakyRelu and QLinearSoftmax (QOperator, or fused from QDQ) on the logits."""
    result = check(quantize(classifier_cnn(), config, tmp_path))
    kinds = [layer.kind for layer in result.qnet.network.layers]
    assert kinds == ["conv", "activation", "avgpool", "global_avgpool", "fc", "softmax"]
    report = result.check
    assert report is not None and (report.layers_checked, report.mismatches) == (6, 0)


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[7]], ids=lambda c: c.label)
def test_reduce_range_weights_are_bit_exact(config: QuantConfig, tmp_path: Path) -> None:
    path = quantize(every_block_cnn(1), config, tmp_path, reduce_range=True)
    result = check(path)
    # reduce_range: 7-bit symmetric weights, the full range hit in every layer.
    assert {int(np.abs(w.weight.astype(np.int16)).max()) for w in result.qnet.weights.values()
            } == {64}  # fmt: skip
    report = result.check
    assert report is not None and (report.layers_checked, report.mismatches) == (20, 0)


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[6]], ids=lambda c: c.label)
def test_float_slices_requantize_to_their_own_scale(config: QuantConfig,
                                                    tmp_path: Path) -> None:
    """A Slice between DequantizeLinear and QuantizeLinear takes the QuantizeLinear's scale."""
    result = check(quantize(shuffle_unit_cnn(), config, tmp_path))
    report = result.check
    layers = result.qnet.network.layers
    assert [layer.kind for layer in layers].count("channel_slice") == 2
    assert report is not None and report.mismatches == 0
    assert report.layers_checked == len(layers) - len(report.extra["layers_not_compared"]) > 5


def test_int8_qdq_float_islands_are_named_and_reproduced(tmp_path: Path) -> None:
    """onnxruntime keeps int8 codes for a tensor read twice and makes single-reader tensors
    uint8; the mixed groups stay float32. accel follows each one."""
    path = quantize(every_block_cnn(), QuantConfig("qdq", "int8", False), tmp_path)
    floats = check(path).check.extra["float_layers"]  # type: ignore[union-attr]
    # The 8-channel average pool takes MLAS's NCHWc layout where blocks are 8 channels (AVX2),
    # not where they are 16 (AVX-512F): which kernel runs is the CPU's choice.
    pool = "com.microsoft.nchwc.AveragePool" if nchwc_block_size() == 8 else "AveragePool"
    assert floats == {
        "conv7": "Conv", "conv13": "Conv", "add18": "Add", "conv22": "Conv",
        "maxpool24": "com.microsoft.nchwc.MaxPool", "averagepool26": pool,
        "globalaveragepool27": "GlobalAveragePool", "mul36": "Mul", "hardswish40": "Mul",
    }  # fmt: skip


def test_without_the_float_path_the_pool_island_mismatches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The float32 emulation is what makes it exact: a 2×2 mean hits .5 ties that the integer
    QLinearAveragePool rounds differently (zero point added before rounding)."""
    from accel.check import model_files

    path = quantize(pool_island_cnn(), QuantConfig("qdq", "int8", False), tmp_path)
    exact = check(path).check
    assert exact is not None and (exact.mismatches, exact.layers_checked) == (0, 14)
    assert "com.microsoft.nchwc.AveragePool" in exact.extra["float_layers"].values()
    monkeypatch.setattr(model_files, "with_float_ops", lambda qnet, locations: qnet)
    integer_only = check(path).check
    assert integer_only is not None and "averagepool15" in integer_only.mismatched_layers


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), config=st.sampled_from(CONFIGS))
def test_random_quantized_cnns_are_bit_exact(seed: int, config: QuantConfig,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    path = quantize(random_cnn(seed), config, tmp_path_factory.mktemp("q"), seed)
    report = check(path, seed=seed).check
    assert report is not None and report.layers_checked > 0
    assert report.mismatches == 0, report.as_dict()


def test_a_float_model_is_calibrated_from_its_own_weights(tmp_path: Path) -> None:
    path = tmp_path / "float.onnx"
    onnx.save(every_block_cnn(), str(path))
    model = load_model(str(path))
    result = check(path)
    assert result.weights == "the model file's float weights, calibrated"
    conv = result.qnet.weights["conv3"]
    ifmap_scale = result.qnet.activations["input"].scale
    expected = quantize_weights(model.float_weights["conv3"], ifmap_scale)
    np.testing.assert_array_equal(conv.weight, expected.weight)
    report = result.check
    assert report is not None and (report.layers_checked, report.mismatches) == (20, 0)


def _uint8_input_model(tmp_path: Path) -> Path:
    """A QOperator model whose graph input is already uint8 codes (its QuantizeLinear cut)."""
    model = onnx.load(str(quantize(every_block_cnn(), QuantConfig("qoperator", "uint8", True),
                                   tmp_path)))  # fmt: skip
    first = model.graph.node[0]
    assert first.op_type == "QuantizeLinear"
    codes = first.output[0]
    model.graph.node.remove(first)
    model.graph.input[0].CopyFrom(onnx.helper.make_tensor_value_info(
        codes, onnx.TensorProto.UINT8, [1, 3, 12, 12]))  # fmt: skip
    path = tmp_path / "uint8_input.onnx"
    onnx.save(model, str(path))
    return path


def test_a_uint8_graph_input_is_fed_as_codes(tmp_path: Path) -> None:
    report = check(_uint8_input_model(tmp_path)).check
    assert report is not None and (report.layers_checked, report.mismatches) == (20, 0)


# --- the command line -------------------------------------------------------------------------


def _summary(folder: Path) -> dict[str, Any]:
    section: dict[str, Any] = json.loads((folder / "summary.json").read_text())["functional"]
    return section


def test_cli_check_inputs_and_dump(tmp_path: Path) -> None:
    path = quantize(every_block_cnn(), QuantConfig("qdq", "int8", True), tmp_path)
    images = np.random.default_rng(3).standard_normal((1, 3, 12, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", images)
    result = run_accel("simulate-network", "-n", str(path), "--check", "-q", "--inputs",
                       str(tmp_path / "x.npy"), "--dump", str(tmp_path / "dump"),
                       "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    section = _summary(tmp_path / "out")
    assert (section["reference"], section["mode"]) == ("onnxruntime", "onnx")
    assert (section["layers_checked"], section["mismatches"]) == (20, 0)
    assert "checked 20 layers against onnxruntime: all bit-exact" in result.stdout
    # ORT runs this int8 QDQ file on uint8 codes; where its u8s8 GEMM saturates (AVX2 without
    # VNNI) the reference re-encodes the weights and says so.
    assert section["u8s8_gemm_saturates"] == u8s8_saturates()
    assert ("reference_adjustment" in section) == u8s8_saturates()
    assert section["reference_version"] == f"onnxruntime {ort.__version__}"
    # The dumped logits, dequantized, are what onnxruntime returns for the same images.
    manifest = json.loads((tmp_path / "dump" / "manifest.json").read_text())["tensors"]
    logits = manifest["gemm50"]
    codes = np.load(tmp_path / "dump" / logits["file"]).reshape(1, 10).astype(np.float32)
    # onnxruntime as accel's check runs it: its optimized graph, exact integer kernels.
    graph = ort_graph.optimize(str(path))
    expected = model_check.replay(graph, {"input": images}, [])[1][graph.user.graph.output[0].name]
    real = (codes - np.float32(logits["zero_point"])) * np.float32(logits["scale"])
    np.testing.assert_array_equal(real, expected)


def test_cli_mismatch_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A corrupted weight (one code off by one) in the engine's copy of the model."""
    from accel import cli
    from accel.check import model_files

    path = quantize(every_block_cnn(), QuantConfig("qoperator", "uint8", False), tmp_path)
    real_require = model_files.require_quantized

    def corrupted(model: Any, graph: Any = None) -> Any:
        qnet = real_require(model, graph)
        weight = qnet.weights["conv3_quant"].weight
        weight[0, 0, 0, 0] = weight[0, 0, 0, 0] + (1 if weight[0, 0, 0, 0] < 127 else -1)
        return qnet

    monkeypatch.setattr(model_files, "require_quantized", corrupted)
    monkeypatch.setattr("sys.argv", ["accel", "simulate-network", "-n", str(path), "--check",
                                     "-q", "--out", str(tmp_path / "out")])  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    section = _summary(tmp_path / "out")
    assert section["mismatched_layers"][0] == "conv3_quant" and section["mismatches"] >= 1


def test_cli_refuses_dynamically_quantized_models(tmp_path: Path) -> None:
    from onnxruntime import quantization

    source, target = tmp_path / "float.onnx", tmp_path / "dynamic.onnx"
    onnx.save(every_block_cnn(), str(source))
    quantization.quantize_dynamic(str(source), str(target),
                                  weight_type=quantization.QuantType.QUInt8)  # fmt: skip
    simulated = run_accel("simulate-network", "-n", str(target), "-q", "--out", str(tmp_path))
    assert simulated.returncode == 0, simulated.stderr  # cycles are fine
    result = run_accel("simulate-network", "-n", str(target), "--check", "-q")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {target}: functional execution of dynamically quantized models "
        "(DynamicQuantizeLinear, ConvInteger, MatMulInteger) is not supported; simulate "
        "without --check/--inputs/--dump"
    )


def test_cli_batch_must_match_a_fixed_model_batch(tmp_path: Path) -> None:
    path = quantize(every_block_cnn(), QuantConfig("qdq", "uint8", True), tmp_path)
    result = run_accel("simulate-network", "-n", str(path), "--check", "--batch", "2", "-q",
                       "--out", str(tmp_path))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --batch must be 1 for this model: its input "
                                     "'input' has a fixed batch of 1, not 2")

"""`--check` end to end for resize, depth/space moves, PReLU, tanh and hard-sigmoid: calibrated
YAML networks in onnx mode (the quantized ONNX export runs them in onnxruntime) and tflite mode
(one-layer TFLite models in tflite-micro and LiteRT), quantize_static files in QOperator and
QDQ form, and int8 .tflite files; each check also catches one wrong code, and what has no int8
model is refused in one line naming the layer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import run_accel
from hypothesis import given, settings
from hypothesis import strategies as st
from quantized_models import CONFIGS, QuantConfig, heads_cnn, moves_cnn, quantize

from accel.config import ChipConfig
from accel.functional.calibrate import quantize_network
from accel.functional.engine import execute
from accel.functional.inputs import prepare_inputs, random_images
from accel.io.sources import load_model
from accel.io.workload_yaml import parse_workload
from accel.model.network import Network
from accel.simulation import FunctionalResult, run_functional

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TFLITE = ChipConfig.model_validate({"array": {"requantization": "tflite"}})
# Every new operator of onnx mode, each in a form its check covers, on a 6x7 input.
ONNX_LAYERS: list[dict[str, Any]] = [
    {"name": "c1", "kind": "conv", "out_channels": 8, "kernel": 3, "padding": "same"},
    {"name": "p1", "kind": "prelu"},
    {"name": "up", "kind": "resize", "size": [11, 5], "coordinate_mode": "half_pixel",
     "nearest_mode": "round_prefer_ceil"},
    {"name": "d2s", "kind": "depth_to_space", "block": 2, "order": "CRD"},
    {"name": "t", "kind": "activation", "function": "tanh"},
    {"name": "s2d", "kind": "space_to_depth", "block": 2},
    {"name": "hs", "kind": "activation", "function": "hard_sigmoid", "alpha": 0.2, "beta": 0.45},
    {"name": "c2", "kind": "conv", "out_channels": 4, "kernel": 1},
]
# tflite mode: a bilinear resize, a shared slope, DCR; no hard_sigmoid (TFLite has none).
TFLITE_LAYERS: list[dict[str, Any]] = [
    ONNX_LAYERS[0],
    {"name": "p1", "kind": "prelu", "shared_slope": True},
    {"name": "up", "kind": "resize", "scale": [1.5, 2.5], "mode": "bilinear",
     "coordinate_mode": "half_pixel"},
    {"name": "d2s", "kind": "depth_to_space", "block": 2},
    ONNX_LAYERS[4], ONNX_LAYERS[5], ONNX_LAYERS[7],
]  # fmt: skip


def _network(layers: list[dict[str, Any]], name: str = "heads") -> Network:
    data = {"name": name, "input": {"channels": 3, "height": 6, "width": 7}, "layers": layers}
    return parse_workload(data, f"{name}.yaml", {})


def _yaml(tmp_path: Path, layers: list[dict[str, Any]]) -> Path:
    path = tmp_path / "heads.yaml"
    data = {"name": "heads", "input": {"channels": 3, "height": 6, "width": 7}, "layers": layers}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _cli_check(tmp_path: Path, network: Path, *chip: str, batch: int = 2) -> dict[str, Any]:
    out = tmp_path / "out"
    done = run_accel("simulate-network", "-n", str(network), *chip, "--check", "--batch",
                     str(batch), "-q", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    section: dict[str, Any] = json.loads((out / "summary.json").read_text())["functional"]
    return section


def test_cli_checks_every_new_operator_in_onnx_mode(tmp_path: Path) -> None:
    section = _cli_check(tmp_path, _yaml(tmp_path, ONNX_LAYERS))
    assert (section["mode"], section["reference"]) == ("onnx", "onnxruntime")
    assert (section["layers_checked"], section["mismatches"]) == (8, 0)
    assert section["mismatched_elements"] == 0 and section["mismatched_tensors"] == []


def test_cli_checks_every_new_operator_in_tflite_mode(tmp_path: Path) -> None:
    chip = tmp_path / "tflite.yaml"
    chip.write_text("array: {requantization: tflite}\n")
    section = _cli_check(tmp_path, _yaml(tmp_path, TFLITE_LAYERS), "--chip", str(chip))
    assert section["mode"] == "tflite"
    assert section["reference"] == "litert-reference+tflite-micro"
    assert (section["layers_checked"], section["mismatches"]) == (7, 0)
    assert section["unchecked_layers"] == []


@pytest.mark.parametrize(("layer", "mode", "message"), [
    ({"name": "hs", "kind": "activation", "function": "hard_sigmoid", "alpha": 0.2}, "tflite",
     "layer 'hs': tflite mode has no hard_sigmoid kernel"),
])  # fmt: skip
def test_what_has_no_int8_model_is_refused_in_one_line(
    tmp_path: Path, layer: dict[str, Any], mode: str, message: str
) -> None:
    chip = tmp_path / "chip.yaml"
    chip.write_text(f"array: {{requantization: {mode}}}\n")
    network = _yaml(tmp_path, [ONNX_LAYERS[0], layer])
    done = run_accel("simulate-network", "-n", str(network), "--chip", str(chip), "--check",
                     "-q", "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert re.search(message, done.stderr), done.stderr


# --- each check catches a wrong code ---------------------------------------------------------


def _engine_run(layers: list[dict[str, Any]], chip: ChipConfig) -> tuple[Any, Any, Any]:
    qnet = quantize_network(_network(layers))
    inputs = prepare_inputs(qnet, random_images(qnet.network, 2, 0), 2)
    return qnet, execute(qnet, inputs.quantized, chip).outputs, inputs.real


def _perturbed(outputs: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    wrong = outputs[name].copy()
    flat = wrong.reshape(-1)
    flat[flat.size // 2] = flat[flat.size // 2] + (1 if flat[flat.size // 2] < 127 else -1)
    return {**outputs, name: wrong}


@pytest.mark.parametrize("name", ["p1", "up", "d2s", "t", "s2d", "hs"])
def test_the_onnx_check_catches_one_wrong_code(name: str) -> None:
    from accel.check.compare import check_onnxruntime

    qnet, outputs, real = _engine_run(ONNX_LAYERS, ChipConfig())
    assert not check_onnxruntime(qnet, outputs, real).failed
    report = check_onnxruntime(qnet, _perturbed(outputs, name), real)
    assert report.mismatched_layers == (name,)
    assert (report.mismatched_elements, report.max_abs_diff) == (1, 1)


@pytest.mark.parametrize("name", ["p1", "up", "d2s", "t", "s2d"])
def test_the_tflite_check_catches_one_wrong_code(name: str) -> None:
    from accel.check.tflite_check import check_tflite

    qnet, outputs, _ = _engine_run(TFLITE_LAYERS, TFLITE)
    assert not check_tflite(qnet, outputs).failed
    report = check_tflite(qnet, _perturbed(outputs, name))
    # The wrong code is compared where the layer is (and fed to the next layer's model).
    assert name in report.mismatched_layers


# --- properties over the resize's modes ------------------------------------------------------


COORDINATES = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
               "tf_half_pixel_for_nn"]  # fmt: skip
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def _resize(data: st.DataObject, mode: str, coordinates: list[str]) -> dict[str, Any]:
    layer: dict[str, Any] = {"name": "up", "kind": "resize", "mode": mode,
                             "coordinate_mode": data.draw(st.sampled_from(coordinates))}
    if mode == "nearest":
        layer["nearest_mode"] = data.draw(st.sampled_from(NEAREST))
    if data.draw(st.booleans()):
        layer["size"] = [data.draw(st.integers(1, 13)), data.draw(st.integers(1, 13))]
    else:
        pick = st.sampled_from([0.5, 0.75, 1.3, 1.5, 2.0, 3.0])
        layer["scale"] = [data.draw(pick), data.draw(pick)]
    return layer


def _checked(layers: list[dict[str, Any]], chip: ChipConfig, seed: int) -> FunctionalResult:
    result = run_functional(_network(layers), chip, batch=1, check=True, seed=seed)
    assert result.check is not None
    return result


@settings(max_examples=16, deadline=None)
@given(st.data(), st.sampled_from(["nearest", "bilinear"]), st.integers(0, 99))
def test_onnx_mode_checks_any_resize_bit_exact(data: st.DataObject, mode: str,
                                               seed: int) -> None:
    layers = [ONNX_LAYERS[0], {"name": "p1", "kind": "prelu",
                               "shared_slope": data.draw(st.booleans())},
              _resize(data, mode, COORDINATES),
              {"name": "t", "kind": "activation", "function": "tanh"}]  # fmt: skip
    report = _checked(layers, ChipConfig(), seed).check
    assert report is not None and (report.layers_checked, report.failed) == (4, False)


@settings(max_examples=8, deadline=None)
@given(st.data(), st.sampled_from(["nearest", "bilinear"]), st.integers(0, 99))
def test_tflite_mode_checks_any_tflite_resize_bit_exact(data: st.DataObject, mode: str,
                                                        seed: int) -> None:
    coordinates = ["asymmetric", "align_corners",
                   "half_pixel" if mode == "bilinear" else "tf_half_pixel_for_nn"]
    layers = [ONNX_LAYERS[0], _resize(data, mode, coordinates),
              {"name": "t", "kind": "activation", "function": "tanh"}]  # fmt: skip
    report = _checked(layers, TFLITE, seed).check
    assert report is not None and (report.layers_checked, report.failed) == (3, False)
    assert report.extra["unchecked_layers"] == []


def test_a_block_move_between_two_quantizations_is_checked_in_both_modes() -> None:
    """A move whose output is quantized unlike its input requantizes (onnx: DequantizeLinear →
    move → QuantizeLinear; tflite: the move, then QUANTIZE), and both references agree."""
    from dataclasses import replace

    from accel.check.compare import check_onnxruntime
    from accel.check.tflite_check import check_tflite
    from accel.functional import resample
    from accel.model.quantized import QuantParams

    network = _network([ONNX_LAYERS[0], {"name": "d2s", "kind": "depth_to_space", "block": 2,
                                         "order": "CRD"}])  # fmt: skip
    qnet = quantize_network(network)
    moved = QuantParams(qnet.activations["c1"].scale * 1.7, 5, "int8")
    qnet = replace(qnet, activations={**qnet.activations, "d2s": moved})
    inputs = prepare_inputs(qnet, random_images(network, 2, 0), 2)
    onnx_run = execute(qnet, inputs.quantized, ChipConfig()).outputs
    tflite_run = execute(qnet, inputs.quantized, TFLITE).outputs
    copied = resample.depth_to_space(onnx_run["c1"], network.layer("d2s").op)  # type: ignore[arg-type]
    assert not np.array_equal(onnx_run["d2s"], copied)  # requantized, not copied
    assert check_onnxruntime(qnet, onnx_run, inputs.real).layers_checked == 2
    assert not check_onnxruntime(qnet, onnx_run, inputs.real).failed
    assert not check_tflite(qnet, tflite_run).failed


# --- quantized model files -------------------------------------------------------------------


def _file_check(path: Path) -> FunctionalResult:
    model = load_model(str(path))
    result = run_functional(model.network, ChipConfig(), 1, None, True, 0, model=model)
    assert result.check is not None
    return result


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_quantize_static_float_islands_of_the_new_operators_are_bit_exact(
    config: QuantConfig, tmp_path: Path
) -> None:
    """PRelu → Resize → DepthToSpace, Tanh → SpaceToDepth and HardSigmoid stay float32 in
    every form quantize_static writes; the engine runs them as ORT's float ops."""
    result = _file_check(quantize(heads_cnn(), config, tmp_path))
    report = result.check
    assert report is not None
    kinds = [layer.kind for layer in result.qnet.network.layers]
    assert kinds == ["conv", "prelu", "resize", "depth_to_space", "conv", "activation",
                     "space_to_depth", "conv", "activation", "conv"]  # fmt: skip
    assert (report.layers_checked, report.mismatches, report.failed) == (10, 0, False)
    assert sorted(report.extra["float_layers"].values()) == [
        "DepthToSpace", "HardSigmoid", "PRelu", "Resize", "SpaceToDepth", "Tanh"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_quantized_resize_and_block_moves_are_bit_exact(config: QuantConfig,
                                                        tmp_path: Path) -> None:
    """A Resize quantize_static quantizes runs on the codes (QOperator as written, QDQ fused by
    ORT); DepthToSpace → SpaceToDepth between two quantized convs stays float32."""
    report = _file_check(quantize(moves_cnn(), config, tmp_path)).check
    assert report is not None and not report.failed
    assert report.extra["float_layers"] == {"spacetodepth11": "SpaceToDepth"}
    assert report.layers_checked == 6 and report.extra["layers_not_compared"] == []


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_quantize_static_linear_resizes_are_bit_exact(config: QuantConfig,
                                                      tmp_path: Path) -> None:
    """A linear Resize as quantize_static leaves it: QOperator's Resize on codes, which ORT
    moves channels-last between its NHWC QLinearConvs (NhwcUpsampleBilinearInteger), and QDQ's
    DequantizeLinear → float Resize → QuantizeLinear (UpsampleBilinear in float32)."""
    result = _file_check(quantize(moves_cnn(resize_mode="linear"), config, tmp_path))
    report = result.check
    assert report is not None and (report.layers_checked, report.mismatches) == (6, 0)
    nhwc = result.qnet.attributes.get("resize6", {}).get("onnxruntime_nhwc", False)
    assert nhwc == (config.label.startswith("qoperator"))
    assert ("resize6" in report.extra["float_layers"]) == (not nhwc)


def test_the_file_check_catches_the_wrong_linear_resize_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's NCHW float-weight kernel on a Resize ORT runs channels-last is caught."""
    from accel.functional import resample

    path = quantize(moves_cnn(resize_mode="linear"), CONFIGS[2], tmp_path)
    original = resample.resize_bilinear_onnx
    monkeypatch.setattr(resample, "resize_bilinear_onnx",
                        lambda x, op, nhwc=False: original(x, op))  # fmt: skip
    report = _file_check(path).check
    assert report is not None and report.failed
    assert report.mismatched_layers[0] == "resize6"


@pytest.mark.parametrize("coordinate", ["half_pixel", "align_corners"])
def test_the_onnx_check_catches_one_wrong_bilinear_code(coordinate: str) -> None:
    from accel.check.compare import check_onnxruntime

    layers = [ONNX_LAYERS[0], {"name": "up", "kind": "resize", "scale": [1.5, 2.5],
                               "mode": "bilinear", "coordinate_mode": coordinate}]  # fmt: skip
    qnet, outputs, real = _engine_run(layers, ChipConfig())
    assert not check_onnxruntime(qnet, outputs, real).failed
    report = check_onnxruntime(qnet, _perturbed(outputs, "up"), real)
    assert report.mismatched_layers == ("up",)
    assert (report.mismatched_elements, report.max_abs_diff) == (1, 1)


def test_cli_checks_quantized_onnx_files_with_nearest_and_linear_resizes(tmp_path: Path) -> None:
    path = quantize(heads_cnn(1), CONFIGS[5], tmp_path)
    section = _cli_check(tmp_path, path, batch=1)
    assert (section["layers_checked"], section["mismatches"]) == (10, 0)
    (tmp_path / "linear").mkdir()
    linear = quantize(moves_cnn(resize_mode="linear"), CONFIGS[2], tmp_path / "linear")
    section = _cli_check(tmp_path / "linear", linear, batch=1)
    assert (section["layers_checked"], section["mismatches"]) == (6, 0)


def test_cli_checks_reduce_means_in_tflite_mode(tmp_path: Path) -> None:
    """Calibrated reduce_means over channels, width, and height + width (each a one-layer MEAN
    model) against tflite-micro and LiteRT's reference kernels."""
    pytest.importorskip("tflite_micro")
    chip = tmp_path / "tflite.yaml"
    chip.write_text("array: {requantization: tflite}\n")
    layers = [ONNX_LAYERS[0], {"name": "mc", "kind": "reduce_mean", "axes": [0]},
              {"name": "mw", "kind": "reduce_mean", "axes": [2]},
              {"name": "mhw", "kind": "reduce_mean", "axes": [1, 2], "inputs": ["c1"]}]
    section = _cli_check(tmp_path, _yaml(tmp_path, layers), "--chip", str(chip))
    assert section["reference"] == "litert-reference+tflite-micro"
    assert (section["layers_checked"], section["mismatches"]) == (4, 0)
    assert section["unchecked_layers"] == []


def test_cli_checks_bilinear_resizes_in_onnx_mode(tmp_path: Path) -> None:
    """Calibrated bilinear resizes up and down, by scale and by size, against onnxruntime."""
    layers = [ONNX_LAYERS[0],
              {"name": "up", "kind": "resize", "scale": [1.5, 2.5], "mode": "bilinear",
               "coordinate_mode": "half_pixel"},
              {"name": "down", "kind": "resize", "size": [5, 4], "mode": "bilinear",
               "coordinate_mode": "align_corners"},
              {"name": "c2", "kind": "conv", "out_channels": 4, "kernel": 1}]  # fmt: skip
    section = _cli_check(tmp_path, _yaml(tmp_path, layers))
    assert (section["mode"], section["reference"]) == ("onnx", "onnxruntime")
    assert (section["layers_checked"], section["mismatches"]) == (4, 0)


@pytest.mark.parametrize(("bilinear", "nearest"), [
    ("align_corners", "half_pixel_centers"), ("half_pixel_centers", "align_corners"),
    ("none", "none")])  # fmt: skip
def test_int8_tflite_files_with_the_new_operators_are_bit_exact(
    tmp_path: Path, bilinear: str, nearest: str
) -> None:
    tflite_builders = pytest.importorskip("tflite_builders")
    pytest.importorskip("tflite")
    path = tmp_path / "heads.tflite"
    path.write_bytes(tflite_builders.int8_heads(1, bilinear, nearest))
    result = _file_check(path)
    kinds = [layer.kind for layer in result.qnet.network.layers]
    assert kinds == ["conv", "prelu", "resize", "depth_to_space", "activation",
                     "space_to_depth", "resize", "conv"]  # fmt: skip
    report = result.check
    assert report is not None and report.reference == "litert-reference+tflite-micro"
    assert (report.layers_checked, report.mismatches, report.failed) == (8, 0, False)
    assert report.extra["layers_not_compared"] == []
    assert report.extra["final_outputs_checked"] == ["head@tflite-micro"]


def test_cli_checks_an_int8_tflite_file(tmp_path: Path) -> None:
    tflite_builders = pytest.importorskip("tflite_builders")
    pytest.importorskip("tflite")
    path = tmp_path / "heads.tflite"
    path.write_bytes(tflite_builders.int8_heads(2))
    section = _cli_check(tmp_path, path, batch=1)
    assert (section["mode"], section["layers_checked"], section["mismatches"]) == ("tflite", 8, 0)


@pytest.mark.parametrize("batch", [1, 2])
def test_cli_checks_a_reduce_mean_over_channels_and_width_in_onnx_mode(tmp_path: Path,
                                                                        batch: int) -> None:
    """The reduce_mean ORT runs in its generic loop (KRKR, RKR at batch 1) is checked
    bit-exact, where it was refused before."""
    layers = [ONNX_LAYERS[0], {"name": "mcw", "kind": "reduce_mean", "axes": [0, 2]},
              {"name": "c2", "kind": "conv", "out_channels": 4, "kernel": 1}]  # fmt: skip
    section = _cli_check(tmp_path, _yaml(tmp_path, layers), batch=batch)
    assert (section["mode"], section["reference"]) == ("onnx", "onnxruntime")
    assert (section["layers_checked"], section["mismatches"]) == (3, 0)
    assert section["mismatched_elements"] == 0


@pytest.mark.parametrize("axes", [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]])
@pytest.mark.parametrize("batch", [1, 2])
def test_reduce_mean_is_checked_in_onnx_mode(axes: list[int], batch: int) -> None:
    """DequantizeLinear → ReduceMean → QuantizeLinear in ORT's summation order (its pattern
    of kept and reduced blocks depends on the batch too; channels and width, [0, 2], take its
    generic loop)."""
    layers = [ONNX_LAYERS[0], {"name": "m", "kind": "reduce_mean", "axes": axes},
              {"name": "c2", "kind": "conv", "out_channels": 4, "kernel": 1}]  # fmt: skip
    result = run_functional(_network(layers), ChipConfig(), batch=batch, check=True)
    assert result.check is not None
    assert (result.check.layers_checked, result.check.failed) == (3, False)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_quantize_static_reduce_means_are_bit_exact(config: QuantConfig, tmp_path: Path) -> None:
    from onnx_builders import GraphBuilder

    g = GraphBuilder("means", [1, 3, 8, 8], opset=13, seed=0)
    x = g.relu(g.conv(g.input, 3, 16, 3))
    over_channels = g.node("ReduceMean", [x], axes=[1], keepdims=1)
    over_height = g.node("ReduceMean", [x], axes=[2], keepdims=1)
    model = g.model([g.conv(over_channels, 1, 4, 3), g.conv(over_height, 16, 4, 1, pad=0)])
    report = _file_check(quantize(model, config, tmp_path)).check
    assert report is not None and (report.layers_checked, report.failed) == (5, False)
    assert {name: op for name, op in report.extra["float_layers"].items()
            if op == "ReduceMean"} == {"reducemean5": "ReduceMean", "reducemean6": "ReduceMean"}

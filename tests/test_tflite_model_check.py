"""An int8 .tflite file runs its own weights and scales in tflite mode and is checked against
LiteRT's reference kernels (every tensor, kept with experimental_preserve_all_tensors) and
tflite-micro (the graph outputs), bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_accel
from tflite_builders import int8_activations, int8_cnn, int8_dense

from accel import simulation
from accel.check.tflite_model_check import quantize_tflite
from accel.config import ChipConfig
from accel.io.sources import load_model
from accel.model.quantized import QuantParams

pytest.importorskip("ai_edge_litert")
pytest.importorskip("tflite")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("float_io", [False, True], ids=["int8_io", "float_io"])
def test_int8_tflite_file_is_bit_exact(seed: int, float_io: bool, tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(int8_cnn(seed, float_io))
    model = load_model(str(path))
    # An onnx-mode chip still runs the file's own arithmetic: TFLite's.
    result = simulation.run_functional(model.network, ChipConfig(), 1, None, True, seed,
                                     model=model)  # fmt: skip
    report = result.check
    assert report is not None and result.run.mode == "tflite"
    assert report.reference == "litert-reference+tflite-micro"
    assert report.layers_checked == len(model.network.layers) == 6
    assert report.extra["final_outputs_checked"] == ["logits@tflite-micro"]
    assert (report.mismatches, report.mismatched_elements) == (0, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_int8_activation_kernels_of_a_tflite_file(seed: int, tmp_path: Path) -> None:
    # HARD_SWISH, LOGISTIC, a requantizing QUANTIZE, CONCATENATION, MEAN, LEAKY_RELU, SOFTMAX
    # with beta.
    path = tmp_path / "model.tflite"
    path.write_bytes(int8_activations(seed))
    model = load_model(str(path))
    kinds = [layer.kind for layer in model.network.layers]
    assert kinds == ["activation", "activation", "reshape", "concat", "global_avgpool",
                     "activation", "softmax"]  # fmt: skip
    result = simulation.run_functional(model.network, ChipConfig(), 1, None, True, seed,
                                     model=model)  # fmt: skip
    report = result.check
    assert report is not None and report.reference == "litert-reference+tflite-micro"
    assert report.layers_checked == 7
    assert (report.mismatches, report.mismatched_elements) == (0, 0), report.mismatched_layers


def test_quantize_rounds_ties_away_from_zero() -> None:
    params = QuantParams(0.5, 0, "int8")
    x = np.array([0.25, -0.25, 0.75, 100.0], np.float32)  # x / s = 0.5, -0.5, 1.5, 200
    np.testing.assert_array_equal(quantize_tflite(x, params), [1, -1, 2, 127])


def test_cli_check_of_a_tflite_file(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(int8_cnn(5))
    result = run_accel("simulate-network", "-n", str(path), "--check", "-q", "--out",
                       str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    section = json.loads((tmp_path / "out" / "summary.json").read_text())["functional"]
    assert (section["mode"], section["layers_checked"], section["mismatches"]) == ("tflite", 6, 0)


def test_logistic_where_litert_rounds_apart_is_checked_against_tflite_micro(
    tmp_path: Path,
) -> None:
    # At input scale 2**-7, LiteRT's float table puts codes ±1 one step from tflite-micro.
    from accel.io.tflite_flatbuffer import TfliteBuilder

    b = TfliteBuilder()
    x = b.tensor("x", (1, 1, 1, 256), "int8", 2**-7, 0)
    y = b.tensor("y", (1, 1, 1, 256), "int8", 1 / 256, -128)
    b.operator("LOGISTIC", [x], [y])
    path = tmp_path / "logistic.tflite"
    path.write_bytes(b.finish([x], [y]))
    model = load_model(str(path))
    codes = np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1, 1)
    report = simulation.run_functional(model.network, ChipConfig(), 1, {"x": codes}, True, 0,
                                     model=model).check  # fmt: skip
    assert report is not None and (report.mismatches, report.layers_checked) == (0, 1)
    assert report.extra["litert_rounding_differs"] == ["y"]
    assert report.extra["final_outputs_checked"] == ["y@tflite-micro"]


def test_a_rank_2_model_checks_and_takes_rank_2_inputs(tmp_path: Path) -> None:
    """An autoencoder-like file whose input is [1, 16]: LiteRT is fed that shape, not NCHW."""
    path = tmp_path / "dense.tflite"
    path.write_bytes(int8_dense())
    features = np.random.default_rng(4).standard_normal((1, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", features)
    result = run_accel("simulate-network", "-n", str(path), "--check", "-q", "--inputs",
                       str(tmp_path / "x.npy"), "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    section = json.loads((tmp_path / "out" / "summary.json").read_text())["functional"]
    assert (section["layers_checked"], section["mismatches"]) == (2, 0)
    assert section["mismatched_tensors"] == []
    assert section["reference_version"].startswith("ai-edge-litert ")


def test_a_tflite_batch_other_than_the_files_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "dense.tflite"
    path.write_bytes(int8_dense())
    result = run_accel("simulate-network", "-n", str(path), "--check", "-q", "--batch", "2",
                       "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --batch must be 1 for this model: its input "
                                     "'features' has a fixed batch of 1, not 2")  # fmt: skip


def test_non_finite_inputs_are_refused_before_any_check(tmp_path: Path) -> None:
    path = tmp_path / "dense.tflite"
    path.write_bytes(int8_dense())
    features = np.zeros((1, 16), np.float32)
    features[0, [3, 7]] = (np.nan, np.inf)
    np.save(tmp_path / "x.npy", features)
    result = run_accel("simulate-network", "-n", str(path), "--check", "-q", "--inputs",
                       str(tmp_path / "x.npy"), "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "error: input 'features' must be finite, not 2 NaN/infinite values"

"""`simulate-network --check / --inputs / --dump`: the int8 path of the CLI as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_accel

from accel.check.compare import CheckReport

pytest.importorskip("onnxruntime")


def test_check_writes_the_functional_section(tmp_path: Path) -> None:
    result = run_accel("simulate-network", "-n", "lenet5", "--check", "--out", str(tmp_path), "-q")
    assert result.returncode == 0, result.stderr
    section = json.loads((tmp_path / "summary.json").read_text())["functional"]
    assert section["reference"] == "onnxruntime" and section["mode"] == "onnx"
    assert (section["layers_checked"], section["mismatches"]) == (7, 0)
    assert (section["accumulator_bits"], section["accumulator_overflow"]) == (32, "wrap")
    assert "checked 7 layers against onnxruntime: all bit-exact" in result.stdout


def test_dump_and_inputs_round_trip(tmp_path: Path) -> None:
    images = np.random.default_rng(0).standard_normal((2, 1, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", images)
    args = ("simulate-network", "-n", "lenet5", "--batch", "2", "-q", "--out", str(tmp_path))
    first = run_accel(*args, "--inputs", str(tmp_path / "x.npy"), "--dump", str(tmp_path / "d"))
    assert first.returncode == 0, first.stderr
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())["tensors"]
    assert list(manifest) == ["input", "conv1", "pool1", "conv2", "pool2", "conv3", "fc4", "fc5"]
    fc5 = np.load(tmp_path / "d" / manifest["fc5"]["file"])
    assert fc5.shape == (2, 10, 1, 1) and fc5.dtype == np.int8
    # The dumped int8 input fed back as codes gives the same outputs, and checks clean.
    np.save(tmp_path / "q.npy", np.load(tmp_path / "d" / manifest["input"]["file"]))
    again = run_accel(*args, "--inputs", str(tmp_path / "q.npy"), "--check", "--dump",
                      str(tmp_path / "e"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "e" / manifest["fc5"]["file"]), fc5)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((1, 1, 28, 28), np.float32), r"input 'input' must have shape \(1, 1, 32, 32\)"),
        (np.zeros((1, 1, 32, 32), np.int16), r"input 'input' must be float32 images or int8 codes"),
    ],
)
def test_bad_inputs_exit_2(tmp_path: Path, array: np.ndarray, message: str) -> None:
    np.save(tmp_path / "x.npy", array)
    result = run_accel("simulate-network", "-n", "lenet5", "--inputs", str(tmp_path / "x.npy"))
    assert result.returncode == 2
    assert __import__("re").match("error: " + message, result.stderr.strip()), result.stderr


def test_tflite_chip_checks_mobilenet_v3(write_yaml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # h-swish, h-sigmoid (ADD + RELU6 + MUL), SE multiply: TFLite's kernels, 0 mismatches.
    pytest.importorskip("ai_edge_litert")
    chip = write_yaml("array: {requantization: tflite}\n", "tflite.yaml")
    result = run_accel("simulate-network", "-n", "mobilenet_v3_small", "-p", "resolution=32",
                       "-c", str(chip), "--check", "-q", "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    section = json.loads((tmp_path / "out" / "summary.json").read_text())["functional"]
    assert (section["mode"], section["mismatches"], section["unchecked_layers"]) == (
        "tflite", 0, ["flatten"])
    assert section["layers_checked"] == 107


def test_tflite_chip_checks_a_sigmoid_gate(write_yaml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Calibration pins a sigmoid's output to 1/256 (TFLite's only int8 LOGISTIC output).
    pytest.importorskip("ai_edge_litert")
    chip = write_yaml("array: {requantization: tflite}\n", "tflite.yaml")
    network = write_yaml(
        "name: gate\ninput: {channels: 3, height: 8, width: 8}\nlayers:\n"
        "  - {name: conv, kind: conv, out_channels: 4, kernel: 3, padding: 1}\n"
        "  - {name: act, kind: activation, function: sigmoid}\n"
        "  - {name: gated, kind: mul, inputs: [conv, act]}\n", "gate.yaml")
    result = run_accel("simulate-network", "-n", str(network), "-c", str(chip), "--check", "-q",
                       "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    section = json.loads((tmp_path / "out" / "summary.json").read_text())["functional"]
    assert (section["mode"], section["layers_checked"], section["mismatches"]) == ("tflite", 3, 0)


def test_a_standalone_batchnorm_is_checked_in_onnx_mode_and_refused_in_tflite_mode(
    write_yaml, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """DenseNet's pre-activation: BN -> ReLU before a conv, which nothing folds."""
    network = write_yaml(
        "name: preact\ninput: {channels: 3, height: 8, width: 8}\nlayers:\n"
        "  - {name: conv, kind: conv, out_channels: 4, kernel: 3, padding: 1}\n"
        "  - {name: norm, kind: batchnorm}\n"
        "  - {name: relu, kind: activation, function: relu}\n"
        "  - {name: conv2, kind: conv, out_channels: 4, kernel: 1}\n", "preact.yaml")
    result = run_accel("simulate-network", "-n", str(network), "--check", "-q",
                       "--out", str(tmp_path / "onnx"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    section = json.loads((tmp_path / "onnx" / "summary.json").read_text())["functional"]
    assert (section["mode"], section["layers_checked"], section["mismatches"]) == ("onnx", 4, 0)
    chip = write_yaml("array: {requantization: tflite}\n", "tflite.yaml")
    refused = run_accel("simulate-network", "-n", str(network), "-c", str(chip), "--check", "-q",
                        "--out", str(tmp_path / "tflite"))  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: layer 'norm': a standalone batchnorm (one no conv "
                                     "absorbs) has no tflite-mode int8 kernel in accel")


def test_a_mismatch_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from accel import cli, simulation

    real = simulation.run_functional

    def broken(*args: object, **kwargs: object) -> simulation.FunctionalResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        report = CheckReport("onnxruntime", "onnx", 7, ("conv2",), 3, 1)
        return simulation.FunctionalResult(result.qnet, result.run, report)

    monkeypatch.setattr(simulation, "run_functional", broken)
    monkeypatch.setattr("sys.argv", ["accel", "simulate-network", "-n", "lenet5", "--check",
                                     "-q", "--out", str(tmp_path)])  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    assert json.loads((tmp_path / "summary.json").read_text())["functional"]["mismatches"] == 1

"""Input files for functional runs (.npy / .npz) and per-tensor dumps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from accel.errors import InputError
from accel.io.tensors import load_inputs, write_dump
from accel.model.network import LayerEntry, Network
from accel.model.ops import Add, Shape
from accel.model.quantized import QuantizedNetwork, QuantParams


def _two_inputs() -> Network:
    shape = Shape(1, 2, 2)
    return Network.build("two", {"a": shape, "b": shape}, [LayerEntry("sum", Add(), ("a", "b"))])


def test_npz_holds_one_array_per_graph_input(tmp_path: Path) -> None:
    a, b = np.zeros((1, 1, 2, 2), np.float32), np.ones((1, 1, 2, 2), np.float32)
    np.savez(tmp_path / "x.npz", a=a, b=b)
    loaded = load_inputs(tmp_path / "x.npz", _two_inputs())
    assert sorted(loaded) == ["a", "b"]
    np.testing.assert_array_equal(loaded["b"], b)


@pytest.mark.parametrize(
    ("file_name", "message"),
    [
        ("missing.npy", r"inputs file must exist, not '.*missing.npy'"),
        ("x.npy", r"inputs for two must be an .npz with arrays \['a', 'b'\]"),
        ("bad.npy", r"inputs file '.*bad.npy' must be a numpy .npy or .npz"),
    ],
)
def test_input_file_errors(tmp_path: Path, file_name: str, message: str) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 2, 2), np.float32))
    (tmp_path / "bad.npy").write_text("not numpy")
    with pytest.raises(InputError, match=message):
        load_inputs(tmp_path / file_name, _two_inputs())


def test_dump_names_files_safely_and_lists_quantization(tmp_path: Path) -> None:
    network = Network.build("n", Shape(1, 1, 1), [LayerEntry("a/b", Add(), ("input", "input"))])
    params = {"input": QuantParams(0.5, 3), "a/b": QuantParams(0.25, -2)}
    qnet = QuantizedNetwork(network, params, {})
    outputs = {"input": np.full((1, 1, 1, 1), 7, np.int8), "a/b": np.full((1, 1, 1, 1), 9, np.int8)}
    write_dump(outputs, qnet, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["tensors"]["a/b"] == {
        "file": "a_b.npy", "shape": [1, 1, 1, 1], "dtype": "int8", "scale": 0.25, "zero_point": -2,
    }  # fmt: skip
    assert np.load(tmp_path / "a_b.npy").item() == 9


def test_dump_file_names_stay_short_and_inside_the_folder(tmp_path: Path) -> None:
    """A tensor named '..' or 300 characters long still gets one short file in the folder."""
    long, dots = "t" * 300, ".."
    network = Network.build("n", Shape(1, 1, 1), [LayerEntry(long, Add(), ("input", "input")),
                                                  LayerEntry(dots, Add(), (long, long))])  # fmt: skip
    params = {"input": QuantParams(0.5, 3), long: QuantParams(0.25, -2), dots: QuantParams(1, 0)}
    outputs = {name: np.full((1, 1, 1, 1), 1, np.int8) for name in ("input", long, dots)}
    out = tmp_path / "dump"
    write_dump(outputs, QuantizedNetwork(network, params, {}), out)
    files = json.loads((out / "manifest.json").read_text())["tensors"]
    assert files[long]["file"] == "t" * 100 + ".npy"
    assert files[dots]["file"] == "tensor.npy"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dump"]

"""Tensors on disk: user inputs for a functional run (.npy / .npz) and per-layer output dumps.

`--inputs x.npy` holds the single graph input of a network as an NCHW array (float32 images or
already-quantized int8/uint8 codes); a network with several graph inputs takes an .npz archive
with one array per input name. `--dump DIR` writes one .npy per tensor (graph inputs and layer
outputs, NCHW, int8/uint8) and `manifest.json` listing each file with its shape, dtype, scale and
zero point, so real values are `scale · (code − zero_point)` (a tensor an imported model keeps
in float32 is written as float32, with scale and zero point null).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from accel.errors import InputError, first_line
from accel.model.network import Network
from accel.model.quantized import QuantizedNetwork
from accel.results import safe_name


def load_inputs(path: Path, network: Network) -> dict[str, npt.NDArray[np.generic]]:
    """Arrays for every graph input from an .npy (one input) or .npz (by input name) file."""
    if not path.is_file():
        raise InputError(f"inputs file must exist, not {str(path)!r}")
    try:
        # Memory-mapped: a header that declares more data than the file holds is refused
        # before anything is allocated for it.
        loaded = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError) as err:
        raise InputError(f"inputs file {str(path)!r} must be a numpy .npy or .npz: "
                         f"{first_line(err)}") from None  # fmt: skip
    if isinstance(loaded, np.ndarray):
        if len(network.inputs) != 1:
            names = [name for name, _ in network.inputs]
            raise InputError(f"inputs for {network.name} must be an .npz with arrays {names!r}")
        return _finite({network.inputs[0][0]: np.array(loaded)})
    with loaded as archive:
        try:
            return _finite({name: archive[name] for name in archive.files})
        except ValueError as err:  # a pickled array inside the archive
            raise InputError(f"inputs file {str(path)!r} must hold plain arrays: "
                             f"{first_line(err)}") from None  # fmt: skip
        except MemoryError:
            raise InputError(f"inputs file {str(path)!r} declares arrays larger than this "
                             "machine's memory") from None  # fmt: skip


def _finite(arrays: dict[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.generic]]:
    """The arrays, or a one-line refusal of NaN or infinite values (no int8 code holds them)."""
    for name, array in arrays.items():
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            bad = int(np.count_nonzero(~np.isfinite(array)))
            raise InputError(f"input {name!r} must be finite, not {bad} NaN/infinite values")
    return arrays


def write_dump(
    outputs: Mapping[str, npt.NDArray[np.integer]], qnet: QuantizedNetwork, out_dir: Path
) -> None:
    """One .npy per tensor and a manifest.json with shapes and quantization."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, object]] = {}
    used: set[str] = set()
    for name, array in outputs.items():
        params = qnet.activations.get(name)  # None: a tensor the model keeps in float32
        file_name = safe_name(name, "tensor") + ".npy"
        while file_name in used:  # two names that differ only in replaced characters
            file_name = "_" + file_name
        used.add(file_name)
        np.save(out_dir / file_name, np.ascontiguousarray(array))
        manifest[name] = {
            "file": file_name,
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "scale": None if params is None else params.scale,
            "zero_point": None if params is None else params.zero_point,
        }
    text = json.dumps({"layout": "NCHW", "tensors": manifest}, indent=2) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8")

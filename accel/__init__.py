"""accel: a fast simulator of CNN accelerators.

Chip config → network → per-layer mapping, timing, memory traffic and energy → results;
and the int8 path: quantize_network → execute (tile by tile, along the memory model's tiling)
→ check against onnxruntime/TFLite.

The public names below are imported on first use (PEP 562 `__getattr__`), so a command that
only simulates cycles never pays for the functional engine, ONNX export or pydantic schemas it
does not touch; `from accel import simulate_network` works as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from accel.errors import InputError

if TYPE_CHECKING:
    from accel.api import load_chip, simulate, sweep_table, train_step
    from accel.config import ChipConfig
    from accel.functional.calibrate import quantize_network
    from accel.functional.engine import execute
    from accel.io.onnx_export import export_quantized_onnx
    from accel.io.sources import load_network, zoo_names
    from accel.mapping.mapper import Mapping, map_layer
    from accel.memory.model import model_memory
    from accel.model.network import Layer, Network
    from accel.model.ops import Shape
    from accel.model.quantized import QuantizedNetwork
    from accel.perf.timing import time_layer
    from accel.results import LayerResult, NetworkResult, write_results
    from accel.simulation import FunctionalResult, run_functional, simulate_layer, simulate_network

# Public name → the module that defines it.
_HOMES = {
    "simulate": "accel.api",
    "sweep_table": "accel.api",
    "load_chip": "accel.api",
    "train_step": "accel.api",
    "ChipConfig": "accel.config",
    "quantize_network": "accel.functional.calibrate",
    "execute": "accel.functional.engine",
    "QuantizedNetwork": "accel.model.quantized",
    "export_quantized_onnx": "accel.io.onnx_export",
    "load_network": "accel.io.sources",
    "zoo_names": "accel.io.sources",
    "Mapping": "accel.mapping.mapper",
    "map_layer": "accel.mapping.mapper",
    "Layer": "accel.model.network",
    "Network": "accel.model.network",
    "Shape": "accel.model.ops",
    "model_memory": "accel.memory.model",
    "time_layer": "accel.perf.timing",
    "LayerResult": "accel.results",
    "NetworkResult": "accel.results",
    "write_results": "accel.results",
    "FunctionalResult": "accel.simulation",
    "run_functional": "accel.simulation",
    "simulate_layer": "accel.simulation",
    "simulate_network": "accel.simulation",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'accel' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ChipConfig",
    "FunctionalResult",
    "InputError",
    "Layer",
    "LayerResult",
    "Mapping",
    "Network",
    "NetworkResult",
    "QuantizedNetwork",
    "Shape",
    "execute",
    "export_quantized_onnx",
    "load_chip",
    "load_network",
    "map_layer",
    "model_memory",
    "quantize_network",
    "run_functional",
    "simulate",
    "simulate_layer",
    "simulate_network",
    "sweep_table",
    "time_layer",
    "train_step",
    "write_results",
    "zoo_names",
]

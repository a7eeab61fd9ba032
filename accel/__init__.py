"""accel: a fast simulator of CNN accelerators.

Chip config → network → per-layer mapping, timing, memory traffic and energy → results;
and the int8 path: quantize_network → execute (tile by tile, along the memory model's tiling)
→ check against onnxruntime/TFLite.
"""

from accel.config import ChipConfig
from accel.errors import InputError
from accel.functional.calibrate import quantize_network
from accel.functional.engine import execute
from accel.functional.qmodel import QuantizedNetwork
from accel.io.onnx_export import export_quantized_onnx
from accel.io.sources import load_chip, load_network, zoo_names
from accel.mapping.mapper import Mapping, map_layer
from accel.model.network import Layer, Network
from accel.model.ops import Shape
from accel.perf.memory import model_memory
from accel.perf.timing import time_layer
from accel.results import LayerResult, NetworkResult, write_results
from accel.simulate import FunctionalResult, run_functional, simulate_layer, simulate_network

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
    "simulate_layer",
    "simulate_network",
    "time_layer",
    "write_results",
    "zoo_names",
]

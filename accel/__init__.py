"""accel: a fast simulator of CNN accelerators.

Chip config → network → per-layer mapping, timing, memory traffic and energy → results.
"""

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_chip, load_network, zoo_names
from accel.mapping.mapper import Mapping, map_layer
from accel.model.network import Layer, Network
from accel.model.ops import Shape
from accel.perf.memory import model_memory
from accel.perf.timing import time_layer
from accel.results import LayerResult, NetworkResult, write_results
from accel.simulate import simulate_layer, simulate_network

__all__ = [
    "ChipConfig",
    "InputError",
    "Layer",
    "LayerResult",
    "Mapping",
    "Network",
    "NetworkResult",
    "Shape",
    "load_chip",
    "load_network",
    "map_layer",
    "model_memory",
    "simulate_layer",
    "simulate_network",
    "time_layer",
    "write_results",
    "zoo_names",
]

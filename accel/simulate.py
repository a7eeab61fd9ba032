"""The orchestrator: the one place that chains the stages for every layer of a network.

map_layer  → where the layer runs and how it folds onto the array
time_layer → stall-free compute cycles and SRAM accesses
model_memory → DRAM traffic and the stalls it causes
layer_energy → energy per component
"""

from __future__ import annotations

from accel.config import ChipConfig
from accel.mapping.mapper import map_layer
from accel.model.network import Layer, Network
from accel.perf.energy import layer_energy
from accel.perf.memory import model_memory
from accel.perf.timing import time_layer
from accel.results import LayerResult, NetworkResult


def simulate_layer(layer: Layer, chip: ChipConfig, batch: int = 1) -> LayerResult:
    """Cycles, traffic and energy of one layer."""
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    total_cycles = timing.compute_cycles + memory.stall_cycles
    energy = layer_energy(mapping, timing, memory, total_cycles, chip)
    return LayerResult(mapping, timing, memory, energy, chip.array.pe_count)


def simulate_network(network: Network, chip: ChipConfig, batch: int = 1) -> NetworkResult:
    """Simulate every layer of `network` on `chip` for `batch` images."""
    layers = tuple(simulate_layer(layer, chip, batch) for layer in network.layers)
    return NetworkResult(network.name, chip, batch, network.params, layers)

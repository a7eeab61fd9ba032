"""The orchestrator: the one place that chains the stages for every layer of a network.

map_layer     → where the layer runs and how it folds onto the array
time_layer    → stall-free compute cycles and SRAM accesses
model_memory  → tiling under SRAM capacity, DRAM traffic, the layer's replayed pipeline
replay_network → the end-to-end timeline: layers back to back, next weights prefetched
layer_energy  → energy per component over each layer's share of that timeline
"""

from __future__ import annotations

from accel.config import ChipConfig
from accel.mapping.mapper import map_layer
from accel.model.network import Layer, Network
from accel.perf.energy import layer_energy
from accel.perf.footprint import network_footprint
from accel.perf.memory import model_memory
from accel.perf.replay import replay_network
from accel.perf.timing import time_layer
from accel.results import LayerResult, NetworkResult


def simulate_layer(layer: Layer, chip: ChipConfig, batch: int = 1) -> LayerResult:
    """Cycles, traffic and energy of one layer run alone (empty buffers, idle channel)."""
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    total_cycles = timing.compute_cycles + memory.stall_cycles
    energy = layer_energy(mapping, timing, memory, total_cycles, chip)
    return LayerResult(mapping, timing, memory, energy, chip.array.pe_count)


def simulate_network(network: Network, chip: ChipConfig, batch: int = 1) -> NetworkResult:
    """Simulate every layer of `network` on `chip` for `batch` images, end to end."""
    mappings = [map_layer(layer, chip, batch) for layer in network.layers]
    timings = [time_layer(mapping, chip) for mapping in mappings]
    memories = [
        model_memory(mapping, timing, chip)
        for mapping, timing in zip(mappings, timings, strict=True)
    ]
    # Each layer's share of the end-to-end timeline (sums to the network's latency).
    shares = replay_network([memory.schedule for memory in memories], chip)
    footprint = network_footprint(network, batch)
    layers = tuple(
        LayerResult(
            mapping,
            timing,
            memory,
            layer_energy(mapping, timing, memory, cycles, chip),
            chip.array.pe_count,
            cycles,
            layer_footprint,
        )
        for mapping, timing, memory, cycles, layer_footprint in zip(
            mappings, timings, memories, shares, footprint.layers, strict=True
        )
    )
    return NetworkResult(network.name, chip, batch, network.params, layers, footprint=footprint)

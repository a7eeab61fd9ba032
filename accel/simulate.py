"""The orchestrator: the one place that chains the stages for every layer of a network.

map_layer     → where the layer runs and how it folds onto the array
time_layer    → stall-free compute cycles and SRAM accesses
model_memory  → tiling under SRAM capacity, DRAM traffic, the layer's replayed pipeline
replay_network → the end-to-end timeline: layers back to back, next weights prefetched
layer_energy  → energy per component over each layer's share of that timeline

run_functional chains the int8 path: quantize_network → prepare → run along each layer's
tile schedule (the tiling model_memory chose, `engine.schedules_for`) → (optionally) the
bit-exact check against onnxruntime or TFLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.config import ChipConfig
from accel.functional.calibrate import quantize_network
from accel.functional.check import CheckReport, check_onnxruntime
from accel.functional.engine import FunctionalRun, execute
from accel.functional.inputs import prepare_inputs, random_images
from accel.functional.qmodel import QuantizedNetwork
from accel.functional.tflite_check import check_tflite
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


@dataclass(frozen=True, eq=False)
class FunctionalResult:
    """The int8 numbers of one functional run, the model that produced them, and the check."""

    qnet: QuantizedNetwork
    run: FunctionalRun
    check: CheckReport | None

    def summary(self) -> dict[str, Any]:
        """The summary.json `functional` section."""
        accumulator = self.run.accumulator
        section: dict[str, Any] = {"mode": self.run.mode}
        if self.check is not None:
            section.update(self.check.as_dict())
        section.update(
            accumulator_bits=accumulator.bits,
            accumulator_overflow=accumulator.overflow,
            overflowed_layers={k: v for k, v in self.run.overflowed.items() if v},
        )
        return section


def run_functional(
    network: Network,
    chip: ChipConfig,
    batch: int = 1,
    inputs: Mapping[str, npt.NDArray[np.generic]] | None = None,
    check: bool = False,
    seed: int = 0,
) -> FunctionalResult:
    """Quantize `network`, execute it on `chip` fold by fold, optionally check every layer.

    Without `inputs`, the batch is seeded random images. The reference is onnxruntime in the
    chip's `onnx` requantization mode and TFLite's reference kernels in `tflite` mode.
    """
    qnet = quantize_network(network, seed=seed)
    images = inputs if inputs is not None else random_images(network, batch, seed)
    network_inputs = prepare_inputs(qnet, images, batch)
    # Array layers run in the fold order the mapper chooses for this chip and batch.
    result = execute(qnet, network_inputs.quantized, chip)
    report = None
    if check and chip.array.requantization == "onnx":
        report = check_onnxruntime(qnet, result.outputs, network_inputs.real)
    elif check:
        report = check_tflite(qnet, result.outputs)
    return FunctionalResult(qnet, result, report)

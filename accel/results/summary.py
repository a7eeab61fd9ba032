"""Blocks of summary.json computed from per-layer figures: the metrics that need no memory
model (`ANALYTIC_METRICS`, also what an analytic sweep point computes), the footprint's, and a
training step's `training` block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from accel.config import ChipConfig
from accel.memory.footprint import NetworkFootprint
from accel.perf.area import chip_area

if TYPE_CHECKING:
    from accel.model.training import TrainingMemory
    from accel.results.layer import LayerResult

def training_section(
    layers: Sequence[LayerResult], memory: TrainingMemory, chip: ChipConfig, optimizer: str
) -> dict[str, Any]:
    """The summary's `training` block: MACs, cycles per pass, the step's rate and memory."""
    from accel.model.training import PASSES

    macs = {name: 0 for name in PASSES}
    cycles = {name: 0 for name in PASSES}
    for layer in layers:
        if layer.pass_name is not None:
            macs[layer.pass_name] += layer.macs
            cycles[layer.pass_name] += layer.total_cycles
    step_cycles = sum(cycles.values())
    steps_per_s = chip.clock_mhz * 1e6 / step_cycles if step_cycles else 0.0
    updates = sum(layer.mapping.vector_ops for layer in layers if layer.pass_name == "update")
    capacity = chip.dram.capacity_bytes
    return {
        "optimizer": optimizer,
        "precision": chip.array.precision,
        "activations": chip.training.activations,
        "macs": sum(macs.values()),
        "forward_macs": macs["forward"],
        "recompute_macs": sum(layer.macs for layer in layers if layer.name.endswith(".recompute")),
        "backward_macs": macs["backward_data"] + macs["backward_weight"],
        "backward_data_macs": macs["backward_data"],
        "backward_weight_macs": macs["backward_weight"],
        "update_ops": updates,
        "memory_bytes": {
            "weights": memory.weights,
            "gradients": memory.gradients,
            "optimizer_state": memory.optimizer_state,
            "activations": memory.activations,
            "peak_live": memory.peak_live_per_image * memory.batch,
            "total": memory.peak_bytes,
        },
        "per_image_bytes": {
            "activations": memory.activations_per_image,
            "peak_live": memory.peak_live_per_image,
        },
        "dram_capacity_bytes": capacity,
        "fits_dram": memory.peak_bytes <= capacity,
        "max_batch": memory.max_batch(capacity),
        "cycles": cycles,
        "step_cycles": step_cycles,
        "steps_per_s": round(steps_per_s, 6),
        "images_per_s": round(steps_per_s * memory.batch, 3),
    }


# Summary metrics that need no memory model: a sweep that asks only for these skips it.
ANALYTIC_METRICS = frozenset((
    "layers", "params", "macs", "compute_cycles", "compulsory_dram_bytes", "weight_bytes",
    "peak_activation_bytes", "peak_footprint_bytes", "sram_bytes", "max_batch_on_chip",
    "area_mm2",
))  # fmt: skip


def analytic_summary(
    chip: ChipConfig,
    params: int,
    footprint: NetworkFootprint | None,
    layers: Sequence[tuple[int, int, int]],
    footprint_block: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `ANALYTIC_METRICS` of a run from each layer's (MACs, compute cycles, compulsory DRAM
    bytes): the summary's and the analytic sweep path's one home. `footprint_block` is
    `footprint_summary(footprint, chip)` where the caller has it already."""
    return {
        "layers": len(layers),
        "params": params,
        "macs": sum(macs for macs, _, _ in layers),
        "compute_cycles": sum(cycles for _, cycles, _ in layers),
        "compulsory_dram_bytes": sum(compulsory for _, _, compulsory in layers),
        "area_mm2": _area_mm2(chip),
        **(footprint_summary(footprint, chip) if footprint_block is None else footprint_block),
    }


def _area_mm2(chip: ChipConfig) -> float:
    """Every core's PEs and SRAM (a single-core chip: its own), plus a global buffer."""
    if chip.core_count == 1:
        return chip_area(chip).total_mm2
    cores = sum(chip_area(core).total_mm2 for core in chip.core_chips())
    shared = chip.global_buffer
    if shared is None:
        return cores
    per_kib = chip_area(chip).sram_um2_per_kib
    return cores + per_kib * shared.size_bytes / 1024 * 1e-6


def footprint_summary(footprint: NetworkFootprint | None, chip: ChipConfig) -> dict[str, Any]:
    sram = chip.sram.total_bytes
    if footprint is None:
        return {}
    return {
        "weight_bytes": footprint.total_weight_bytes,
        "peak_activation_bytes": footprint.peak_activation_bytes,
        "peak_footprint_bytes": footprint.peak_bytes,
        "sram_bytes": sram,
        "weights_fit_on_chip": footprint.total_weight_bytes <= sram,
        "network_fits_on_chip": footprint.fits(sram),
        "max_batch_on_chip": footprint.max_batch(sram),
    }

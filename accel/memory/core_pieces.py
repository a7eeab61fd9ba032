"""A multi-core run's pieces: one core's share of a layer, costed alone on that core, and how
the pieces become tasks of the cores' event schedule (`core_timeline.py`).

Every piece is costed by the single-core stages (mapping, timing, the memory model's tiling and
traffic) on its own core; `played` runs the tasks on `core_timeline.run_cores`, where their DRAM
transfers contend for the shared channel, and gives each layer its share of the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.config import ChipConfig
from accel.mapping.mapper import map_layer
from accel.memory.core_split import shares
from accel.memory.core_timeline import CoreSchedule, CoreTask, run_cores
from accel.memory.model import model_memory
from accel.model.network import Layer
from accel.perf.timing import time_layer

MAX_CHUNKS = 16  # chunks per piece in the event schedule (fewer when it has fewer tile steps)


@dataclass(frozen=True)
class Piece:
    """One core's piece of a layer, costed alone on that core."""

    core: int
    macs: int
    compute_cycles: int  # stall-free compute plus array refills
    isolated_cycles: int  # alone on the core with the whole channel: the exact tile replay
    ifmap_bytes: int  # DRAM bytes per operand
    weight_bytes: int
    ofmap_write_bytes: int
    ofmap_read_bytes: int
    tile_steps: int
    compulsory_ofmap_bytes: int = 0
    peer_bytes: int = 0  # received over the NoC (from another core or the global buffer)
    peer_hops: int = 0

    @property
    def dram_read_bytes(self) -> int:
        return self.ifmap_bytes + self.weight_bytes + self.ofmap_read_bytes

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.ofmap_write_bytes


@dataclass(frozen=True)
class LayerCores:
    """How one layer ran on the cores: the cut, its pieces, its share of the timeline."""

    cut: str  # channels | rows | spread | whole | stage | bands
    pieces: tuple[Piece, ...]
    cycles: int = 0  # the layer's share of the end-to-end timeline

    @property
    def cores_used(self) -> int:
        return len({piece.core for piece in self.pieces})

    def total(self, field: str) -> int:
        return sum(getattr(piece, field) for piece in self.pieces)

    @property
    def compute_cycles(self) -> int:
        """The busiest core's compute on this layer: its pieces' cycles summed (the bands of a
        pipelined layer follow one another on one core)."""
        per_core: dict[int, int] = {}
        for piece in self.pieces:
            per_core[piece.core] = per_core.get(piece.core, 0) + piece.compute_cycles
        return max(per_core.values(), default=0)


@dataclass(frozen=True)
class MultiCoreRun:
    """A network on all cores: per-layer pieces, the event schedule and its totals."""

    schedule: str  # split | pipeline
    layers: tuple[LayerCores, ...]
    tasks: tuple[CoreTask, ...]
    timeline: CoreSchedule
    core_macs: tuple[int, ...]

    @property
    def total_cycles(self) -> int:
        return self.timeline.total_cycles


def piece_cost(layer: Layer, chip: ChipConfig, batch: int, core: int) -> Piece:
    """`layer` (or a piece of it) alone on one core: the single-core stages, unchanged."""
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    return Piece(
        core, mapping.macs, timing.compute_cycles + memory.refill_cycles,
        timing.compute_cycles + memory.stall_cycles, memory.dram_ifmap_bytes,
        memory.dram_weight_bytes, memory.dram_ofmap_write_bytes, memory.dram_ofmap_read_bytes,
        memory.tile_steps, memory.compulsory_ofmap_bytes,
    )  # fmt: skip


def shares_or_zeros(total: int, parts: int) -> list[int]:
    return shares(total, parts) + [0] * (parts - min(parts, total)) if total else [0] * parts


def task_of(piece: Piece, layer: int, after: tuple[int, ...], image: int = -1) -> CoreTask:
    return CoreTask(
        piece.core, layer, piece.compute_cycles, piece.dram_read_bytes, piece.ofmap_write_bytes,
        piece.peer_bytes, piece.peer_hops, max(1, min(MAX_CHUNKS, piece.tile_steps)), after,
        piece.macs, image,
    )  # fmt: skip


def played(
    schedule: str, layers: tuple[LayerCores, ...], tasks: list[CoreTask], chip: ChipConfig
) -> MultiCoreRun:
    timeline = run_cores(tasks, chip.core_count, chip)
    # Each layer's share: from the latest finish of the layers before it to its own latest.
    finish = [0] * len(layers)
    for task, end in zip(tasks, timeline.finishes, strict=True):
        finish[task.layer] = max(finish[task.layer], end)
    shared, reached = [], 0
    for plan, end in zip(layers, finish, strict=True):
        shared.append(LayerCores(plan.cut, plan.pieces, max(0, end - reached)))
        reached = max(reached, end)
    core_macs = [0] * chip.core_count
    for task in tasks:
        core_macs[task.core] += task.macs
    return MultiCoreRun(schedule, tuple(shared), tuple(tasks), timeline, tuple(core_macs))

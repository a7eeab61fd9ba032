"""The layer-pipelined schedule: consecutive layers on different cores, one stage per core.

The layers are cut into contiguous stages balancing each stage's single-core cycles (the linear
partition, `balanced_stages`). An activation that crosses to another core goes over the NoC
instead of through DRAM (the producer does not write it back, the consumer receives what it
would have read). With a batch, the images stream through the stages (`image_pipeline`); one
image streams through them in bands of rows (`core_bands.py`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from accel.config import ChipConfig
from accel.memory.core_pieces import LayerCores, MultiCoreRun, Piece, piece_cost, played, task_of
from accel.memory.core_timeline import CoreTask, hops_between
from accel.model.network import Layer, Network


@dataclass(frozen=True)
class Stages:
    """Which core runs each layer, and who reads each tensor."""

    cores: tuple[ChipConfig, ...]
    core_of: dict[str, int]  # layer → its stage, the core that runs it
    readers: dict[str, list[str]]  # tensor → the layers that read it


def stages_of(network: Network, chip: ChipConfig) -> Stages:
    """Contiguous stages, one per core, balancing each stage's single-core cycles."""
    cores = tuple(chip.core_chips())
    alone = [piece_cost(layer, cores[0], 1, 0) for layer in network.layers]
    stages = balanced_stages([piece.isolated_cycles for piece in alone], len(cores))
    core_of = {layer.name: stage for layer, stage in zip(network.layers, stages, strict=True)}
    readers: dict[str, list[str]] = {}
    for layer in network.layers:
        for name in layer.inputs:
            readers.setdefault(name, []).append(layer.name)
    return Stages(cores, core_of, readers)


def image_pipeline(network: Network, chip: ChipConfig, batch: int = 1) -> MultiCoreRun:
    """Consecutive layers on different cores; the images stream through the stages."""
    plan = stages_of(network, chip)
    pieces = [
        streamed(layer.name, layer, piece_cost(layer, plan.cores[plan.core_of[layer.name]], 1,
                                               plan.core_of[layer.name]), plan, chip)
        for layer in network.layers
    ]  # fmt: skip
    tasks: list[CoreTask] = []
    for image in range(batch):
        produced: dict[str, tuple[int, ...]] = {}
        for index, (layer, piece) in enumerate(zip(network.layers, pieces, strict=True)):
            after = tuple(sorted({t for name in layer.inputs for t in produced.get(name, ())}))
            if not (piece.compute_cycles or piece.dram_bytes or piece.peer_bytes):
                produced[layer.name] = after
                continue
            produced[layer.name] = (len(tasks),)
            tasks.append(task_of(piece, index, after, image))
    layers = tuple(LayerCores("stage", (_times(piece, batch),)) for piece in pieces)
    return played("pipeline", layers, tasks, chip)


def balanced_stages(cycles: Sequence[int], parts: int) -> list[int]:
    """The stage of each layer: `parts` contiguous stages minimizing the largest stage's sum
    (the classic linear partition, by dynamic programming)."""
    count = len(cycles)
    parts = max(1, min(parts, count))
    prefix = [0]
    for each in cycles:
        prefix.append(prefix[-1] + each)
    # best[k][i]: the smallest largest-stage sum of the first i layers in k stages.
    best: list[list[float]] = [[math.inf] * (count + 1) for _ in range(parts + 1)]
    cut = [[0] * (count + 1) for _ in range(parts + 1)]
    best[0][0] = 0
    for k in range(1, parts + 1):
        for i in range(1, count + 1):
            for j in range(k - 1, i):
                value = max(best[k - 1][j], float(prefix[i] - prefix[j]))
                if value < best[k][i]:
                    best[k][i], cut[k][i] = value, j
    stages, end = [0] * count, count
    for k in range(parts, 0, -1):
        start = cut[k][end]
        for i in range(start, end):
            stages[i] = k - 1
        end = start
    return stages


def streamed(name: str, layer: Layer, piece: Piece, plan: Stages, chip: ChipConfig) -> Piece:
    """A pipelined piece of layer `name` (`layer`: the piece's own shapes): inputs from other
    cores over the NoC, an output that only other cores read not written back."""
    core_of, readers = plan.core_of, plan.readers
    core = core_of[name]
    count = chip.core_count
    remote = [(i, source) for i, source in enumerate(layer.inputs)
              if source in core_of and core_of[source] != core]  # fmt: skip
    ifmap, peer, hops = piece.ifmap_bytes, 0, 0
    if remote:
        total = sum(shape.elements for shape in layer.input_shapes) or 1
        for i, source in remote:
            moved = piece.ifmap_bytes * layer.input_shapes[i].elements // total
            ifmap, peer = ifmap - moved, peer + moved
            hops = max(hops, hops_between(core_of[source], core, count, chip.noc.topology))
    written = piece.ofmap_write_bytes
    outputs = readers.get(name, [])
    if outputs and all(core_of.get(reader, core) != core for reader in outputs):
        written -= piece.compulsory_ofmap_bytes
    return replace(piece, ifmap_bytes=ifmap, ofmap_write_bytes=max(written, 0),
                    peer_bytes=peer, peer_hops=hops)  # fmt: skip


def _times(piece: Piece, batch: int) -> Piece:
    """A pipelined layer's per-image piece, for all `batch` images."""
    return Piece(
        piece.core, piece.macs * batch, piece.compute_cycles * batch,
        piece.isolated_cycles * batch, piece.ifmap_bytes * batch, piece.weight_bytes * batch,
        piece.ofmap_write_bytes * batch, piece.ofmap_read_bytes * batch,
        piece.tile_steps * batch, piece.compulsory_ofmap_bytes * batch, piece.peer_bytes * batch,
        piece.peer_hops,
    )  # fmt: skip

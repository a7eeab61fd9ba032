"""Scheduling a network over the cores of a multi-core chip: who computes what, and when.

Two schedules (the chip's `core_schedule`; `auto` runs both and keeps the faster):

- `split`, layer by layer: every layer is cut over all cores (`core_split.py`), by output
  channels or by output-row bands, whichever has the smaller estimate: the slowest piece alone
  (its single-core cycles on its core, from the exact tile replay) or, when larger, the layer's
  DRAM bytes over the shared channel's bandwidth. Vector-unit layers spread evenly over the
  cores. A piece starts when every piece of the layers it reads has finished.
- `pipeline`, layer-pipelined (`core_stages.py`): the layers are cut into contiguous stages,
  one per core; the images of a batch stream through the stages, and one image streams through
  them in bands of rows (`core_bands.py`).

Every piece is costed by the single-core stages on its own core, then played on
`core_timeline.run_cores` (`core_pieces.py`). A shared `global_buffer` holds an operand every
core reads in full (the ifmap of a channel cut, the weights of a row cut) when it fits: it is
read from DRAM once and sent to each core over the NoC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from accel.config import ChipConfig
from accel.memory.core_bands import band_pipeline
from accel.memory.core_pieces import (
    LayerCores,
    MultiCoreRun,
    Piece,
    piece_cost,
    played,
    shares_or_zeros,
    task_of,
)
from accel.memory.core_split import CUTS, split_layer
from accel.memory.core_stages import image_pipeline
from accel.memory.core_timeline import CoreTask
from accel.model.network import Layer, Network


def schedule_network(network: Network, chip: ChipConfig, batch: int = 1) -> MultiCoreRun:
    """The chip's `core_schedule` of `network`: split, pipeline, or the faster (auto)."""
    choice = chip.core_schedule
    if choice == "split":
        return split_schedule(network, chip, batch)
    if choice == "pipeline":
        return pipeline_schedule(network, chip, batch)
    split, pipeline = split_schedule(network, chip, batch), pipeline_schedule(network, chip, batch)
    return pipeline if pipeline.total_cycles < split.total_cycles else split


def pipeline_schedule(network: Network, chip: ChipConfig, batch: int = 1) -> MultiCoreRun:
    """Layer-pipelined: one image in bands of rows, or a batch's images, through the stages."""
    return band_pipeline(network, chip) if batch == 1 else image_pipeline(network, chip, batch)


def split_schedule(network: Network, chip: ChipConfig, batch: int = 1) -> MultiCoreRun:
    """Layer by layer, every layer cut over all cores."""
    cores = chip.core_chips()
    layers = tuple(_split_layer(layer, cores, chip, batch) for layer in network.layers)
    tasks: list[CoreTask] = []
    produced: dict[str, tuple[int, ...]] = {}  # layer → its tasks (or its inputs' tasks)
    for index, (layer, plan) in enumerate(zip(network.layers, layers, strict=True)):
        after = tuple(sorted({t for name in layer.inputs for t in produced.get(name, ())}))
        if not plan.pieces:
            produced[layer.name] = after  # moves nothing: its readers wait for its inputs
            continue
        first = len(tasks)
        tasks += [task_of(piece, index, after) for piece in plan.pieces]
        produced[layer.name] = tuple(range(first, len(tasks)))
    return played("split", layers, tasks, chip)


def _split_layer(
    layer: Layer, cores: Sequence[ChipConfig], chip: ChipConfig, batch: int
) -> LayerCores:
    whole = piece_cost(layer, cores[0], batch, 0)
    if not (whole.compute_cycles or whole.dram_bytes):
        return LayerCores("whole", ())
    if not layer.uses_array:
        return LayerCores("spread", _spread(whole, len(cores)))
    best = (float(whole.isolated_cycles), LayerCores("whole", (whole,)))
    for cut in CUTS:
        parts = split_layer(layer, len(cores), cut)
        if parts is None:
            continue
        pieces = tuple(piece_cost(part, cores[i], batch, i) for i, part in enumerate(parts))
        pieces = _shared_operand(pieces, cut, layer, chip, batch)
        estimate = max(float(max(p.isolated_cycles for p in pieces)),
                       sum(p.dram_bytes for p in pieces) / chip.dram.bandwidth_bytes_per_cycle)
        if estimate < best[0]:
            best = (estimate, LayerCores(cut, pieces))
    return best[1]


def _spread(whole: Piece, parts: int) -> tuple[Piece, ...]:
    """A vector-unit layer's elementwise work, in near-equal shares per core (a layer the
    memory model moves in fewer slices than there are cores uses that many cores)."""
    count = max(1, min(parts, whole.tile_steps or parts))
    split = [shares_or_zeros(getattr(whole, field), count) for field in (
        "macs", "compute_cycles", "isolated_cycles", "ifmap_bytes", "weight_bytes",
        "ofmap_write_bytes", "ofmap_read_bytes", "compulsory_ofmap_bytes")]  # fmt: skip
    steps = shares_or_zeros(max(whole.tile_steps, count), count)
    return tuple(
        Piece(core, split[0][core], split[1][core], split[2][core], split[3][core],
              split[4][core], split[5][core], split[6][core], steps[core], split[7][core])
        for core in range(count)
    )  # fmt: skip


def _shared_operand(
    pieces: tuple[Piece, ...], cut: str, layer: Layer, chip: ChipConfig, batch: int
) -> tuple[Piece, ...]:
    """With a global buffer that holds it, the operand every core reads in full (the ifmap of
    a channel cut of a dense layer, the weights of a row cut) comes from DRAM once."""
    buffer = chip.global_buffer
    if buffer is None:
        return pieces
    operand = "weight_bytes" if cut == "rows" else "ifmap_bytes"
    element = chip.array.element_bytes
    size = (layer.weight_bytes_at(element) if cut == "rows"
            else layer.input_shapes[0].elements * batch * element)  # fmt: skip
    if cut == "channels" and getattr(layer.op, "groups", 1) > 1:
        return pieces  # each core reads only its own groups' channels
    if size > buffer.size_bytes:
        return pieces
    once = shares_or_zeros(size, len(pieces))
    return tuple(
        replace(piece, **{operand: once[i]}, peer_bytes=getattr(piece, operand),
                 peer_hops=1)
        for i, piece in enumerate(pieces)
    )  # fmt: skip

"""Scheduling a network over the cores of a multi-core chip: who computes what, and when.

Two schedules (the chip's `core_schedule`; `auto` runs both and keeps the faster):

- `split`, layer by layer: every layer is cut over all cores (`core_split.py`), by output
  channels or by output-row bands, whichever has the smaller estimate: the slowest piece alone
  (its single-core cycles on its core, from the exact tile replay) or, when larger, the layer's
  DRAM bytes over the shared channel's bandwidth. Vector-unit layers spread evenly over the
  cores. A piece starts when every piece of the layers it reads has finished.
- `pipeline`, layer-pipelined: the layers are cut into contiguous stages, one per core,
  balancing each stage's single-core cycles; the images of the batch stream through the stages.
  An activation that crosses to another core goes over the NoC instead of through DRAM (the
  producer does not write it back, the consumer receives what it would have read).

Every piece is costed by the single-core stages (mapping, timing, the memory model's tiling and
traffic) on its own core, then played on `core_timeline.run_cores`, where the pieces' DRAM
transfers contend for the shared channel. A shared `global_buffer` holds an operand every core
reads in full (the ifmap of a channel cut, the weights of a row cut) when it fits: it is read
from DRAM once and sent to each core over the NoC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from accel.config import ChipConfig
from accel.mapping.mapper import map_layer
from accel.memory.core_split import CUTS, shares, split_layer
from accel.memory.core_timeline import CoreSchedule, CoreTask, hops_between, run_cores
from accel.memory.model import model_memory
from accel.model.network import Layer, Network
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

    cut: str  # channels | rows | spread | whole | stage
    pieces: tuple[Piece, ...]
    cycles: int = 0  # the layer's share of the end-to-end timeline

    @property
    def cores_used(self) -> int:
        return len({piece.core for piece in self.pieces})

    def total(self, field: str) -> int:
        return sum(getattr(piece, field) for piece in self.pieces)


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


def schedule_network(network: Network, chip: ChipConfig, batch: int = 1) -> MultiCoreRun:
    """The chip's `core_schedule` of `network`: split, pipeline, or the faster (auto)."""
    choice = chip.core_schedule
    if choice == "split" or (choice == "auto" and batch < 2):
        return split_schedule(network, chip, batch)
    if choice == "pipeline":
        return pipeline_schedule(network, chip, batch)
    split, pipeline = split_schedule(network, chip, batch), pipeline_schedule(network, chip, batch)
    return pipeline if pipeline.total_cycles < split.total_cycles else split


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
        tasks += [_task(piece, index, after) for piece in plan.pieces]
        produced[layer.name] = tuple(range(first, len(tasks)))
    return _played("split", layers, tasks, chip)


def pipeline_schedule(network: Network, chip: ChipConfig, batch: int = 1) -> MultiCoreRun:
    """Consecutive layers on different cores; the images stream through the stages."""
    cores = chip.core_chips()
    alone = [piece_cost(layer, cores[0], 1, 0) for layer in network.layers]
    stages = balanced_stages([piece.isolated_cycles for piece in alone], len(cores))
    core_of = {layer.name: stage for layer, stage in zip(network.layers, stages, strict=True)}
    readers: dict[str, list[str]] = {}
    for layer in network.layers:
        for name in layer.inputs:
            readers.setdefault(name, []).append(layer.name)
    pieces = [
        _streamed(layer, piece_cost(layer, cores[core_of[layer.name]], 1, core_of[layer.name]),
                  core_of, readers, chip)
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
            tasks.append(_task(piece, index, after, image))
    layers = tuple(LayerCores("stage", (_times(piece, batch),)) for piece in pieces)
    return _played("pipeline", layers, tasks, chip)


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


def shares_or_zeros(total: int, parts: int) -> list[int]:
    return shares(total, parts) + [0] * (parts - min(parts, total)) if total else [0] * parts


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


def _streamed(
    layer: Layer, piece: Piece, core_of: dict[str, int], readers: dict[str, list[str]],
    chip: ChipConfig,
) -> Piece:
    """A pipelined layer's piece: inputs from other cores over the NoC, an output that only
    other cores read not written back."""
    core = core_of[layer.name]
    count = chip.core_count
    remote = [(i, name) for i, name in enumerate(layer.inputs)
              if name in core_of and core_of[name] != core]  # fmt: skip
    ifmap, peer, hops = piece.ifmap_bytes, 0, 0
    if remote:
        total = sum(shape.elements for shape in layer.input_shapes) or 1
        for i, name in remote:
            moved = piece.ifmap_bytes * layer.input_shapes[i].elements // total
            ifmap, peer = ifmap - moved, peer + moved
            hops = max(hops, hops_between(core_of[name], core, count, chip.noc.topology))
    written = piece.ofmap_write_bytes
    outputs = readers.get(layer.name, [])
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


def _task(piece: Piece, layer: int, after: tuple[int, ...], image: int = -1) -> CoreTask:
    return CoreTask(
        piece.core, layer, piece.compute_cycles, piece.dram_read_bytes, piece.ofmap_write_bytes,
        piece.peer_bytes, piece.peer_hops, max(1, min(MAX_CHUNKS, piece.tile_steps)), after,
        piece.macs, image,
    )  # fmt: skip


def _played(
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


def network_compulsory_bytes(
    network: Network, batch: int, element_bytes: int, ifmap_reads: Mapping[str, int] | None = None
) -> int:
    """The network's DRAM lower bound: its inputs, every weight and its outputs, each once.
    `ifmap_reads` (a single-input layer's name → the compulsory bytes of its ifmap: the
    elements some window reads) bounds an input that every reader reads only in part (a
    strided 1×1 conv skips pixels) by what its readers read."""
    read = {name for layer in network.layers for name in layer.inputs}
    inputs = 0
    for name, shape in network.inputs:
        whole = shape.elements * batch * element_bytes
        readers = [layer for layer in network.layers if name in layer.inputs]
        parts = [(ifmap_reads or {}).get(layer.name, whole) if len(layer.inputs) == 1 else whole
                 for layer in readers]  # fmt: skip
        inputs += max(parts, default=whole)
    outputs = sum(layer.output_shape.elements for layer in network.layers
                  if layer.name not in read)  # fmt: skip
    weights = sum(layer.weight_bytes_at(element_bytes) for layer in network.layers)
    return inputs + outputs * batch * element_bytes + weights


def cores_section(
    run: MultiCoreRun, network: Network, chip: ChipConfig, batch: int,
    ifmap_reads: Mapping[str, int] | None = None,
) -> dict[str, object]:
    """The summary.json `cores` block: the schedule, each core's busy time and utilization,
    NoC and DRAM traffic against the network's compulsory bound."""
    cycles = run.total_cycles
    peer = sum(task.peer_bytes for task in run.tasks)
    dram = sum(task.dram_read_bytes + task.dram_write_bytes for task in run.tasks)
    bound = network_compulsory_bytes(network, batch, chip.array.element_bytes, ifmap_reads)
    cores = chip.core_chips()
    return {
        "count": chip.core_count,
        "schedule": run.schedule,
        "noc_topology": chip.noc.topology,
        "per_core": [
            {"core": index, "array": f"{core.array.rows}x{core.array.cols}",
             "busy_cycles": busy, "macs": macs,
             "busy_fraction": round(busy / cycles, 6) if cycles else 0.0,
             "utilization": round(macs / (cycles * core.array.pe_count), 6) if cycles else 0.0}
            for index, (core, busy, macs) in enumerate(
                zip(cores, run.timeline.busy_cycles, run.core_macs, strict=True))
        ],
        "dram_bytes": dram,
        "compulsory_dram_bytes": bound,
        "dram_over_compulsory": round(dram / bound, 4) if bound else 0.0,
        "dram_channel_busy_cycles": run.timeline.channel_busy_cycles,
        "noc_bytes": dram + peer,
        "core_to_core_bytes": peer,
    }  # fmt: skip


def core_trace_events(
    names: Sequence[str], run: MultiCoreRun, chip: ChipConfig
) -> dict[str, object]:
    """The schedule in Chrome's trace-event format (Perfetto): one track per core, a span per
    piece of a layer; times in µs at the chip's clock, cycles in each event's args."""
    us = 1.0 / chip.clock_mhz
    events: list[dict[str, object]] = [
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": core,
         "args": {"name": f"core {core}"}}
        for core in range(chip.core_count)
    ]
    for index, task in enumerate(run.tasks):
        start, end = run.timeline.starts[index], run.timeline.finishes[index]
        events.append({"ph": "X", "name": names[task.layer], "cat": run.schedule, "pid": 1,
                       "tid": task.core, "ts": start * us, "dur": (end - start) * us,
                       "args": {"cycles": end - start, "compute_cycles": task.compute_cycles,
                                "dram_bytes": task.dram_read_bytes + task.dram_write_bytes,
                                "core_to_core_bytes": task.peer_bytes,
                                "image": task.image}})  # fmt: skip
    other = {"clock_mhz": chip.clock_mhz, "total_cycles": run.total_cycles}
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": other}

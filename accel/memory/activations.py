"""Fused groups and resident activations (the chip's `memory` section; both off by default)
applied to the per-layer memory model's traffic.

Each layer's memory model (`model.py`) assumes its input comes from DRAM and its output goes
back (`activation_plan.plain_plan`). `plan_activations` takes those per-layer results and:
1. replaces the layers of every fused group (`fusion.py`) by the group's depth-first run: one
   tile schedule for the group, only its input, weights and output on the DRAM channel;
2. keeps activations on chip where they fit (`residency.py`): a resident tensor's write and
   its reads leave the DRAM channel, and the tile schedules that moved them move them from SRAM
   instead (no channel time), so both bytes and stalls drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

from accel.config import ChipConfig
from accel.mapping.mapper import Mapping
from accel.memory.activation_plan import (
    ActivationPlan,
    LayerActivations,
    Read,
    compulsory_network_bytes,
    plain_plan,
    split,
    tensor_reads,
)
from accel.memory.capacity import (
    activation_capacity,
    in_activation_buffers,
    tile_bytes,
    weight_capacity,
)
from accel.memory.fusion import FusedGroup, fused_groups
from accel.memory.model import MemoryTraffic
from accel.memory.replay import replay_layer
from accel.memory.residency import Residency, Stage, Transfer, byte_changes, plan_residency
from accel.memory.tile_schedule import Load, Node, Repeat, Schedule
from accel.model.network import Network
from accel.perf.timing import ComputeTiming


def plan_activations(
    network: Network,
    mappings: Sequence[Mapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
    chip: ChipConfig,
) -> ActivationPlan:
    """Apply the chip's fusion and residency settings to the per-layer results."""
    settings = chip.memory
    if settings.fusion == "off" and settings.activation_residency == "off":
        return plain_plan(network, mappings, timings, memories)
    roots, reads = tensor_reads(network, mappings, memories)
    inputs = frozenset(roots[name] for name, _ in network.inputs)
    outputs = frozenset(roots[name] for name in network.outputs)
    schedules = [memory.schedule for memory in memories]
    groups = fused_groups(network, mappings, timings, memories, chip)
    stages, owner = _stages(network, roots, reads, groups, mappings, memories, chip)
    residency = None
    read_change: dict[int, int] = {}
    write_change: dict[int, int] = {}
    if settings.activation_residency == "on":
        sizes = _sizes(network, roots, mappings)
        residency = plan_residency(stages, sizes, inputs, activation_capacity(chip))
        read_change, write_change = byte_changes(stages, residency, inputs, outputs)
    new_timings, new_memories = list(timings), list(memories)
    for group in groups:
        _apply_group(group, new_timings, new_memories, schedules, read_change, write_change,
                     chip)  # fmt: skip
    for i, memory in enumerate(memories):
        if i in owner or not (read_change.get(i) or write_change.get(i)):
            continue
        new_memories[i], schedules[i] = _with_changes(memory, read_change.get(i, 0),
                                                      write_change.get(i, 0), timings[i], chip)
    layers = _layer_facts(network, roots, residency, groups, owner)
    return ActivationPlan(tuple(new_timings), tuple(new_memories), tuple(schedules), layers,
                          groups, residency,
                          compulsory_network_bytes(network, roots, reads, mappings, memories))


def _sizes(network: Network, roots: dict[str, str], mappings: Sequence[Mapping]) -> dict[str, int]:
    """Bytes of each allocation: its largest member over the batch."""
    scale = mappings[0].element_bytes * mappings[0].batch if mappings else 1
    sizes: dict[str, int] = {}
    members = [(name, shape.elements) for name, shape in network.inputs]
    members += [(layer.name, layer.ofmap_elements) for layer in network.layers]
    for name, elements in members:
        sizes[roots[name]] = max(sizes.get(roots[name], 0), elements * scale)
    return sizes


def _stages(
    network: Network,
    roots: dict[str, str],
    reads: dict[int, list[Read]],
    groups: Sequence[FusedGroup],
    mappings: Sequence[Mapping],
    memories: Sequence[MemoryTraffic],
    chip: ChipConfig,
) -> tuple[list[Stage], dict[int, FusedGroup]]:
    """The run as stages; `owner` maps each fused layer to its group."""
    owner = {i: group for group in groups for i in group.layers}
    heads = {group.layers[0]: group for group in groups}
    weights_shared = weight_capacity(chip).own_bytes is None
    stages = []
    for i, layer in enumerate(network.layers):
        if i in heads:
            group = heads[i]
            last = group.layers[-1]
            stages.append(Stage(
                tuple(Transfer(at, roots[name], size) for at, name, size in group.cost.reads),
                (Transfer(last, roots[network.layers[last].name], group.output_bytes),),
                0, 0, group.cost.need_bytes + (sum(group.weight_bytes) if weights_shared else 0),
            ))  # fmt: skip
        elif i not in owner and mappings[i].unit != "none":
            memory = memories[i]
            tiles = {operand: size if in_activation_buffers(chip, operand) else 0
                     for operand, size in tile_bytes(memory.schedule, chip).items()}
            psums = memory.dram_ofmap_read_bytes > 0
            stages.append(Stage(
                tuple(Transfer(i, tensor, size) for tensor, size, _ in reads[i]),
                (Transfer(i, roots[layer.name], memory.compulsory_ofmap_bytes),),
                tiles["ifmap"], 0 if psums else tiles["ofmap"],
                tiles["weight"] + (tiles["ofmap"] if psums else 0),
            ))  # fmt: skip
    return stages, owner


def _apply_group(
    group: FusedGroup,
    timings: list[ComputeTiming],
    memories: list[MemoryTraffic],
    schedules: list[Schedule | None],
    read_change: dict[int, int],
    write_change: dict[int, int],
    chip: ChipConfig,
) -> None:
    """The group's layers' rows: their fused compute, DRAM bytes and share of the stalls."""
    read_by: dict[int, int] = {}
    for at, _, size in group.cost.reads:
        read_by[at] = read_by.get(at, 0) + size
    read_total = sum(read_by.values())
    read_after = read_total + sum(read_change.get(i, 0) for i in group.layers)
    last = group.layers[-1]
    write_after = group.output_bytes + write_change.get(last, 0)
    schedule = _rescaled(group.schedule, Fraction(read_after, read_total or 1),
                         Fraction(write_after, group.output_bytes or 1))  # fmt: skip
    compute = group.cost.compute_cycles
    stalls = split(max(0, replay_layer(schedule, chip) - sum(compute)), list(compute))
    for position, i in enumerate(group.layers):
        timings[i] = replace(timings[i], compute_cycles=compute[position])
        memories[i] = memories[i].replace(
            dram_ifmap_bytes=read_by.get(i, 0) + read_change.get(i, 0),
            dram_weight_bytes=group.weight_bytes[position],
            dram_ofmap_write_bytes=write_after if i == last else 0,
            dram_ofmap_read_bytes=0,
            stall_cycles=stalls[position],
            refill_cycles=0,
            tiling=None,
            tile_steps=schedule.step_count if position == 0 else 0,
            schedule=schedule if position == 0 else None,
        )
        schedules[i] = schedule if position == 0 else None


def _with_changes(
    memory: MemoryTraffic, read: int, write: int, timing: ComputeTiming, chip: ChipConfig
) -> tuple[MemoryTraffic, Schedule | None]:
    """One layer's traffic with resident tensors off the channel, and its replayed stalls."""
    before_read, before_write = memory.dram_ifmap_bytes, memory.dram_ofmap_write_bytes
    schedule = memory.schedule
    if schedule is not None:
        schedule = _rescaled(schedule, Fraction(before_read + read, before_read or 1),
                             Fraction(before_write + write, before_write or 1))  # fmt: skip
    stall = (replay_layer(schedule, chip) - timing.compute_cycles if schedule is not None
             else memory.stall_cycles)  # fmt: skip
    changed = memory.replace(dram_ifmap_bytes=before_read + read,
                             dram_ofmap_write_bytes=before_write + write, stall_cycles=stall,
                             schedule=schedule)  # fmt: skip
    return changed, schedule


def _rescaled(schedule: Schedule, read: Fraction, write: Fraction) -> Schedule:
    """`schedule` with its ifmap loads and its write-backs scaled; scaled to nothing, they move
    within SRAM (no channel time)."""
    if read == 1 and write == 1:
        return schedule

    def load(item: Load) -> Load:
        if item.kind != "ifmap" or read == 1:
            return item
        if read == 0:
            return item._replace(on_chip=True)
        return item._replace(bytes=max(1, round(item.bytes * read)))

    def node(item: Node) -> Node:
        if isinstance(item, Repeat):
            return Repeat(item.count, tuple(node(child) for child in item.body))
        written = item.writeback_bytes
        if written and write != 1:
            scaled = round(written * write)
            item = item._replace(writeback_bytes=scaled, ofmap_on_chip=scaled == 0)
        return item._replace(loads=tuple(map(load, item.loads)),
                             post_loads=tuple(map(load, item.post_loads)))  # fmt: skip

    return replace(schedule, prologue=tuple(map(load, schedule.prologue)),
                   body=tuple(node(item) for item in schedule.body))  # fmt: skip


def _layer_facts(
    network: Network,
    roots: dict[str, str],
    residency: Residency | None,
    groups: Sequence[FusedGroup],
    owner: dict[int, FusedGroup],
) -> tuple[LayerActivations, ...]:
    recompute = {i: group.cost.recompute_macs[p] for group in groups
                 for p, i in enumerate(group.layers)}  # fmt: skip
    resident = residency.resident if residency is not None else frozenset()
    spilled = residency.spilled if residency is not None else frozenset()
    return tuple(
        LayerActivations(
            tuple(name for name in layer.inputs if roots[name] in resident),
            roots[layer.name] in spilled,
            owner[i].number if i in owner else None,
            recompute.get(i, 0),
        )
        for i, layer in enumerate(network.layers)
    )


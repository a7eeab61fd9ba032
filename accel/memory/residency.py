"""Activation residency: which feature maps stay in SRAM between the layer that writes them and
the layers that read them, instead of a round trip through DRAM.

The run is a sequence of stages (a layer, or a fused group run as one). Each stage reads some
tensors from DRAM and writes some; each tensor is an allocation (a concat's or a flatten's
output and its inputs share one, as the footprint model has it: `footprint.py`). A resident
allocation is kept in the activation buffers (`memory.activation_buffers`) from the stage that
writes it (a network input: from its first reader, which loads what its readers need) to its
last reader: its writers do not write it to DRAM (unless it is a network output, which must
reach DRAM anyway) and none of its readers read it from DRAM,
however many passes their tiling makes.

Capacity: at every stage the resident allocations alive there, plus the stage's own tiles in
those buffers, must fit the buffers' pooled capacity (`capacity.py`). A stage reading only
resident inputs needs no input tiles of its own (it reads the resident copy in place), and one
whose output is resident writes it in place, unless it spills partial sums, which still need
its ofmap tiles.

Policy (spills): allocations are considered in the order they come into being (the stage that
writes them; ties by name), and each is kept for its whole life if it fits beside the
allocations already kept at every stage of that life, else spilled (written to DRAM and read
back from there by every reader). Earlier tensors therefore win over later ones: nothing kept
is evicted for a later tensor, so a kept tensor never costs a write and a read after all. A
network input read by only one stage gains nothing from residency and is left in DRAM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Transfer:
    """A stage's DRAM read of a tensor, or its write of a final output."""

    layer: int  # the network position whose row carries the bytes
    tensor: str  # the allocation
    bytes: int


@dataclass(frozen=True)
class Stage:
    """One step of the run and what it moves and holds."""

    reads: tuple[Transfer, ...]
    writes: tuple[Transfer, ...]
    input_tiles: int  # its input tiles in the activation buffers, unless every input is resident
    output_tiles: int  # its output tiles there, unless its output is resident
    fixed_tiles: int  # what it holds there regardless (partial-sum tiles, fused bands, weights)


@dataclass(frozen=True)
class Residency:
    """The allocations kept on chip and those spilled."""

    resident: frozenset[str]
    spilled: frozenset[str]


def plan_residency(
    stages: Sequence[Stage],
    sizes: dict[str, int],
    network_inputs: frozenset[str],
    capacity: int,
) -> Residency:
    """Keep or spill every allocation a stage reads, by the module's policy."""
    writers: dict[str, list[int]] = {}
    readers: dict[str, list[int]] = {}
    for position, stage in enumerate(stages):
        for write in stage.writes:
            writers.setdefault(write.tensor, []).append(position)
        for read in stage.reads:
            readers.setdefault(read.tensor, []).append(position)
    lives = {}
    for tensor, reading in readers.items():
        if tensor in network_inputs:
            if len(set(reading)) < 2:
                continue
            start = min(reading)
        else:
            start = min(writers.get(tensor, reading))
        lives[tensor] = (start, max(reading))
    resident: set[str] = set()
    used = [0] * len(stages)
    for tensor in sorted(lives, key=lambda name: (lives[name][0], name)):
        start, end = lives[tensor]
        trial = resident | {tensor}
        size = sizes[tensor]
        if all(used[s] + size + _tiles(stages[s], trial) <= capacity
               for s in range(start, end + 1)):  # fmt: skip
            resident = trial
            for s in range(start, end + 1):
                used[s] += size
    return Residency(frozenset(resident), frozenset(set(lives) - resident))


def _tiles(stage: Stage, resident: set[str]) -> int:
    """The stage's own tiles in the activation buffers, given what is resident."""
    reads_in_place = bool(stage.reads) and all(read.tensor in resident for read in stage.reads)
    writes_in_place = bool(stage.writes) and all(w.tensor in resident for w in stage.writes)
    return (
        stage.fixed_tiles
        + (0 if reads_in_place else stage.input_tiles)
        + (0 if writes_in_place else stage.output_tiles)
    )


def byte_changes(
    stages: Sequence[Stage],
    residency: Residency,
    network_inputs: frozenset[str],
    network_outputs: frozenset[str],
) -> tuple[dict[int, int], dict[int, int]]:
    """Per network position: the change of its DRAM read bytes and of its write bytes.

    A resident tensor's readers read nothing from DRAM, except a network input's first reader,
    which loads what all its readers need (as much as the stage that reads most of it); its
    writers write nothing, unless it is a network output."""
    input_loads: dict[str, int] = {}
    for stage in stages:
        per_stage: dict[str, int] = {}
        for read in stage.reads:
            if read.tensor in network_inputs:
                per_stage[read.tensor] = per_stage.get(read.tensor, 0) + read.bytes
        for tensor, size in per_stage.items():
            input_loads[tensor] = max(input_loads.get(tensor, 0), size)
    reads: dict[int, int] = {}
    writes: dict[int, int] = {}
    loaded: set[str] = set()
    for stage in stages:
        for read in stage.reads:
            if read.tensor not in residency.resident:
                continue
            change = -read.bytes
            if read.tensor in input_loads and read.tensor not in loaded:
                change = max(0, input_loads[read.tensor] - read.bytes)
            loaded.add(read.tensor)
            reads[read.layer] = reads.get(read.layer, 0) + change
        for write in stage.writes:
            if write.tensor in residency.resident and write.tensor not in network_outputs:
                writes[write.layer] = writes.get(write.layer, 0) - write.bytes
    return reads, writes

"""The cycle bound of a groups-per-step variant: an uncut tiling carrying several groups per step.

`tiling.group_blocks` turns a tiling whose GEMM is uncut into variants that move the same bytes
in fewer, larger transfers; the search (`search.py`) lets each join its scan at its own bound,
the terms of `bounds.lower_bounds` for steps of `g_tile` groups. A variant is one candidate, not
a grid: its bound is worked out in plain numbers (`channel_cycles.transfer_cycles_of`,
`channel_cycles_of`: the grid forms' operations, so the same cycles), and what it reads that no
DRAM timing changes is kept (`Variant`) for the next search of the table at another bandwidth;
what it reads of the DRAM timing is read once per search (`Timing`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from accel.config import ChipConfig
from accel.memory import tiling as tiles
from accel.memory.bound_terms import INPUTS, READS
from accel.memory.bounds import Grid
from accel.memory.fold_cycles import fold_run_cycles, layer_edges, untiled_cycles
from accel.memory.traffic import TRAFFIC

Picked = tuple[tiles.Tiling, dict[str, int]]  # a tiling and its traffic (bytes per kind, refill)


class ChainTerms(NamedTuple):
    """`bound_terms.Chain` of one variant, in plain numbers: every step of the groups loop
    brings new ifmap and weight tiles (and, double-buffered, writes its outputs back)."""

    halves: int
    steps: int  # 0 when there are no more steps than halves
    bus: int  # the chained operands' bytes on the bus
    largest: tuple[int, ...]  # per operand and the write-back, one transfer's bytes at most
    compute: int  # the compute of steps `halves` onwards, at least
    transfers: int  # how many transfers carry `bus`, at most


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class Variant(NamedTuple):
    """A groups-per-step variant and the terms of its bound that no DRAM timing changes."""

    tiling: tiles.Tiling
    first_ifmap: int  # bytes of the prologue's ifmap load: `g_tile` groups' tiles
    first_weight: int
    last_outputs: int  # bytes of the last write-back: the last block's groups
    pipeline: int  # compute cycles plus refills
    last_compute: int  # the last step's compute cycles
    reads: int  # bytes loaded, in whole bursts per kind
    everything: int  # bytes on the bus, in whole bursts per kind
    steps: int  # steps of the groups loop: each loads two tiles and writes one back
    chain: ChainTerms
    moved: int  # DRAM bytes
    prologue: int  # bytes of the first ifmap and weight tiles


Kept = tuple[dict[int, tiles.Tiling], dict[int, Variant]]  # per groups per step


def variants(
    picked: Picked, table: Grid, chip: ChipConfig, base: int, kept: Kept | None = None
) -> list[tuple[Variant, Picked]]:
    """The groups-per-step variants of the candidate at position `base`, fewer groups first.
    `kept`: the candidate's blocks (`tiling.group_blocks`) and their `Variant`s per groups per
    step, shared by the tables cut from one build (`bounds.restrict`): which variants a table
    has reads its buffer sizes, what each one reads does not (`variant_of` reads of the chip
    only fields the build is memoized on)."""
    tiling, traffic = picked
    blocks, known = ({}, {}) if kept is None else kept
    found = []
    for each in tiles.group_blocks(tiling, chip, blocks):
        variant = known.get(each.g_tile)
        if variant is None:
            variant = known[each.g_tile] = variant_of(each, table, chip, traffic, base)
        found.append((variant, (each, traffic)))
    return found


def variant_of(
    tiling: tiles.Tiling, table: Grid, chip: ChipConfig, traffic: dict[str, int], base: int
) -> Variant:
    """What a variant's bound reads that no DRAM timing changes. Its prologue tiles hold
    `g_tile` groups' ifmap and weights (each group's as large as in `base`'s), its last step
    computes and writes back the last block's groups."""
    array, width = table.array, chip.array.element_bytes
    last_groups = tiling.groups - (tiling.g_tiles - 1) * tiling.g_tile
    outputs = last_groups * tiling.m_tile * tiling.n_tile * width
    ifmap = tiling.g_tile * int(table.first_ifmap[base])
    # `fold_cycles.last_step_cycles` of whole folds, in plain numbers
    overlap = chip.array.fold_overlap
    whole = fold_run_cycles(array, overlap, array.time_steps,
                            last_groups * array.folds_per_group, "whole")  # fmt: skip
    rebuilt = table.compute_cycles - untiled_cycles(array, overlap)  # paid at the last step
    compute = whole + layer_edges(array, overlap)[1] + rebuilt
    burst = chip.dram.burst_bytes
    bus = {kind: -(-traffic[kind] // burst) * burst for kind in TRAFFIC}  # fewer transfers
    return Variant(
        tiling, ifmap, tiling.weight_tile_bytes, outputs,
        table.compute_cycles + traffic["refill"], compute,
        sum(bus[kind] for kind in READS), sum(bus.values()), tiling.g_tiles,
        _chain_terms(tiling, table, chip, traffic),
        sum(traffic[kind] for kind in TRAFFIC), ifmap + tiling.weight_tile_bytes,
    )  # fmt: skip


class Timing(NamedTuple):
    """What a variant's bound reads of the chip's DRAM channel, read once per search: the
    burst, the bandwidth, the latency, and `channel_cycles_of`'s slack and scale of the bus
    (the same values, so the same float64 operations)."""

    burst: int
    bandwidth: float
    latency: int
    slack: float  # half a cycle per burst where a burst is not whole cycles (else 0)
    scale: float  # `max(0.0, 1.0 - slack)`

    @classmethod
    def of(cls, chip: ChipConfig) -> Timing:
        dram = chip.dram
        burst, bandwidth = dram.burst_bytes, dram.bandwidth_bytes_per_cycle
        per_burst = burst / bandwidth
        slack = 0.0 if per_burst == math.floor(per_burst) else 0.5 / per_burst
        return cls(burst, bandwidth, dram.latency_cycles, slack, max(0.0, 1.0 - slack))

    def transfer(self, size: int) -> int:
        """`channel_cycles.transfer_cycles_of`."""
        burst = self.burst
        return math.floor(-(-size // burst) * burst / self.bandwidth + 0.5)

    def channel(self, bus: int, transfers: int) -> int:
        """`channel_cycles.channel_cycles_of`, with a count of transfers."""
        cycles = bus / self.bandwidth * self.scale
        if self.slack:
            cycles = max(cycles, bus / self.bandwidth - transfers / 2)
        return math.ceil(cycles - 1e-9)


def timed_bound(variant: Variant, chip: ChipConfig) -> int:
    """A variant's bound on `chip`'s DRAM channel (`timed`)."""
    return timed(variant, Timing.of(chip))


def timed(variant: Variant, timing: Timing) -> int:
    """A variant's bound at `timing`: through the pipeline, the channel, the drain after the
    last load and the chain of its steps."""
    transfer = timing.transfer
    last = transfer(variant.last_outputs)
    latency = timing.latency
    pipeline = (variant.pipeline + transfer(variant.first_ifmap)
                + transfer(variant.first_weight) + latency + last)  # fmt: skip
    loads = timing.channel(variant.reads, 2 * variant.steps)
    channel = timing.channel(variant.everything, 3 * variant.steps)
    drain = loads + latency + variant.last_compute + last
    chain = variant.chain
    if chain.steps <= 0:
        return max(pipeline, channel, drain, 0)
    return max(pipeline, channel, drain, _chain_cycles(chain, timing))


def _chain_cycles(chain: ChainTerms, timing: Timing) -> int:
    """`bound_terms.chain_bound` of one candidate whose chain has steps, in plain numbers."""
    opening = 0
    for size in chain.largest:
        opening += timing.transfer(size)
    loads = timing.channel(chain.bus, chain.transfers) - chain.halves * opening
    waits = (chain.steps - chain.halves) * timing.latency
    return (max(loads, 0) + waits + chain.compute) // chain.halves


def _chain_terms(
    tiling: tiles.Tiling, table: Grid, chip: ChipConfig, traffic: dict[str, int]
) -> ChainTerms:
    """The chain of a variant's steps (`ChainTerms`)."""
    array, burst = table.array, chip.dram.burst_bytes
    halves = max(2 if chip.sram.buffer_for(op).double_buffered else 1 for op in INPUTS)
    kinds = ["ifmap", "weight"] + (["ofmap_write"] if halves == 2 else [])
    bus = sum(-(-traffic[kind] // burst) * burst for kind in kinds)
    accumulator = max(chip.array.accumulator_bytes, chip.array.element_bytes)
    largest = [tiling.ifmap_tile_bytes, tiling.weight_tile_bytes]
    largest.append(tiling.g_tile * tiling.m_tile * tiling.n_tile * accumulator if halves == 2
                   else 0)  # fmt: skip
    overlap = chip.array.fold_overlap
    # `bound_terms.step_most` of any step but the last, in plain numbers
    folds = tiling.g_tile * array.folds_per_group
    whole = fold_run_cycles(array, overlap, array.time_steps, folds, "whole")
    most = whole + max(layer_edges(array, overlap)[0], 0)
    steps = tiling.g_tiles if tiling.g_tiles > halves else 0
    compute = max(table.compute_cycles + traffic["refill"] - halves * most, 0)
    return ChainTerms(halves, steps, bus, tuple(largest), compute, tiling.g_tiles * len(kinds))

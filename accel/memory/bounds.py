"""Lower bounds of a tiling's replayed cycles, for every candidate of a layer's grid at once.

Every candidate tiling (tile sizes × loop order, `tiling.py`) that fits the buffers gets, over
the whole grid in numpy (no Python loop per candidate), its DRAM bytes in closed form
(`traffic.py`) and a lower bound of the cycles the pipeline replay (`replay.py`) will measure
for it, the largest of several, each from a fact of that replay:

- compute runs its steps in order, their cycles adding up to the layer's compute cycles plus
  the refills of a cut streamed dimension; it starts after the prologue's ifmap and weight
  tiles have crossed the channel and the DRAM latency passed, and the last ofmap tile is
  written back after the last step;
- the one DRAM channel carries every byte in whole bursts, one transfer after another, each
  transfer at least a burst when it moves a byte (`bound_stack`), each rounding its cycles to
  the nearest (`channel_cycles.channel_bound`);
- a load waits for a free half of its buffer, and the ring is in order: an input operand whose
  tile changes at every step chains each step to the one that freed its half (`Chain`), and
  a write-back delays the loads queued after it (`windows`);
- the drain: the last load ends after all that the channel carries before it
  (`bound_terms.drain_bus`); then the last step waits out the DRAM latency, computes
  (`bound_terms.last_step`) and writes its outputs back.

`search.py` replays candidates in order of these bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from accel.config import ChipConfig, Operand
from accel.mapping.array import ArrayMapping
from accel.memory import bound_terms as terms
from accel.memory import tiling as tiles
from accel.memory.bound_stack import Stack
from accel.memory.bound_terms import Chain, chain_bound
from accel.memory.channel_cycles import channel_bound, transfer_bound
from accel.memory.geometry import IntArray
from accel.memory.traffic import TRAFFIC, GridTraffic, grid_sizes


@dataclass(frozen=True)
class Grid:
    """Every valid candidate of one layer, flattened, with what its cycle bound needs."""

    grid: tiles.Candidates
    orders: tuple[GridTraffic, ...]
    per_order: tuple[dict[Operand, IntArray], ...]
    array: ArrayMapping
    compute_cycles: int  # the untiled layer's, from the timing model
    flat: IntArray  # index into (order, m, k, n) of each valid candidate
    compute: IntArray  # compute cycles plus refills
    moved: IntArray  # DRAM bytes
    bus: IntArray  # bytes on the channel, at least: each kind rounded up to whole bursts
    first_ifmap: IntArray  # bytes of the prologue's ifmap load (0 when streamed)
    first_weight: IntArray  # bytes of the prologue's weight load (0 when streamed)
    last_write: IntArray  # bytes of the last write-back (0 when the ofmap is streamed)
    chains: tuple[Chain, ...] = ()  # per input operand: the refill chain of each candidate
    windows: IntArray | None = None  # write-backs whose ring slot delays a load two steps on
    window_bytes: tuple[IntArray, ...] = ()  # the smallest write-back, and of each such load
    window_compute: IntArray | None = None  # the compute of one step, at most
    drain_bus: IntArray | None = None  # bytes on the channel until the last load ends, at least
    last_compute: IntArray | None = None  # the last step's compute cycles, at least
    head_bus: IntArray | None = None  # of `drain_bus`, what follows the first step, at least
    first_compute: IntArray | None = None  # the first step's compute cycles, at least
    transfers: IntArray | None = None  # how many transfers carry `bus`, at most

    def __len__(self) -> int:
        return len(self.flat)


def build_grid(
    grid: tiles.Candidates,
    orders: list[GridTraffic],
    per_order: list[dict[Operand, IntArray]],
    valid: list[IntArray],
    array: ArrayMapping,
    chip: ChipConfig,
    has_bias: bool,
    compute_cycles: int,
) -> Grid:
    """Flatten the valid candidates of every loop order into one table of bound inputs."""
    mask = np.stack(valid).ravel()
    stack = Stack.of(orders, per_order, grid, array, chip, mask)
    width = chip.array.element_bytes
    sizes, ends = grid_sizes(grid), stack.ends
    weight0 = sizes["k"] * sizes["n"] * width + (tiles.BIAS_BYTES * sizes["n"] if has_bias else 0)
    last = ends["m"] * ends["n"] * width
    ifmap0 = grid.ifmap_first[:, :, None] * width
    streamed = stack.streamed
    chains = terms.chains(grid, stack, array, chip, compute_cycles)
    drain = terms.drain_bus(grid, stack, array, chip)
    burst = chip.dram.burst_bytes
    prologue = -(-ifmap0 // burst) * burst + -(-weight0 // burst) * burst
    return Grid(
        grid, tuple(orders), tuple(per_order), array, compute_cycles, np.flatnonzero(mask),
        stack.flat(compute_cycles + stack.refill), stack.flat(stack.moved),
        stack.flat(stack.bus),
        stack.flat(0 if "ifmap" in streamed else ifmap0),
        stack.flat(0 if "weight" in streamed else weight0),
        stack.flat(0 if "ofmap" in streamed else last), chains,
        *terms.windows(grid, stack, array, chip),
        stack.flat(drain), stack.flat(terms.last_step(grid, stack, array, chip, compute_cycles)),
        stack.flat(terms.head_bus(grid, stack, array, chip, drain, prologue)),
        stack.flat(terms.first_step(grid, stack, array, chip)), stack.flat(stack.count(TRAFFIC)),
    )  # fmt: skip


def restrict(table: Grid, valid: list[IntArray]) -> Grid:
    """`table` (built over every candidate, all valid) cut down to the `valid` ones: the bound
    inputs do not read the buffer sizes, so chips that differ only there share one build."""
    mask = np.stack(valid).ravel()
    done: dict[int, tuple[IntArray, IntArray]] = {}

    def cut(values: IntArray) -> IntArray:
        """`values` at the valid candidates, once per array (the chains share some)."""
        hit = done.get(id(values))
        if hit is None or hit[0] is not values:
            hit = done[id(values)] = (values, values[mask])
        return hit[1]

    chains = tuple(
        replace(chain, steps=cut(chain.steps), bus=cut(chain.bus), compute=cut(chain.compute),
                transfers=cut(chain.transfers),
                largest=tuple(cut(each) for each in chain.largest))
        for chain in table.chains
    )  # fmt: skip
    assert table.windows is not None and table.window_compute is not None
    assert table.drain_bus is not None and table.last_compute is not None
    assert table.transfers is not None
    assert table.head_bus is not None and table.first_compute is not None
    return replace(
        table, flat=np.flatnonzero(mask), compute=cut(table.compute), moved=cut(table.moved),
        bus=cut(table.bus), first_ifmap=cut(table.first_ifmap),
        first_weight=cut(table.first_weight), last_write=cut(table.last_write), chains=chains,
        windows=cut(table.windows), window_bytes=tuple(cut(each) for each in table.window_bytes),
        window_compute=cut(table.window_compute),
        drain_bus=cut(table.drain_bus), last_compute=cut(table.last_compute),
        head_bus=cut(table.head_bus), first_compute=cut(table.first_compute),
        transfers=cut(table.transfers),
    )  # fmt: skip


def lower_bounds(table: Grid, chip: ChipConfig) -> IntArray:
    """A lower bound of every candidate's replayed cycles on `chip`'s DRAM channel."""
    latency = chip.dram.latency_cycles
    transfer = _Transfers(chip)
    first = transfer(table.first_ifmap) + transfer(table.first_weight)
    fill = np.where(first > 0, first + latency, 0)
    last = transfer(table.last_write)
    pipeline = table.compute + fill + last
    if table.windows is not None and table.window_compute is not None:
        moved = sum(transfer(size) for size in table.window_bytes)
        extra = np.maximum(moved + latency - table.window_compute, 0)
        pipeline = pipeline + table.windows * extra
    count = table.transfers
    bound: IntArray = np.maximum(pipeline, channel_bound(table.bus, chip, count))
    if table.drain_bus is not None and table.last_compute is not None:
        closing = latency + table.last_compute + last  # after the last load ends
        drain = channel_bound(table.drain_bus, chip, count) + closing
        bound = np.maximum(bound, drain)
        if table.head_bus is not None and table.first_compute is not None:
            rest = table.head_bus
            steps_after = table.last_compute + last  # the first step is not the last
            after = np.where(rest > 0, channel_bound(rest, chip, count) + closing, steps_after)
            opened = first + latency + table.first_compute + after
            bound = np.maximum(bound, np.where(table.first_compute > 0, opened, 0))
    for chain in table.chains:
        bound = np.maximum(bound, chain_bound(chain, chip, transfer))
    return bound


class _Transfers:
    """`transfer_bound` on one chip, once per array (the chains share their tile sizes)."""

    def __init__(self, chip: ChipConfig) -> None:
        self.chip = chip
        self.found: dict[int, tuple[IntArray, IntArray]] = {}

    def __call__(self, size: IntArray) -> IntArray:
        hit = self.found.get(id(size))
        if hit is None or hit[0] is not size:
            hit = self.found[id(size)] = (size, transfer_bound(size, self.chip))
        return hit[1]

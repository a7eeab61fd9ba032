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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from accel.config import ChipConfig, Operand
from accel.mapping.array import ArrayMapping
from accel.memory import bound_terms as terms
from accel.memory import tiling as tiles
from accel.memory.bound_stack import Stack, flatten
from accel.memory.bound_terms import Chain
from accel.memory.channel_cycles import channel_bound, transfer_bound
from accel.memory.geometry import IntArray
from accel.memory.traffic import TRAFFIC, GridTraffic, grid_sizes


class _Row:
    """A bound input of `Grid`: one row of its matrix (a view), found by name in its layout."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, table: Grid, owner: type | None = None) -> IntArray:
        row: IntArray = table.rows[table.layout[self.name]]
        return row


@dataclass(frozen=True)
class Grid:
    """Every valid candidate of one layer, flattened, with what its cycle bound needs: each
    input a row of one matrix (`rows`, in `_rows` order), the fields below views of it."""

    grid: tiles.Candidates
    orders: tuple[GridTraffic, ...]
    per_order: tuple[dict[Operand, IntArray], ...]
    array: ArrayMapping
    compute_cycles: int  # the untiled layer's, from the timing model
    flat: IntArray  # index into (order, m, k, n) of each valid candidate
    rows: IntArray  # every bound input below, a row each, per valid candidate
    chain_shapes: tuple[tuple[int, int], ...]  # per chain: its halves, how many `largest`
    layout: dict[str, int]  # the row of each bound input (`_layout`)

    compute = _Row()  # compute cycles plus refills
    moved = _Row()  # DRAM bytes
    bus = _Row()  # bytes on the channel, at least: each kind rounded up to whole bursts
    first_ifmap = _Row()  # bytes of the prologue's ifmap load (0 when streamed)
    first_weight = _Row()  # bytes of the prologue's weight load (0 when streamed)
    last_write = _Row()  # bytes of the last write-back (0 when the ofmap is streamed)
    windows = _Row()  # write-backs whose ring slot delays a load two steps on
    window_compute = _Row()  # the compute of one step, at most
    drain_bus = _Row()  # bytes on the channel until the last load ends, at least
    last_compute = _Row()  # the last step's compute cycles, at least
    head_bus = _Row()  # of `drain_bus`, what follows the first step, at least
    first_compute = _Row()  # the first step's compute cycles, at least
    transfers = _Row()  # how many transfers carry `bus`, at most

    def __len__(self) -> int:
        return len(self.flat)

    @property
    def window_bytes(self) -> tuple[IntArray, ...]:
        """The smallest write-back, and of each load a write-back's ring slot delays."""
        return tuple(self.rows[len(_SIZES) : len(_SIZES) + 3])

    @property
    def chains(self) -> tuple[Chain, ...]:
        """Per input operand (and both): the refill chain of each candidate."""
        rows, count, at = self.rows, len(self.chain_shapes), self.layout["largest"]
        bus, transfers = self.layout["bus"] + len(_BUSES), self.layout["transfers"] + len(_BUSES)
        steps = self.layout["first_compute"] + 1
        chains = []
        for c, (halves, many) in enumerate(self.chain_shapes):
            chains.append(Chain(halves, rows[steps + c], rows[bus + c], tuple(rows[at : at + many]),
                                rows[steps + count + c], rows[transfers + c]))  # fmt: skip
            at += many
        return tuple(chains)


# `Grid.rows`, in blocks `lower_bounds` reads at once: transfer sizes (then the three
# `window_bytes` and every chain's `largest`), bytes on the channel (then every chain's `bus`),
# their transfer counts (then every chain's `transfers`), the rest (then every chain's `steps`
# and `compute`).
_SIZES = ("first_ifmap", "first_weight", "last_write")
_BUSES = ("bus", "drain_bus", "head_bus")
_REST = ("compute", "moved", "windows", "window_compute", "last_compute", "first_compute")


@lru_cache(maxsize=64)
def _layout(shapes: tuple[tuple[int, int], ...]) -> dict[str, int]:
    """The row of each bound input in `Grid.rows` (`_rows` order), for chains of `shapes`;
    `largest`: the first chain's first `largest`."""
    count, at = len(shapes), len(_SIZES) + 3 + sum(many for _, many in shapes)
    found = {name: i for i, name in enumerate(_SIZES)}
    found["largest"] = len(_SIZES) + 3
    found |= {name: at + i for i, name in enumerate(_BUSES)}
    found["transfers"] = at + len(_BUSES) + count
    rest = at + 2 * (len(_BUSES) + count)
    found |= {name: rest + i for i, name in enumerate(_REST)}
    return found


def _rows(
    sizes: Sequence[IntArray | int], window_bytes: tuple[IntArray, ...], buses: list[IntArray],
    transfers: IntArray, rest: Sequence[IntArray | int], chains: tuple[Chain, ...],
) -> list[IntArray | int]:
    """The bound inputs in `Grid.rows` order (each broadcast over (order, m, k, n))."""
    return [
        *sizes, *window_bytes, *(each for chain in chains for each in chain.largest),
        *buses, *(chain.bus for chain in chains), *[transfers] * len(_BUSES),
        *(chain.transfers for chain in chains), *rest, *(chain.steps for chain in chains),
        *(chain.compute for chain in chains),
    ]  # fmt: skip


def _grid(
    table: _Source | Grid, shapes: tuple[tuple[int, int], ...], flat: IntArray, rows: IntArray
) -> Grid:
    """The `Grid` of `table`'s candidates `flat`, with their bound inputs `rows` (`_rows`
    order) and chains of `shapes` (halves, how many `largest`)."""
    return Grid(
        table.grid, tuple(table.orders), tuple(table.per_order), table.array,
        table.compute_cycles, flat, rows, shapes, _layout(shapes),
    )  # fmt: skip


@dataclass(frozen=True)
class _Source:
    """What a `Grid` keeps of the layer's candidate grid and loop orders."""

    grid: tiles.Candidates
    orders: tuple[GridTraffic, ...] | list[GridTraffic]
    per_order: tuple[dict[Operand, IntArray], ...] | list[dict[Operand, IntArray]]
    array: ArrayMapping
    compute_cycles: int


def build_grid(
    grid: tiles.Candidates,
    orders: list[GridTraffic],
    per_order: list[dict[Operand, IntArray]],
    valid: list[IntArray] | None,
    array: ArrayMapping,
    chip: ChipConfig,
    has_bias: bool,
    compute_cycles: int,
) -> Grid:
    """Flatten the valid candidates (None: all) of every loop order into one table of bound
    inputs."""
    mask = None if valid is None else np.stack(valid).ravel()
    stack = Stack.of(orders, per_order, grid, array, chip)
    width = chip.array.element_bytes
    sizes, ends = grid_sizes(grid), stack.ends
    weight0 = sizes["k"] * sizes["n"] * width + (tiles.BIAS_BYTES * sizes["n"] if has_bias else 0)
    last = ends["m"] * ends["n"] * width
    ifmap0 = grid.ifmap_first[:, :, None] * width
    streamed, compute = stack.streamed, compute_cycles + stack.refill
    chains = terms.chains(grid, stack, array, chip, compute)
    drain = terms.drain_bus(grid, stack, array, chip)
    burst = chip.dram.burst_bytes
    prologue = -(-ifmap0 // burst) * burst + -(-weight0 // burst) * burst
    windows, window_bytes, window_compute = terms.windows(grid, stack, array, chip)
    firsts: list[IntArray | int] = [
        0 if "ifmap" in streamed else ifmap0, 0 if "weight" in streamed else weight0,
        0 if "ofmap" in streamed else last,
    ]  # fmt: skip
    buses = [stack.bus, drain, terms.head_bus(grid, stack, array, chip, drain, prologue)]
    rest = [
        compute, stack.moved, windows, window_compute,
        terms.last_step(grid, stack, array, chip, compute_cycles),
        terms.first_step(grid, stack, array, chip),
    ]  # fmt: skip
    values = _rows(firsts, window_bytes, buses, stack.count(TRAFFIC), rest, chains)
    flat = np.arange(math.prod(stack.full)) if mask is None else np.flatnonzero(mask)
    source = _Source(grid, orders, per_order, array, compute_cycles)
    shapes = tuple((chain.halves, len(chain.largest)) for chain in chains)
    return _grid(source, shapes, flat, flatten(values, stack.full, mask))


def restrict(table: Grid, valid: list[IntArray]) -> Grid:
    """`table` (built over every candidate, all valid) cut down to the `valid` ones: the bound
    inputs do not read the buffer sizes, so chips that differ only there share one build."""
    mask = np.stack(valid).ravel()
    if len(table) == len(mask) and mask.all():
        return table
    return _grid(table, table.chain_shapes, np.flatnonzero(mask), table.rows[:, mask])


def lower_bounds(table: Grid, chip: ChipConfig) -> IntArray:
    """A lower bound of every candidate's replayed cycles on `chip`'s DRAM channel."""
    latency, count = chip.dram.latency_cycles, len(table.chain_shapes)
    rows, at = table.rows, len(_SIZES) + 3 + sum(many for _, many in table.chain_shapes)
    transfer = transfer_bound(rows[:at], chip)  # the transfer sizes' cycles
    buses = len(_BUSES) + count
    channel = channel_bound(rows[at : at + buses], chip, rows[at + buses : at + 2 * buses])
    first = transfer[0] + transfer[1]
    fill = np.where(first > 0, first + latency, 0)
    last = transfer[2]
    pipeline = table.compute + fill + last
    moved = transfer[3] + transfer[4] + transfer[5]
    extra = np.maximum(moved + latency - table.window_compute, 0)
    pipeline = pipeline + table.windows * extra
    bound: IntArray = np.maximum(pipeline, channel[0])
    closing = latency + table.last_compute + last  # after the last load ends
    bound = np.maximum(bound, channel[1] + closing)
    rest = table.head_bus
    steps_after = table.last_compute + last  # the first step is not the last
    after = np.where(rest > 0, channel[2] + closing, steps_after)
    opened = first + latency + table.first_compute + after
    bound = np.maximum(bound, np.where(table.first_compute > 0, opened, 0))
    if count:
        bound = np.maximum(bound, _chain_cycles(table, transfer, channel[len(_BUSES) :], latency))
    return bound


def _chain_cycles(
    table: Grid, transfer: IntArray, loads: IntArray, latency: int
) -> IntArray:
    """The largest `chain_bound` of `table`'s chains, all chains at once (a row each), from
    the cycles of the transfer sizes (`transfer`: each chain's `largest` after the first six
    rows) and the channel cycles of each chain's bytes (`loads`)."""
    shapes, count = table.chain_shapes, len(table.chain_shapes)
    starts = np.cumsum([0] + [many for _, many in shapes[:-1]])
    assert all(many > 0 for _, many in shapes), "every chain has a transfer"
    opening = np.add.reduceat(transfer[len(_SIZES) + 3 :], starts, axis=0)
    halves = np.array([[each] for each, _ in shapes], dtype=np.int64)
    steps = table.rows[-2 * count : -count]
    compute = table.rows[-count:]
    loads = loads - halves * opening
    waits = (steps - halves) * latency
    total = np.maximum(loads, 0) + waits + compute
    result: IntArray = np.where(steps > 0, total // halves, 0).max(axis=0)
    return result

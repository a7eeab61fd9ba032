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
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from accel.config import ChipConfig, Operand
from accel.mapping.array import ArrayMapping
from accel.memory import bound_terms as terms
from accel.memory import tiling as tiles
from accel.memory.bound_stack import Stack, flatten, in_bursts
from accel.memory.bound_terms import Chain
from accel.memory.bound_timing import Untimed, untimed
from accel.memory.geometry import IntArray
from accel.memory.traffic import TRAFFIC, GridTraffic
from accel.model.frozen import Frozen


class _Row:
    """A bound input of `Grid`: one row of its matrix (a view), found by name in its layout."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, table: Grid, owner: type | None = None) -> IntArray:
        row: IntArray = table.rows[table.layout[self.name]]
        return row


class Grid(Frozen):
    """Every valid candidate of one layer, flattened, with what its cycle bound needs: each
    input a row of one matrix (`rows`, in `_rows` order), the fields below views of it.
    Hand-written, not a frozen dataclass (see `frozen.py`): equal, hashed and shown by its
    first nine fields, as the dataclass was."""

    _compared = (
        "grid", "orders", "per_order", "array", "compute_cycles", "flat", "rows",
        "chain_shapes", "layout",
    )  # fmt: skip
    __slots__ = (*_compared, "untimed", "positions", "parent", "timed", "first_cut")

    grid: tiles.Candidates
    orders: tuple[GridTraffic, ...]
    per_order: tuple[dict[Operand, IntArray], ...]
    array: ArrayMapping
    compute_cycles: int  # the untiled layer's, from the timing model
    flat: IntArray  # index into (order, m, k, n) of each valid candidate
    rows: IntArray  # every bound input below, a row each, per valid candidate
    chain_shapes: tuple[tuple[int, int], ...]  # per chain: its halves, how many `largest`
    layout: dict[str, int]  # the row of each bound input (`_layout`)
    # per burst size, the bounds' timing-free parts (`lower_bounds`), kept for the next timing
    untimed: dict[int, Untimed]
    # per position in the (order, m, k, n) grid, what the search works out of it that reads
    # neither the chip's DRAM timing nor its buffer sizes (`search.candidate`, its schedule
    # key): one dict per build, shared by every table `restrict` cuts from it, so sweep points
    # that differ only in SRAM sizes build each candidate once
    positions: dict[object, Any]
    # the table `restrict` cut this one from (None: a build), whose candidates `flat` indexes
    parent: Grid | None
    # per (burst, bandwidth, latency), every candidate's bound, when tables cut from this one
    # read theirs off it (`lower_bounds`)
    timed: dict[tuple[int, float, int], IntArray]
    # per burst size, the `id` of the first table cut from this one that read its bounds
    # (`_reads_parent`): that one works out its own
    first_cut: dict[int, int]

    def __init__(
        self, grid: tiles.Candidates, orders: tuple[GridTraffic, ...],
        per_order: tuple[dict[Operand, IntArray], ...], array: ArrayMapping,
        compute_cycles: int, flat: IntArray, rows: IntArray,
        chain_shapes: tuple[tuple[int, int], ...], layout: dict[str, int],
        untimed: dict[int, Untimed] | None = None, positions: dict[object, Any] | None = None,
        parent: Grid | None = None, timed: dict[tuple[int, float, int], IntArray] | None = None,
        first_cut: dict[int, int] | None = None,
    ) -> None:  # fmt: skip
        init = object.__setattr__
        init(self, "grid", grid)
        init(self, "orders", orders)
        init(self, "per_order", per_order)
        init(self, "array", array)
        init(self, "compute_cycles", compute_cycles)
        init(self, "flat", flat)
        init(self, "rows", rows)
        init(self, "chain_shapes", chain_shapes)
        init(self, "layout", layout)
        init(self, "untimed", {} if untimed is None else untimed)
        init(self, "positions", {} if positions is None else positions)
        init(self, "parent", parent)
        init(self, "timed", {} if timed is None else timed)
        init(self, "first_cut", {} if first_cut is None else first_cut)

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
    order) and chains of `shapes` (halves, how many `largest`); cut from a `Grid`, it shares
    that one's `positions` and names it its `parent`."""
    parent = table if isinstance(table, Grid) else None
    return Grid(
        table.grid, tuple(table.orders), tuple(table.per_order), table.array,
        table.compute_cycles, flat, rows, shapes, _layout(shapes),
        positions={} if parent is None else parent.positions, parent=parent,
    )  # fmt: skip


class _Source(NamedTuple):  # a NamedTuple: no generated-method compiles at start-up
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
    mask = None if valid is None else np.array(valid).ravel()
    stack = Stack.of(orders, per_order, grid, array, chip)
    width = chip.array.element_bytes
    sizes, ends = stack.sizes, stack.ends
    weight0 = sizes["k"] * sizes["n"] * width + (tiles.BIAS_BYTES * sizes["n"] if has_bias else 0)
    last = ends["m"] * ends["n"] * width
    ifmap0 = grid.ifmap_first[:, :, None] * width
    streamed, compute = stack.streamed, compute_cycles + stack.refill
    chains = terms.chains(grid, stack, array, chip, compute)
    drain = terms.drain_bus(grid, stack, array, chip)
    burst = chip.dram.burst_bytes
    prologue = in_bursts(ifmap0, burst) + in_bursts(weight0, burst)
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


def restrict(table: Grid, valid: list[IntArray] | IntArray) -> Grid:
    """`table` (built over every candidate, all valid) cut down to the `valid` ones (per loop
    order, or stacked over the orders): the bound inputs do not read the buffer sizes, so chips
    that differ only there share one build."""
    mask = np.asarray(valid).ravel()  # of one shape: as `np.stack`, without its Python
    if len(table) == len(mask) and mask.all():
        return table
    flat = mask.nonzero()[0]  # `np.flatnonzero` of the flat mask, without its Python
    # the columns by index (`take`): the same as by the boolean mask, in half the time
    return _grid(table, table.chain_shapes, flat, table.rows.take(flat, axis=1))


def lower_bounds(table: Grid, chip: ChipConfig) -> IntArray:
    """A lower bound of every candidate's replayed cycles on `chip`'s DRAM channel: the terms
    above, their timing-free parts kept per table (`bound_timing.Untimed`), finished at the
    chip's bandwidth and latency."""
    dram = chip.dram
    burst, bandwidth = dram.burst_bytes, dram.bandwidth_bytes_per_cycle
    latency = dram.latency_cycles
    parent = table.parent
    if parent is None or not _reads_parent(table, parent, burst):
        return _untimed_of(table, burst).at(bandwidth, latency)
    key = (burst, bandwidth, latency)
    found = parent.timed.get(key)
    if found is None:
        if len(parent.timed) >= _TIMINGS:
            parent.timed.clear()
        found = parent.timed[key] = _untimed_of(parent, burst).at(bandwidth, latency)
    cut: IntArray = found[table.flat]  # `flat` indexes the build's candidates
    return cut


_TIMINGS = 16  # DRAM timings whose bounds a build keeps for its cuts (a sweep's bandwidths)


def _reads_parent(table: Grid, parent: Grid, burst: int) -> bool:
    """Whether `table` reads its bounds off its `parent`'s (a column each, every bound a
    function of its own candidate's inputs): from the second table cut from one build on (a
    sweep point that differs only in SRAM sizes), not the first (a lone chip's search, which
    works out the bounds of its own candidates only)."""
    return parent.first_cut.setdefault(burst, id(table)) != id(table)


def _untimed_of(table: Grid, burst: int) -> Untimed:
    """`_untimed`, kept per table and burst size."""
    untimed = table.untimed.get(burst)
    if untimed is None:
        untimed = table.untimed[burst] = _untimed(table, burst)
    return untimed


def _untimed(table: Grid, burst: int) -> Untimed:
    """What `lower_bounds` reads of `table` that no bandwidth or latency changes."""
    return untimed(table.rows, table.chain_shapes, table.layout, burst)

"""The terms of a tiling's cycle bound that follow its steps through the DMA ring.

Each is a fact of the replay (`replay.py`) about one schedule (`loop_nest.py`), proven for every
candidate of a layer's grid at once, over (order, m, k, n) (`bound_stack.Stack`):

- `Chain`: an input whose tile changes at every step ties each step to the one that freed its
  buffer half;
- `windows`: a write-back sits in the ring before the loads queued after it;
- `drain_bus` and `last_step`: after the last load, the last step still waits out the DRAM
  latency, computes and writes its outputs back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from accel.config import ChipConfig, Operand
from accel.mapping.array import ArrayMapping
from accel.memory import tiling as tiles
from accel.memory.bound_stack import Stack, folds_of, in_bursts, summed
from accel.memory.channel_cycles import channel_bound, transfer_bound
from accel.memory.fold_cycles import last_step_cycles, layer_edges, whole_folds_cycles
from accel.memory.geometry import IntArray
from accel.memory.traffic import grid_sizes

INPUTS: tuple[Operand, ...] = ("ifmap", "weight")
BoolArray = NDArray[np.bool_]
READS = ("ifmap", "weight", "ofmap_read")  # the TRAFFIC kinds loaded from DRAM


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class Chain(NamedTuple):
    """Input operands whose tiles change at every step, over `halves` buffer halves: the loads
    of step `j`'s tiles wait for step `j − halves` to release their halves and cross the one
    channel in turn, so every `halves` steps the pipeline pays those loads, the DRAM latency
    and a step's compute one after another.
    Averaged over the `halves` interleaved chains, the layer lasts at least
    `(Σ_{j ≥ halves} load_j + (steps − halves) · latency + Σ_{j ≥ halves} compute_j) / halves`.
    Arrays are per valid candidate (before `bound_stack.flatten`: over (order, m, k, n)); `steps`
    0 where the operand does not change every step."""

    halves: int
    steps: IntArray
    bus: IntArray  # the operands' bytes on the bus, at least
    largest: tuple[IntArray, ...]  # per operand and the write-back, one transfer's bytes at most
    compute: IntArray  # a lower bound of the compute of steps `halves` onwards
    transfers: IntArray  # how many transfers carry `bus`, at most


def chain_bound(
    chain: Chain, chip: ChipConfig, transfer: Callable[[IntArray], IntArray] | None = None
) -> IntArray:
    """`Chain`'s bound of each candidate (0 where its operands do not change every step);
    `transfer`: `transfer_bound` on `chip`, memoized."""
    cycles = transfer or (lambda size: transfer_bound(size, chip))
    opening = sum(cycles(largest) for largest in chain.largest)
    loads = channel_bound(chain.bus, chip, chain.transfers) - chain.halves * opening
    waits = (chain.steps - chain.halves) * chip.dram.latency_cycles
    total = np.maximum(loads, 0) + waits + chain.compute
    result: IntArray = np.where(chain.steps > 0, total // chain.halves, 0)
    return result


def chains(
    grid: tiles.Candidates, stack: Stack, array: ArrayMapping, chip: ChipConfig,
    compute: IntArray,
) -> tuple[Chain, ...]:
    """The `Chain`s of the ifmap, the weights and both, over (order, m, k, n); `compute`: the
    layer's compute cycles plus refills, over the same grid."""
    steps, write_most = stack.steps, stack.write_most
    # The compute of steps `halves` onwards: all but `halves` steps of at most `most` each;
    # and where a chain of `halves` has more steps than halves. Per count of halves, worked
    # out when a chain first has that many (`_Halves`).
    most = stack.step_cycles + max(layer_edges(array, chip.array.fold_overlap)[0], 0)
    per_halves = _Halves(compute, most, steps)
    sram = chip.sram
    halves = [2 if sram.buffer_for(op).double_buffered else 1 for op in INPUTS]
    return (
        _chain(("ifmap",), halves[0], stack, steps, write_most, per_halves),
        _chain(("weight",), halves[1], stack, steps, write_most, per_halves),
        _chain(INPUTS, max(halves), stack, steps, write_most, per_halves),
    )


class _Halves(dict[int, tuple[IntArray, BoolArray]]):
    """Per count of halves: the compute of the steps past them, and where there are more steps
    than halves (built on first use: the chains of a chip mostly share one count)."""

    def __init__(self, compute: IntArray, most: IntArray, steps: IntArray) -> None:
        super().__init__()
        self.compute, self.most, self.steps = compute, most, steps

    def __missing__(self, halves: int) -> tuple[IntArray, BoolArray]:
        rest = np.maximum(self.compute - halves * self.most, 0)
        found = self[halves] = (rest, self.steps > halves)
        return found


def _chain(
    operands: tuple[Operand, ...], halves: int, stack: Stack, steps: IntArray,
    write_most: IntArray, per_halves: _Halves,
) -> Chain:
    """The `Chain` of `operands` over `halves` buffer halves (with halves of different counts
    the larger holds: a load may wait for a later release). `per_halves`: per count of halves,
    the chain's compute and where it has more steps than halves."""
    compute, more = per_halves[halves]
    streamed = stack.streamed
    if streamed and any(operand in streamed for operand in operands):
        chained = np.zeros((1, 1, 1, 1), dtype=np.int64)
    else:
        changes = stack.innermost[operands[0]]
        for operand in operands[1:]:
            changes = changes & stack.innermost[operand]
        chained = np.where(changes & more, steps, 0)
    kinds: list[str] = list(operands)
    # With two halves, step j's write-back sits in the ring between the loads for steps
    # j + 1 and j + 2: the chain pays it too (all but the last steps' write-backs).
    writes = halves == 2 and "ofmap" not in stack.streamed
    if writes:
        kinds.append("ofmap_write")
    largest = [stack.tile_sizes[operand] for operand in operands]
    largest.append(write_most if writes else np.zeros((1, 1, 1), dtype=np.int64))
    bus = summed([stack.rounded[kind] for kind in kinds])
    return Chain(halves, chained, bus, tuple(largest), compute, stack.count(kinds))


def windows(
    grid: tiles.Candidates, stack: Stack, array: ArrayMapping, chip: ChipConfig
) -> tuple[IntArray, tuple[IntArray, ...], IntArray]:
    """Step `j`'s write-back sits in the ring before the loads step `j + 1` queues: the tiles
    of step `j + 2` of every input operand whose tile changes at every step. So step `j + 2`
    ends at least a write-back, those loads, the latency and its compute after step `j` does,
    where plain compute needs two steps. An ofmap tile that lasts two steps or more writes back
    at most every other step, so these windows (all write-backs but the last) never overlap."""
    width = chip.array.element_bytes
    fewest = {
        "write": stack.ends["m"] * stack.ends["n"] * width,
        "ifmap": grid.ifmap_min[:, :, None] * width,
        "weight": stack.ends["k"] * stack.ends["n"] * width,
    }
    most = stack.step_cycles  # `grid_step_most(first=False)`
    if stack.streamed:
        count = np.zeros((1, 1, 1, 1), dtype=np.int64)
    else:
        count = np.where(~stack.innermost["ofmap"], stack.writes - 1, 0)
    found = {"write": fewest["write"]}
    for operand in INPUTS:
        found[operand] = np.where(stack.innermost[operand], fewest[operand], 0)
    return count, tuple(found[key] for key in fewest), most


def grid_step_most(
    grid: tiles.Candidates, array: ArrayMapping, chip: ChipConfig, first: bool
) -> IntArray:
    """`step_most` over the (m, k, n) grid (`Stack.step_cycles` holds it without the first
    step's edge)."""
    sizes = grid_sizes(grid)
    folds = folds_of(sizes, array)
    return step_most(array, chip.array.fold_overlap, folds, sizes[array.time_dim], first)


def step_most(
    array: ArrayMapping, fold_overlap: bool, folds: IntArray, time: IntArray, first: bool
) -> IntArray:
    """A step's compute cycles, at most, for steps of `folds` whole folds of `time` wavefronts:
    any step but the last, or (`first` false) any but the first and the last
    (`loop_nest.fold_run_cycles`: with overlap a fold holds the array for `max(τ, Ar)`, a
    continuing chunk less)."""
    first_edge, _ = layer_edges(array, fold_overlap)
    result: IntArray = whole_folds_cycles(array, fold_overlap, folds, time) + (
        max(first_edge, 0) if first else 0
    )
    return result


def drain_bus(
    grid: tiles.Candidates, stack: Stack, array: ArrayMapping, chip: ChipConfig
) -> IntArray:
    """Bytes the channel carries up to the end of the last load, at least: every load, and
    every write-back but those that may follow it in the ring.

    Nothing is loaded behind the last step `S − 1`. With streamed operands (steps cut into
    pieces) only the loads count. Otherwise: where the ofmap tile lasts two steps or more (the
    innermost moving loop is `k`) or is written back once, the write-backs before the last are
    queued behind step `S − 3` at the latest, and the last step's new ifmap and weight tiles
    behind step `S − 2`: only the last write-back follows the last load. Where the ofmap
    changes at every step, so does an input (the loop that moves it indexes one), loaded
    behind step `S − 2`, before that step's write-back: that one may follow too (its bytes at
    most a whole tile, `bound_stack.write_width` each)."""
    reads = stack.bus - stack.rounded["ofmap_write"]  # every kind but the write-backs
    if stack.streamed:
        return reads
    burst, width = chip.dram.burst_bytes, chip.array.element_bytes
    last = stack.ends
    final = in_bursts(last["m"] * last["n"] * width, burst)
    largest = in_bursts(stack.write_most, burst)
    one_more = np.where(stack.innermost["ofmap"] & (stack.writes > 1), largest, 0)
    result: IntArray = np.maximum(stack.bus - final - one_more, reads)
    return result


def head_bus(
    grid: tiles.Candidates, stack: Stack, array: ArrayMapping, chip: ChipConfig,
    drain: IntArray, prologue: IntArray,
) -> IntArray:
    """Of the `drain` bytes (`drain_bus`), those the channel carries after the first step ends,
    at least: until then, no buffer half is released (steps release input halves as they end,
    write-backs start after their step), so besides the `prologue` (its bytes on the bus) each
    double-buffered buffer takes one load into its other half at most: a second ifmap or weight
    tile where there is one, a tile of partial sums where they are read back. Negative where
    the last load may end before; −1 with streamed operands (pieces of one tile use several
    halves)."""
    if stack.streamed:
        return np.full((1, 1, 1, 1), -1, dtype=np.int64)
    burst, sizes = chip.dram.burst_bytes, stack.sizes
    double = {op: chip.sram.buffer_for(op).double_buffered for op in ("ifmap", "weight", "ofmap")}
    early: list[IntArray] = []  # on the bus: tiles rounded to whole bursts (before the choice)
    for op in INPUTS:  # a second tile, where there is one
        if double[op]:
            tile = in_bursts(stack.tile_sizes[op], burst)
            early.append(np.where(stack.transfers[op] > 1, tile, 0))
    if double["ofmap"]:
        partial = in_bursts(sizes["m"] * sizes["n"] * chip.array.accumulator_bytes, burst)
        early.append(np.where(stack.transfers["ofmap_read"] > 0, partial, 0))
    result: IntArray = drain - summed([prologue, *early])
    return result


def first_step(
    grid: tiles.Candidates, stack: Stack, array: ArrayMapping, chip: ChipConfig
) -> IntArray:
    """The first step's compute cycles, at least, over (order, m, k, n), where it is not also
    the last (0 there, and where streamed operands cut steps into pieces): its tiles are whole
    (or the whole extent), and it opens the layer (`layer_edges`)."""
    if stack.streamed:
        return np.zeros((1, 1, 1, 1), dtype=np.int64)
    sizes, overlap = stack.sizes, chip.array.fold_overlap
    largest = [int(np.maximum.reduce(each)) for each in (grid.m, grid.k, grid.n)]
    if largest[0] <= array.m and largest[1] <= array.k and largest[2] <= array.n:
        # every tile size within its extent (as `tile_grid` makes them): the first tiles are
        # the tile sizes, whose step `Stack.step_cycles` holds
        first, whole = sizes, stack.step_cycles
    else:
        first = {dim: np.minimum(sizes[dim], array.size(dim)) for dim in sizes}
        whole = whole_folds_cycles(array, overlap, folds_of(first, array), first[array.time_dim])
    opening, _ = layer_edges(array, overlap)
    cycles = np.where(stack.merged, first[array.time_dim], whole) + max(opening, 0)
    result: IntArray = np.where(stack.steps > 1, cycles, 0)
    return result


def last_step(
    grid: tiles.Candidates, stack: Stack, array: ArrayMapping, chip: ChipConfig,
    compute_cycles: int,
) -> IntArray:
    """The last step's compute cycles, at least, over (order, m, k, n): every loop at its last
    tile (0 where streamed operands cut steps into pieces, each with a share of them). It
    continues its fold in place where the tiles are single folds streaming along the
    innermost, moving loop (`tiling.streams_in_place`)."""
    if stack.streamed:
        return np.zeros((1, 1, 1, 1), dtype=np.int64)
    last = stack.ends
    return last_step_cycles(
        array, chip.array.fold_overlap, compute_cycles, folds_of(last, array),
        last[array.time_dim], stack.merged,
    )  # fmt: skip

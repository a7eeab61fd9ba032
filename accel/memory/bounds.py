"""Lower bounds of a tiling's replayed cycles, for every candidate of a layer's grid at once.

Every candidate tiling (tile sizes × loop order, `tiling.py`) that fits the buffers gets, over
the whole grid in numpy (no Python loop per candidate), its DRAM bytes in closed form
(`traffic.py`) and a lower bound of the cycles the pipeline replay (`replay.py`) will measure
for it, each from a fact of that replay:

- compute runs its steps in order, their cycles adding up to the layer's compute cycles plus
  the refills of a cut streamed dimension; it starts after the prologue's ifmap and weight
  tiles have crossed the channel and the DRAM latency passed, and the last ofmap tile is
  written back after the last step;
- the one DRAM channel carries every byte in whole bursts, one transfer after another;
- a load waits for a free half of its buffer, and the ring is in order: an input operand whose
  tile changes at every step chains each step to the one that freed its half (`Chain`), and
  a write-back delays the loads queued after it (`_windows`).

`search.py` replays candidates in order of these bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from accel.config import OPERANDS, ChipConfig, Operand
from accel.mapping.array import GEMM_DIMS, ArrayMapping
from accel.mapping.array import loop_dims as _loop_dims
from accel.memory import tiling as tiles
from accel.memory.fold_cycles import layer_edges
from accel.memory.geometry import IntArray
from accel.memory.traffic import TRAFFIC, GridTraffic, trips
from accel.perf.timing import fill_drain_cycles

INPUTS: tuple[Operand, ...] = ("ifmap", "weight")


@dataclass(frozen=True)
class Chain:
    """Input operands whose tiles change at every step, over `halves` buffer halves: the loads
    of step `j`'s tiles wait for step `j − halves` to release their halves and cross the one
    channel in turn, so every `halves` steps the pipeline pays those loads, the DRAM latency
    and a step's compute one after another.
    Averaged over the `halves` interleaved chains, the layer lasts at least
    `(Σ_{j ≥ halves} load_j + (steps − halves) · latency + Σ_{j ≥ halves} compute_j) / halves`.
    Arrays are per valid candidate; `steps` 0 where the operand does not change every step."""

    halves: int
    steps: IntArray
    bus: IntArray  # the operands' bytes, each rounded up to whole bursts
    largest: tuple[IntArray, ...]  # per operand and the write-back, one transfer's bytes at most
    compute: IntArray  # a lower bound of the compute of steps `halves` onwards


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
    stack = _Stack.of(orders, per_order, grid, array, chip, mask)
    width = chip.array.element_bytes
    m, k, n = grid.m[:, None, None], grid.k[None, :, None], grid.n[None, None, :]
    weight0 = k * n * width + (tiles.BIAS_BYTES * n if has_bias else 0)
    last = _last_extent(array.m, m) * _last_extent(array.n, n) * width
    ifmap0 = grid.ifmap_first[:, :, None] * width
    streamed = stack.streamed
    chains = tuple(
        _chain(operands, grid, stack, array, chip, compute_cycles)
        for operands in (("ifmap",), ("weight",), ("ifmap", "weight"))
    )
    return Grid(
        grid, tuple(orders), tuple(per_order), array, compute_cycles, np.flatnonzero(mask),
        stack.flat(compute_cycles + stack.refill), stack.flat(stack.moved),
        stack.flat(sum(stack.rounded[kind] for kind in TRAFFIC)),
        stack.flat(0 if "ifmap" in streamed else ifmap0),
        stack.flat(0 if "weight" in streamed else weight0),
        stack.flat(0 if "ofmap" in streamed else last), chains,
        *_windows(grid, stack, array, chip),
    )  # fmt: skip


@dataclass(frozen=True)
class _Stack:
    """Every loop order's traffic stacked on a first axis (order, m, k, n), with what the
    bounds read of it, and the mask of the candidates kept (one flattening for all)."""

    full: tuple[int, ...]
    streamed: tuple[Operand, ...]  # the same for every order of one grid
    rounded: dict[str, IntArray]  # per TRAFFIC kind: bytes rounded up to whole bursts
    refill: IntArray
    moved: IntArray
    writes: IntArray  # ofmap write-back transfers
    innermost: dict[Operand, IntArray]  # `_innermost_indexes`, per order
    tile_sizes: dict[Operand, IntArray]  # per order
    mask: IntArray
    everything: bool  # every candidate kept: no cut

    @classmethod
    def of(
        cls, orders: list[GridTraffic], per_order: list[dict[Operand, IntArray]],
        grid: tiles.Candidates, array: ArrayMapping, chip: ChipConfig, mask: IntArray,
    ) -> _Stack:
        trip = trips(grid, array)
        full = (len(orders), *trip["m"].shape)
        burst = chip.dram.burst_bytes
        stacked = {kind: np.stack([t.bytes[kind] for t in orders]) for kind in TRAFFIC}
        moving: dict[str, IntArray] = {dim: np.asarray(trip[dim] > 1) for dim in GEMM_DIMS}
        inner = [_innermost_indexes(t.order, moving, array.groups) for t in orders]
        return cls(
            full, orders[0].streamed,
            {kind: -(-values // burst) * burst for kind, values in stacked.items()},
            np.stack([t.refill for t in orders]), np.sum(list(stacked.values()), axis=0),
            np.stack([t.transfers["ofmap_write"] for t in orders]),
            {op: np.stack([each[op] for each in inner]) for op in OPERANDS},
            {op: _same_or_stacked([sizes[op] for sizes in per_order], full)
             for op in OPERANDS},
            mask, bool(mask.all()),
        )  # fmt: skip

    def flat(self, values: IntArray | int) -> IntArray:
        """`values` broadcast over (order, m, k, n), flattened like `Grid.flat`."""
        flat = np.broadcast_to(np.asarray(values, dtype=np.int64), self.full).reshape(-1)
        result: IntArray = flat if self.everything else flat[self.mask]
        return result


def _same_or_stacked(values: list[IntArray], full: tuple[int, ...]) -> IntArray:
    """One array per order: broadcast over the orders when they are all one array."""
    if all(each is values[0] for each in values):
        return values[0]
    return np.stack([np.broadcast_to(each, full[1:]) for each in values])


def _windows(
    grid: tiles.Candidates, stack: _Stack, array: ArrayMapping, chip: ChipConfig
) -> tuple[IntArray, tuple[IntArray, ...], IntArray]:
    """Step `j`'s write-back sits in the ring before the loads step `j + 1` queues: the tiles
    of step `j + 2` of every input operand whose tile changes at every step. So step `j + 2`
    ends at least a write-back, those loads, the latency and its compute after step `j` does,
    where plain compute needs two steps. An ofmap tile that lasts two steps or more writes back
    at most every other step, so these windows (all write-backs but the last) never overlap."""
    m, k, n = grid.m[:, None, None], grid.k[None, :, None], grid.n[None, None, :]
    width = chip.array.element_bytes
    fewest = {
        "write": _last_extent(array.m, m) * _last_extent(array.n, n) * width,
        "ifmap": grid.ifmap_min[:, :, None] * width,
        "weight": _last_extent(array.k, k) * _last_extent(array.n, n) * width,
    }
    step_most = _step_most(grid, array, chip, first=False)
    if stack.streamed:
        count: IntArray | int = 0
    else:
        count = np.where(~stack.innermost["ofmap"], stack.writes - 1, 0)
    sizes = {"write": stack.flat(fewest["write"])}
    for operand in INPUTS:
        sizes[operand] = stack.flat(np.where(stack.innermost[operand], fewest[operand], 0))
    return stack.flat(count), tuple(sizes[key] for key in fewest), stack.flat(step_most)


def _step_most(
    grid: tiles.Candidates, array: ArrayMapping, chip: ChipConfig, first: bool
) -> IntArray:
    """A step's compute cycles, at most, over the (m, k, n) grid: any step but the last, or
    (`first` false) any but the first and the last (`loop_nest.fold_run_cycles`: with overlap
    a fold holds the array for `max(τ, Ar)`, a continuing chunk less)."""
    sizes = {"m": grid.m[:, None, None], "k": grid.k[None, :, None], "n": grid.n[None, None, :]}
    folds = -(-sizes[array.rows_dim] // array.array_rows) * -(
        -sizes[array.cols_dim] // array.array_cols
    )
    time = sizes[array.time_dim]
    overlap = chip.array.fold_overlap
    per_fold = np.maximum(time, array.array_rows) if overlap else time + fill_drain_cycles(array)
    first_edge, _ = layer_edges(array, overlap)
    result: IntArray = folds * per_fold + (max(first_edge, 0) if first else 0)
    return result


def _chain(
    operands: tuple[Operand, ...],
    grid: tiles.Candidates,
    stack: _Stack,
    array: ArrayMapping,
    chip: ChipConfig,
    compute_cycles: int,
) -> Chain:
    """The `Chain` of `operands` over every loop order's grid, flattened like `Grid`. With
    halves of different counts the larger holds (a load may wait for a later release)."""
    halves = max(2 if chip.sram.buffer_for(op).double_buffered else 1 for op in operands)
    trip = trips(grid, array)
    steps = array.groups * trip["m"] * trip["k"] * trip["n"]
    sizes = {"m": grid.m[:, None, None], "k": grid.k[None, :, None], "n": grid.n[None, None, :]}
    step_most = _step_most(grid, array, chip, first=True)
    accumulator = max(chip.array.accumulator_bytes, chip.array.element_bytes)
    write_most = sizes["m"] * sizes["n"] * accumulator  # one write-back, at most
    if any(operand in stack.streamed for operand in operands):
        chained: IntArray | int = 0
    else:
        changes = stack.innermost[operands[0]]
        for operand in operands[1:]:
            changes = changes & stack.innermost[operand]
        chained = np.where(changes & (steps > halves), steps, 0)
    bus = sum(stack.rounded[op] for op in operands)
    # With two halves, step j's write-back sits in the ring between the loads for steps
    # j + 1 and j + 2: the chain pays it too (all but the last steps' write-backs).
    writes = halves == 2 and "ofmap" not in stack.streamed
    if writes:
        bus = bus + stack.rounded["ofmap_write"]
    largest = [stack.tile_sizes[operand] for operand in operands]
    largest.append(write_most if writes else np.zeros((1, 1, 1), dtype=np.int64))
    compute = np.maximum(compute_cycles - halves * step_most + stack.refill, 0)
    return Chain(
        halves, stack.flat(chained), stack.flat(bus), tuple(stack.flat(c) for c in largest),
        stack.flat(compute),
    )  # fmt: skip


def _innermost_indexes(
    order: str, moving: dict[str, IntArray], groups: int
) -> dict[Operand, IntArray]:
    """Per operand, where the innermost loop that iterates indexes it (the groups loop,
    outermost, indexes every operand): its tile changes at every step. `moving`: per dim,
    where its loop has more than one trip."""
    dims = _loop_dims(order)
    # The innermost moving loop is `dims[i]` where it moves and every loop inside it does not.
    innermost: dict[str, IntArray] = {}
    still = np.ones_like(moving["m"])
    for dim in reversed(dims):
        innermost[dim] = moving[dim] & still
        still = still & ~moving[dim]
    result: dict[Operand, IntArray] = {}
    for operand in OPERANDS:
        first, second = tiles.OPERAND_DIMS[operand]
        found = innermost[first] | innermost[second]
        result[operand] = found | still if groups > 1 else found
    return result


def _last_extent(total: int, tile: IntArray) -> IntArray:
    """The extent of the last tile along a dimension of `total` cut into `tile`s."""
    result: IntArray = total - (total - 1) // tile * tile
    return result


def restrict(table: Grid, valid: list[IntArray]) -> Grid:
    """`table` (built over every candidate, all valid) cut down to the `valid` ones: the bound
    inputs do not read the buffer sizes, so chips that differ only there share one build."""
    mask = np.stack(valid).ravel()

    def cut(values: IntArray) -> IntArray:
        result: IntArray = values[mask]
        return result

    chains = tuple(
        replace(chain, steps=cut(chain.steps), bus=cut(chain.bus), compute=cut(chain.compute),
                largest=tuple(cut(each) for each in chain.largest))
        for chain in table.chains
    )  # fmt: skip
    assert table.windows is not None and table.window_compute is not None
    return replace(
        table, flat=np.flatnonzero(mask), compute=cut(table.compute), moved=cut(table.moved),
        bus=cut(table.bus), first_ifmap=cut(table.first_ifmap),
        first_weight=cut(table.first_weight), last_write=cut(table.last_write), chains=chains,
        windows=cut(table.windows), window_bytes=tuple(cut(each) for each in table.window_bytes),
        window_compute=cut(table.window_compute),
    )  # fmt: skip


def transfer_bound(size: IntArray, chip: ChipConfig) -> IntArray:
    """Cycles of one transfer of `size` bytes (`replay.transfer_cycles`, over an array)."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    result: IntArray = np.floor(-(-size // burst) * burst / bandwidth + 0.5).astype(np.int64)
    return result


def channel_bound(bus: IntArray, chip: ChipConfig) -> IntArray:
    """Cycles the channel needs at least to carry `bus` bytes in whole bursts, however they are
    cut into transfers: each transfer's cycles round to the nearest, so when a burst is not a
    whole number of cycles a transfer of `b` bursts may take half a cycle less than `b` bursts'
    worth, at most a share `bandwidth / (2 · burst)` of its time."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    per_burst = burst / bandwidth
    slack = 0.0 if per_burst == math.floor(per_burst) else 0.5 / per_burst
    cycles = bus / bandwidth * max(0.0, 1.0 - slack)
    result: IntArray = np.ceil(cycles - 1e-9).astype(np.int64)
    return result


def lower_bounds(table: Grid, chip: ChipConfig) -> IntArray:
    """A lower bound of every candidate's replayed cycles on `chip`'s DRAM channel."""
    latency = chip.dram.latency_cycles
    first = transfer_bound(table.first_ifmap, chip) + transfer_bound(table.first_weight, chip)
    fill = np.where(first > 0, first + latency, 0)
    pipeline = table.compute + fill + transfer_bound(table.last_write, chip)
    if table.windows is not None and table.window_compute is not None:
        moved = sum(transfer_bound(size, chip) for size in table.window_bytes)
        extra = np.maximum(moved + latency - table.window_compute, 0)
        pipeline = pipeline + table.windows * extra
    bound: IntArray = np.maximum(pipeline, channel_bound(table.bus, chip))
    for chain in table.chains:
        opening = sum(transfer_bound(largest, chip) for largest in chain.largest)
        loads = channel_bound(chain.bus, chip) - chain.halves * opening
        waits = (chain.steps - chain.halves) * latency
        total = np.maximum(loads, 0) + waits + chain.compute
        bound = np.maximum(bound, np.where(chain.steps > 0, total // chain.halves, 0))
    return bound

"""DRAM traffic and stall cycles of one layer: tiles under SRAM capacity, real reuse, a replay.

For an array layer every legal tiling (`mapping/tiling.py`: tile sizes × loop order) gets its
DRAM traffic in closed form:

- ifmap: each tile's input box (halo rows included, im2col copies not) once per pass; passes =
  trips of the one loop that does not index the ifmap (`n`), if it runs outside a moving ifmap loop;
- weights (and int32 biases): once per pass over them (loop `m`);
- ofmap: outputs written once as int8; when `K` is split across visits of an output tile, each
  extra visit spills the int32 partial sums and reads them back.

Compulsory traffic is each tensor once (the ifmap: each input element some window reads). The
chooser ranks tilings by a roofline estimate, replays the best few in the DMA / compute pipeline
(`replay.py`) and keeps the one with the fewest cycles, ties broken by DRAM bytes. A layer whose
whole GEMM fits on chip is only tiled in ways that fetch nothing twice, so its traffic equals the
compulsory traffic. Vector-unit layers stream their tensors once in slices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping import tiling as tiles
from accel.mapping.array import ArrayMapping, ceil_div
from accel.mapping.geometry import IntArray, LayerGeometry
from accel.mapping.mapper import Mapping
from accel.model.network import Layer
from accel.model.ops import Op, Shape
from accel.perf.loop_nest import array_schedule, fold_run_cycles
from accel.perf.replay import replay_layer
from accel.perf.schedule import Schedule, stream_schedule
from accel.perf.timing import ComputeTiming

_REPLAYED = 3  # tilings replayed after ranking by the roofline estimate


@dataclass(frozen=True)
class MemoryTraffic:
    """DRAM bytes per operand, the tiling behind them, and the stalls of the layer alone."""

    dram_ifmap_bytes: int
    dram_weight_bytes: int
    dram_ofmap_write_bytes: int  # final outputs plus spilled partial sums
    dram_ofmap_read_bytes: int  # partial sums read back
    compulsory_dram_bytes: int  # each tensor once: the lower bound
    stall_cycles: int  # alone from a cold start: total − compute cycles
    compulsory_ifmap_bytes: int = 0
    compulsory_weight_bytes: int = 0
    compulsory_ofmap_bytes: int = 0
    refill_cycles: int = 0  # array refills forced by cutting the streamed dimension
    arithmetic_intensity: float = 0.0  # MACs (vector layers: ops) per DRAM byte
    bound: str = ""  # "compute" | "memory" by the roofline; "" for layers that move nothing
    tiling: tiles.Tiling | None = None
    tile_steps: int = 0
    schedule: Schedule | None = field(default=None, compare=False, repr=False)

    @property
    def dram_read_bytes(self) -> int:
        return self.dram_ifmap_bytes + self.dram_weight_bytes + self.dram_ofmap_read_bytes

    @property
    def dram_write_bytes(self) -> int:
        return self.dram_ofmap_write_bytes

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes


class _NoFit(Exception):
    """No tile fits; the message lacks the layer name (the cache is shared across names)."""


def model_memory(mapping: Mapping, timing: ComputeTiming, chip: ChipConfig) -> MemoryTraffic:
    """Tiling, DRAM traffic and stall cycles of one layer (the layer alone, cold start)."""
    layer, batch = mapping.layer, mapping.batch
    if mapping.unit == "none":
        return MemoryTraffic(0, 0, 0, 0, 0, 0)
    if mapping.array is None:
        sizes = (layer.ifmap_bytes * batch, layer.weight_bytes, layer.ofmap_bytes * batch)
        return _vector_memory(*sizes, mapping.vector_ops, timing.compute_cycles, chip)
    try:
        return _array_memory(
            layer.op, layer.input_shapes, layer.output_shape, batch, mapping.array,
            timing.compute_cycles, chip,
        )
    except _NoFit as err:
        raise InputError(f"layer {layer.name!r}: {err}") from None


@lru_cache(maxsize=4096)
def _array_memory(
    op: Op,
    input_shapes: tuple[Shape, ...],
    output_shape: Shape,
    batch: int,
    array: ArrayMapping,
    compute_cycles: int,
    chip: ChipConfig,
) -> MemoryTraffic:
    layer = Layer("layer", op, ("input",), input_shapes, output_shape)
    geometry = LayerGeometry.of(layer, batch)
    grid = tiles.candidates(array, geometry)
    has_bias = layer.bias_elements > 0
    sizes = tiles.tile_bytes(grid, geometry, chip, has_bias)
    fit = tiles.fits(sizes, chip)
    if not fit.any():
        try:
            tiles.raise_no_fit("layer", sizes, chip, grid)
        except InputError as err:
            raise _NoFit(str(err).split(": ", 1)[1]) from None
    compulsory = (
        geometry.image_box * geometry.channels_per_group * array.groups * batch,
        layer.weight_bytes,
        layer.ofmap_bytes * batch,
    )
    ranked = _rank(grid, sizes, fit, geometry, array, chip, has_bias, compute_cycles, compulsory)
    best: tuple[int, int, tiles.Tiling, Schedule, dict[str, int]] | None = None
    for tiling, traffic in ranked:
        schedule = array_schedule(tiling, geometry, array, chip, has_bias, compute_cycles)
        total = replay_layer(schedule, chip)
        candidate = (total, _moved(traffic), tiling, schedule, traffic)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    assert best is not None
    total, moved, tiling, schedule, traffic = best
    intensity = layer.macs * batch / moved
    return MemoryTraffic(
        traffic["ifmap"], traffic["weight"], traffic["ofmap_write"], traffic["ofmap_read"],
        sum(compulsory), total - compute_cycles, *compulsory,
        refill_cycles=traffic["refill"],
        arithmetic_intensity=intensity,
        bound="memory" if intensity < chip.ridge_point_macs_per_byte else "compute",
        tiling=tiling,
        tile_steps=schedule.step_count,
        schedule=schedule,
    )


def _moved(traffic: dict[str, int]) -> int:
    return sum(traffic[key] for key in ("ifmap", "weight", "ofmap_write", "ofmap_read"))


def _rank(
    grid: tiles.Candidates,
    sizes: dict[str, IntArray],
    fit: IntArray,
    geometry: LayerGeometry,
    array: ArrayMapping,
    chip: ChipConfig,
    has_bias: bool,
    compute_cycles: int,
    compulsory: tuple[int, int, int],
) -> list[tuple[tiles.Tiling, dict[str, int]]]:
    """The most promising legal tilings, best first, with their traffic and refill cycles."""
    dims = {"m": grid.m[:, None, None], "k": grid.k[None, :, None], "n": grid.n[None, None, :]}
    totals = {"m": array.m, "k": array.k, "n": array.n}
    trips = {d: np.broadcast_to(-(-totals[d] // dims[d]), fit.shape) for d in "mkn"}
    outputs = array.groups * array.m * array.n
    ifmap_pass = array.groups * grid.box_sum[:, None, None] * grid.channels_sum[None, :, None]
    bandwidth, latency = chip.dram.bandwidth_bytes_per_cycle, chip.dram.latency_cycles
    edges = (sizes["ifmap"] + sizes["weight"] + dims["m"] * dims["n"]) / bandwidth + latency
    edges = edges + 2 * chip.dram.burst_bytes / bandwidth
    everything_fits = bool(fit[-1, -1, -1])
    steps = array.groups * trips["m"] * trips["k"] * trips["n"]
    evaluated = []
    for order in tiles.LOOP_ORDERS:
        passes = {op: tiles.refetches(order, trips, op) for op in ("ifmap", "weight", "ofmap")}
        spill = (passes["ofmap"] - 1) * outputs * tiles.accumulator_bytes(chip)
        traffic = {
            "ifmap": ifmap_pass * passes["ifmap"],
            "weight": np.broadcast_to(compulsory[1] * passes["weight"], fit.shape),
            "ofmap_write": outputs + spill,
            "ofmap_read": spill,
            "refill": _refill_cycles(order, trips, dims, array, chip),
        }
        moved = traffic["ifmap"] + traffic["weight"] + traffic["ofmap_write"] + spill
        per_group = {
            "ifmap": trips["m"] * trips["k"] * passes["ifmap"],
            "weight": trips["k"] * trips["n"] * passes["weight"],
            "ofmap_write": trips["m"] * trips["n"] * passes["ofmap"],
            "ofmap_read": trips["m"] * trips["n"] * (passes["ofmap"] - 1),
        }
        transfers = {op: array.groups * count for op, count in per_group.items()}
        busy = compute_cycles + traffic["refill"]
        estimate = np.maximum(busy, _channel_bound(traffic, transfers, busy, steps, chip)) + edges
        valid = fit.copy()
        if everything_fits:  # nothing may be fetched twice when nothing has to be
            valid &= (traffic["ifmap"] == compulsory[0]) & (traffic["weight"] == compulsory[1])
            valid &= spill == 0
        evaluated.append((order, traffic, np.where(valid, estimate, np.inf), moved))
    scores = np.stack([e[2] for e in evaluated])
    moved_all = np.stack([np.broadcast_to(e[3], fit.shape) for e in evaluated])
    flat = np.lexsort((moved_all.ravel(), scores.ravel()))[:_REPLAYED]
    chosen = []
    for index in flat:
        if not np.isfinite(scores.ravel()[index]):
            break
        o, i, j, l = np.unravel_index(index, scores.shape)
        order, traffic = evaluated[o][0], evaluated[o][1]
        tiling = tiles.Tiling(
            array.dataflow, order, int(grid.m[i]), int(grid.k[j]), int(grid.n[l]),
            int(trips["m"][i, j, l]), int(trips["k"][i, j, l]), int(trips["n"][i, j, l]),
            array.groups, int(sizes["ifmap"][i, j, 0]), int(sizes["weight"][0, j, l]),
            int(sizes["ofmap"][i, 0, l]),
        )
        picked = {key: int(np.broadcast_to(v, fit.shape)[i, j, l]) for key, v in traffic.items()}
        chosen.append((tiling, picked))
    return chosen


def _channel_bound(
    traffic: dict[str, IntArray],
    transfers: dict[str, IntArray],
    busy: IntArray,
    steps: IntArray,
    chip: ChipConfig,
) -> IntArray:
    """A lower bound on the cycles the DRAM side needs: bus time, and latency per tile.

    With two halves per buffer, the load of a tile cannot start before the tile two back is
    released, so a tile used for one step costs at least half of (compute + transfer + latency);
    a tile that lasts `P` steps has `P − 1` steps to hide its successor's transfer and latency.
    """
    bandwidth, burst = chip.dram.bandwidth_bytes_per_cycle, chip.dram.burst_bytes
    bus = np.zeros_like(busy, dtype=np.float64)
    bound = np.zeros_like(busy, dtype=np.float64)
    per_step = busy / steps
    for operand, moves in transfers.items():
        cycles = _bursts(traffic[operand], moves, burst) / bandwidth
        bus = bus + cycles
        latency = chip.dram.latency_cycles if operand != "ofmap_write" else 0
        period = steps / np.maximum(moves, 1)
        each = cycles / np.maximum(moves, 1)
        hidden = np.where(period > 1, 1, 2)  # halves overlap two one-step tiles
        per_tile = np.maximum(period * per_step, (per_step + each + latency) / hidden)
        bound = np.maximum(bound, np.where(moves > 0, moves * per_tile, 0))
    return np.maximum(bus, bound)


def _bursts(size: IntArray, transfers: IntArray, burst: int) -> IntArray:
    """Bytes on the bus when `size` bytes move in `transfers` equal transfers of whole bursts."""
    each = -(-size // np.maximum(transfers, 1))
    return np.where(transfers > 0, transfers * -(-each // burst) * burst, 0)


def _refill_cycles(
    order: str, trips: dict[str, IntArray], dims: dict[str, IntArray], array: ArrayMapping,
    chip: ChipConfig,
) -> IntArray:
    """Extra array cycles from cutting the streamed dimension (see `loop_nest.py`)."""
    time = array.time_dim
    chunks = trips[time]
    single = (dims[array.rows_dim] <= array.array_rows) & (dims[array.cols_dim] <= array.array_cols)
    innermost = np.ones_like(chunks, dtype=bool)
    for dim in order[order.index(time) + 1 :]:
        innermost &= trips[dim] == 1
    cut = (chunks > 1) & ~(single & innermost)
    folds = array.folds_per_group * array.groups
    if not chip.array.fold_overlap:
        overhead = fold_run_cycles(array, False, 0, 1, "whole")
        return np.where(cut, folds * (chunks - 1) * overhead, 0)
    if array.dataflow == "os":
        return np.zeros_like(chunks)
    rows, steps = array.array_rows, array.time_steps
    chunk = dims[time]
    last = steps - (chunks - 1) * chunk
    tiled = (chunks - 1) * np.maximum(chunk, rows) + np.maximum(last, rows)
    return np.where(cut, folds * (tiled - max(steps, rows)), 0)


def _vector_memory(
    ifmap: int, weight: int, ofmap: int, ops: int, compute_cycles: int, chip: ChipConfig
) -> MemoryTraffic:
    """A vector-unit layer: tensors streamed once, in the slice count that replays fastest."""
    sizes = {"ifmap": ifmap, "weight": weight, "ofmap": ofmap}
    fewest = _fewest_slices(sizes, chip)
    options = [fewest * 4**i for i in range(4) if fewest * 4**i <= min(ifmap, ofmap)] or [1]
    drain = chip.vector_unit.pipeline_latency_cycles
    runs = []
    for chunks in options:
        schedule = stream_schedule(sizes, compute_cycles, min(drain, compute_cycles), chunks)
        runs.append((replay_layer(schedule, chip), chunks, schedule))
    total, _, schedule = min(runs, key=lambda run: run[:2])
    moved = ifmap + weight + ofmap
    intensity = ops / moved if moved else 0.0
    ridge = chip.vector_unit.ops_per_cycle / chip.dram.bandwidth_bytes_per_cycle
    return MemoryTraffic(
        ifmap, weight, ofmap, 0, moved, total - compute_cycles, ifmap, weight, ofmap,
        arithmetic_intensity=intensity,
        bound="memory" if intensity < ridge else "compute",
        tile_steps=schedule.step_count,
        schedule=schedule,
    )


def _fewest_slices(sizes: dict[str, int], chip: ChipConfig) -> int:
    """The fewest equal slices whose every piece fits its buffer half."""
    sram = chip.sram
    chunks = 1
    for operand, size in sizes.items():
        if not sram.is_shared(operand):  # type: ignore[arg-type]
            chunks = max(chunks, ceil_div(size, sram.buffer_for(operand).tile_bytes))  # type: ignore[arg-type]
    if sram.unified is not None:
        shared = sum(size for op, size in sizes.items() if sram.is_shared(op))  # type: ignore[arg-type]
        chunks = max(chunks, ceil_div(shared + len(sizes), sram.unified.tile_bytes))
    return chunks

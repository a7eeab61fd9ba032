"""Bands through a chain: the cost of running fused layers depth-first at one band height.

A fused chain (`fusion.py`) runs one band of its last layer's output rows at a time (full width,
every channel, one image at a time). `Link.needs` traces a band back through each layer's
window to the input rows it reads; summed over the bands, that gives the rows every layer
computes, what crosses DRAM and the largest working set in SRAM (`cost_at`), and the band
sequence becomes one tile schedule for the replay (`band_schedule`).

Halo rows (shared by neighbouring bands) are, with `recompute`, computed again by every band
that needs them, and the group input's halo rows read again; with `cache`, each layer's halo
rows stay in SRAM for the next band, so each row is computed and read once and the cache's
bytes join the working set.

Band heights tried: ceil(H / t) rows for t = 1, 2, 4, … bands per image. A height fits when
the chain's weights fit the weight buffer and its working set (`need_bytes`: a layer's input
and output bands and skip bands, the next band's input being loaded, the output band being
written and, with `cache`, every layer's halo rows) fits the activation buffers
(`memory.activation_buffers`). Of the fitting heights the one with the fewest DRAM bytes, then
the fewest compute cycles, then the band count nearest 8 (loads overlap compute, little
per-band overhead) is used (`best_cost`).

Compute cycles of a layer are its layer-by-layer compute cycles in proportion to the rows it
computes (a first-order model: each band's fold fill and drain are not re-derived).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from accel.config import ChipConfig
from accel.memory.capacity import activation_capacity, weight_capacity
from accel.memory.tile_schedule import Load, LoadKind, Node, Repeat, Schedule, Step, compress
from accel.model.network import Layer
from accel.model.ops import Activation, Add, Conv, Mul
from accel.model.pool_ops import AvgPool, MaxPool
from accel.model.tensor_ops import BatchNorm, Clip

PIPELINED_TILES = 8  # bands per image a pipelined schedule aims at
_ELEMENTWISE = (Add, Mul, Activation, Clip, BatchNorm)


def row_window(layer: Layer, slot: int) -> tuple[int, int, int] | None:
    """How `layer`'s output rows read the rows of its input `slot`: (stride, reach, pad_top) of
    a conv or pooling window, (1, 1, 0) for an elementwise layer whose input has the output's
    height; None when an output row may read any input row (fc, global pooling, a broadcast)."""
    op, shape, out = layer.op, layer.input_shapes[slot], layer.output_shape
    if isinstance(op, Conv | MaxPool | AvgPool):
        reach = op.dilation[0] * (op.kernel[0] - 1) + 1
        return op.stride[0], reach, op.pads(shape.height, shape.width)[0]
    if isinstance(op, _ELEMENTWISE) and shape.height == out.height:
        return 1, 1, 0
    return None


def rows_read(
    window: tuple[int, int, int], in_height: int, first: int, end: int
) -> tuple[int, int]:
    """Input rows [low, high) that output rows [first, end) read through `window` (padding
    excluded)."""
    stride, reach, pad_top = window
    low = first * stride - pad_top
    high = (end - 1) * stride - pad_top + reach
    return max(0, low), min(in_height, high)


@dataclass(frozen=True)
class Link:
    """One layer of a chain: how its output rows map to input rows, and its row sizes."""

    index: int
    stride: int  # input rows per output row
    reach: int  # input rows one output row's window spans: dilation·(kernel − 1) + 1
    pad_top: int
    in_height: int
    out_height: int
    in_row_bytes: int  # one row of the chain input, one image
    out_row_bytes: int
    skips: tuple[tuple[str, int, int], ...]  # other inputs: (name, bytes per row, or whole)
    weight_bytes: int
    compute_cycles: int  # layer by layer, the whole batch
    macs: int  # the whole batch

    @property
    def skip_row_bytes(self) -> int:
        """One row of every other input read band by band (a residual add's skip), one image."""
        return sum(row for _, row, _ in self.skips)

    @property
    def skip_whole_bytes(self) -> int:
        """Other inputs read whole, once per image (a per-channel scale)."""
        return sum(whole for _, _, whole in self.skips)

    def needs(self, first: int, end: int) -> tuple[int, int]:
        """Input rows [first, end) that output rows [first, end) read (padding excluded)."""
        return rows_read((self.stride, self.reach, self.pad_top), self.in_height, first, end)


@dataclass(frozen=True)
class GroupCost:
    """A chain at one tile size: what it moves, computes and holds."""

    tile_rows: int
    tiles: int  # per image
    dram_bytes: int
    reads: tuple[tuple[int, str, int], ...]  # DRAM reads: (layer position, tensor, bytes)
    compute_cycles: tuple[int, ...]  # per layer, halo recomputation included
    recompute_macs: tuple[int, ...]
    need_bytes: int  # largest working set in the activation buffers
    steps: tuple[tuple[int, int, int], ...]  # per tile of one image: (in bytes, out bytes, cycles)


def best_cost(
    links: tuple[Link, ...], group_input: str, chip: ChipConfig, batch: int
) -> GroupCost | None:
    """The chain's cost at its best fitting tile size, or None when no size fits."""
    weights = sum(link.weight_bytes for link in links)
    room = activation_capacity(chip)
    shared = weight_capacity(chip)
    if shared.own_bytes is not None and weights > shared.own_bytes:
        return None
    height = links[-1].out_height
    counts = sorted({min(height, 2**power) for power in range(height.bit_length() + 1)})
    fitting = []
    for tiles in counts:
        cost = cost_at(links, group_input, math.ceil(height / tiles), chip.memory.fusion_halo,
                       batch)
        extra = weights if shared.own_bytes is None else 0
        if cost.need_bytes + extra <= room:
            fitting.append(cost)
    if not fitting:
        return None
    return min(fitting, key=lambda c: (c.dram_bytes, sum(c.compute_cycles),
                                       abs(c.tiles - PIPELINED_TILES)))  # fmt: skip


def cost_at(
    links: tuple[Link, ...], group_input: str, tile_rows: int, halo: str, batch: int
) -> GroupCost:
    """The chain run in bands of `tile_rows` of its last layer's output."""
    count = len(links)
    height = links[-1].out_height
    tiles = math.ceil(height / tile_rows)
    cache = halo == "cache"
    rows = [0] * count  # rows each layer computes, one image
    done = [0] * count  # cache: rows of each layer computed so far
    input_rows, skip_rows = [0] * count, [0] * count
    read_end = 0  # cache: end of the group input rows read so far
    previous_in = [0] * count  # end of each layer's input band in the previous tile
    need = 0
    steps = []
    per_row = [Fraction(link.compute_cycles, batch * link.out_height) for link in links]
    for tile in range(tiles):
        first, end = tile * tile_rows, min(height, (tile + 1) * tile_rows)
        bands: list[tuple[int, int]] = [(0, 0)] * count
        for position in range(count - 1, -1, -1):
            bands[position] = (first, end)
            first, end = links[position].needs(first, end)
        cycles = Fraction(0)
        working = cached = 0
        moved_in = 0
        for position, link in enumerate(links):
            low, high = bands[position]
            new = high - max(low, done[position]) if cache else high - low
            new = max(0, new)
            done[position] = max(done[position], high)
            rows[position] += new
            cycles += new * per_row[position]
            in_low, in_high = link.needs(low, high)
            band_in = in_high - in_low
            if cache:
                cached += max(0, previous_in[position] - in_low) * link.in_row_bytes
            previous_in[position] = in_high
            skips = new * link.skip_row_bytes
            skip_rows[position] += new
            moved_in += skips
            working = max(working, band_in * link.in_row_bytes + (high - low) * link.out_row_bytes
                          + (high - low) * link.skip_row_bytes)  # fmt: skip
        in_low, in_high = links[0].needs(*bands[0])
        read = max(0, in_high - max(in_low, read_end) if cache else in_high - in_low)
        read_end = max(read_end, in_high)
        input_rows[0] += read
        moved_in += read * links[0].in_row_bytes
        if tile == 0:
            moved_in += sum(link.skip_whole_bytes for link in links)
        out_bytes = (bands[-1][1] - bands[-1][0]) * links[-1].out_row_bytes
        need = max(need, working + (in_high - in_low) * links[0].in_row_bytes + out_bytes + cached)
        steps.append((moved_in, out_bytes, math.ceil(cycles)))
    reads = [(links[0].index, group_input, batch * input_rows[0] * links[0].in_row_bytes)]
    reads += [
        (link.index, name, batch * (skip_rows[i] * row + whole))
        for i, link in enumerate(links)
        for name, row, whole in link.skips
    ]
    compute = tuple(
        math.ceil(Fraction(link.compute_cycles * rows[i], link.out_height))
        for i, link in enumerate(links)
    )
    recompute = tuple(
        max(0, link.macs * (rows[i] - link.out_height) // link.out_height)
        for i, link in enumerate(links)
    )
    output = batch * height * links[-1].out_row_bytes
    weights = sum(link.weight_bytes for link in links)
    dram = sum(read for _, _, read in reads) + weights + output
    return GroupCost(tile_rows, tiles, dram, tuple(reads), compute, recompute, need, tuple(steps))


def band_schedule(cost: GroupCost, weight_bytes: int, batch: int) -> Schedule:
    """The group's tile steps for the whole batch: weights once, then each image's bands,
    each band's input loaded while the previous band computes and its output written back."""
    steps = cost.steps
    has_weights = weight_bytes > 0

    def image(first_image: bool, last_image: bool) -> list[Node]:
        chain = []
        for tile, (_, out_bytes, cycles) in enumerate(steps):
            first, last = first_image and tile == 0, last_image and tile == len(steps) - 1
            upcoming = steps[tile + 1][0] if tile + 1 < len(steps) else steps[0][0]
            takes: tuple[LoadKind, ...] = ("ifmap", "weight") if first and has_weights else (
                "ifmap",)
            chain.append(Step(
                compute_cycles=cycles, takes=takes, claims_ofmap=True,
                releases=("ifmap", "weight") if last and has_weights else ("ifmap",),
                loads=() if last else (Load("ifmap", upcoming),),
                writeback_bytes=out_bytes, prefetch_point=last and has_weights,
            ))  # fmt: skip
        return _compressed(chain)

    if batch == 1:
        body = image(True, True)
    else:
        middle = [Repeat(batch - 2, tuple(image(False, False)))] if batch > 2 else []
        body = image(True, False) + middle + image(False, True)
    prologue = ((Load("weight", weight_bytes),) if has_weights else ()) + (
        Load("ifmap", steps[0][0]),)
    return Schedule(prologue, tuple(body), not has_weights, weight_bytes)


def _compressed(steps: list[Step]) -> list[Node]:
    nodes: list[Node] = []
    for count, period in compress(steps):
        body = tuple(step for step in period if isinstance(step, Step))
        nodes.extend(body if count == 1 else (Repeat(count, body),))
    return nodes

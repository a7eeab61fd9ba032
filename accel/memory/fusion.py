"""Layer fusion: a chain of layers run depth-first, one band of the last layer's rows at a time.

Layer by layer, every intermediate feature map is written to DRAM and read back. Fused, a chain
`L1 → L2 → … → Ln` runs as DeFiNES does it (Mei et al., "DeFiNES: Enabling Fast Exploration of
the Depth-first Scheduling Space for DNN Accelerators through Analytical Modeling", HPCA 2023):
a tile of Ln's output (here a band of `tile_rows` rows, full width, every channel, one image at
a time) is traced back through the chain to the rows each layer must produce for it (its
receptive field), and the tile is computed through all n layers before the next tile starts.
Only the group's input, its weights (loaded once, kept in the weight buffer for the whole run)
and its output cross the DRAM channel; intermediate bands live in the activation buffers.

Consecutive tiles need overlapping input rows (the halo, `reach − stride` rows per layer). The
chip's `memory.fusion_halo` decides what happens to them:
- `recompute`: every tile computes all the rows it needs, so halo rows are computed again
  (`recompute_macs`, extra cycles) and the group input's halo rows are read from DRAM again;
- `cache`: the halo rows of each layer's input are kept in SRAM for the next tile, so every row
  is computed and read once, at the cost of that cache's bytes in the activation buffers.

A chain is fusable when each layer after the first reads the previous layer's output, every
intermediate output is read only by the next layer (and is no network output), and every layer
works on rows: a convolution or pooling window, or an elementwise op (add, mul, activation,
clip, batchnorm). A layer's other inputs (a residual add's skip tensor) are read band by band
from DRAM, or not at all when they are the group's own input, which the band already holds.

Tile sizes: `tile_rows` = ceil(H / t) for t = 1, 2, 4, … tiles per image. A group fits when its
weights fit the weight buffer and its largest working set (`need_bytes`: a layer's input and
output bands, its skip bands, the next tile's input band being loaded, the output band being
written and, with `cache`, every layer's halo rows) fits the activation buffers
(`memory.activation_buffers`). Of the fitting sizes the one with the fewest DRAM bytes, then the
fewest compute cycles, then the tile count nearest 8 (loads overlap compute, little per-tile
overhead) is used.

Compute cycles of a layer in a group are its layer-by-layer compute cycles in proportion to the
rows it computes (a first-order model: each band's fold fill and drain are not re-derived).

Automatic groups (`fusion: auto`) are a shortest path over the layer sequence: every segment is
either one layer run as before (its own DRAM bytes) or a fusable chain of up to
`MAX_CHAIN` layers that fits (its fused DRAM bytes); the partition with the fewest DRAM bytes,
then the fewest compute cycles, wins, so it never moves more DRAM bytes than layer by layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.mapper import Mapping
from accel.memory.capacity import activation_capacity, weight_capacity
from accel.memory.model import MemoryTraffic
from accel.memory.replay import replay_layer
from accel.memory.tile_schedule import Load, LoadKind, Node, Repeat, Schedule, Step, compress
from accel.model.network import Layer, Network
from accel.model.ops import Activation, Add, AvgPool, Conv, MaxPool, Mul
from accel.model.tensor_ops import BatchNorm, Clip
from accel.model.window import WindowOp
from accel.perf.timing import ComputeTiming

MAX_CHAIN = 12  # longest chain the automatic choice tries
_PIPELINED_TILES = 8
_ELEMENTWISE = (Add, Mul, Activation, Clip, BatchNorm)


@dataclass(frozen=True)
class _Link:
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
        low = first * self.stride - self.pad_top
        high = (end - 1) * self.stride - self.pad_top + self.reach
        return max(0, low), min(self.in_height, high)


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


@dataclass(frozen=True)
class FusedGroup:
    """A chain of layers run depth-first, and its tile schedule for the whole batch."""

    number: int
    layers: tuple[int, ...]  # network positions, in order
    cost: GroupCost
    weight_bytes: tuple[int, ...]
    output_bytes: int  # the last layer's output, written once
    schedule: Schedule


def fused_groups(
    network: Network,
    mappings: Sequence[Mapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
    chip: ChipConfig,
) -> tuple[FusedGroup, ...]:
    """The chip's fused groups for this network: none, the automatic choice or the user's."""
    settings = chip.memory
    if settings.fusion == "off":
        return ()
    chains = (
        _auto_chains(network, mappings, timings, memories, chip)
        if settings.fusion == "auto"
        else _manual_chains(network, mappings, timings, memories, chip)
    )
    batch = mappings[0].batch if mappings else 1
    return tuple(
        _group(number, links, cost, memories, batch)
        for number, (links, cost) in enumerate(chains)
    )


def _group(
    number: int,
    links: tuple[_Link, ...],
    cost: GroupCost,
    memories: Sequence[MemoryTraffic],
    batch: int,
) -> FusedGroup:
    weights = tuple(link.weight_bytes for link in links)
    schedule = _schedule(cost, sum(weights), batch)
    return FusedGroup(
        number, tuple(link.index for link in links), cost, weights,
        memories[links[-1].index].compulsory_ofmap_bytes, schedule,
    )  # fmt: skip


_Option = tuple[tuple[int, int, int], int, tuple[tuple[_Link, ...], GroupCost] | None]


def _auto_chains(
    network: Network,
    mappings: Sequence[Mapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
    chip: ChipConfig,
) -> list[tuple[tuple[_Link, ...], GroupCost]]:
    """The partition of the layer sequence with the fewest DRAM bytes, then compute cycles."""
    count = len(network.layers)
    consumers = _consumers(network)
    # best[k]: (bytes, cycles, groups) of the first k layers, and the segment ending there.
    best: list[_Option] = [((0, 0, 0), 0, None)]
    for end in range(1, count + 1):
        key = best[end - 1][0]
        alone = (key[0] + memories[end - 1].dram_bytes,
                 key[1] + timings[end - 1].compute_cycles, key[2])  # fmt: skip
        options: list[_Option] = [(alone, end - 1, None)]
        for start in range(end - 2, max(-1, end - 1 - MAX_CHAIN), -1):
            links = fusable_chain(network, consumers, start, end - 1, mappings, timings, memories)
            if isinstance(links, str):
                break
            cost = best_cost(links, network.layers[start].inputs[0], chip, mappings[0].batch)
            if cost is None:
                break  # a longer chain holds more weights and bands: it will not fit either
            before = best[start][0]
            total = (before[0] + cost.dram_bytes, before[1] + sum(cost.compute_cycles),
                     before[2] + 1)  # fmt: skip
            options.append((total, start, (links, cost)))
        best.append(min(options, key=lambda option: option[0]))
    chains = []
    end = count
    while end > 0:
        _, start, segment = best[end]
        if segment is not None:
            chains.append(segment)
        end = start
    return chains[::-1]


def _manual_chains(
    network: Network,
    mappings: Sequence[Mapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
    chip: ChipConfig,
) -> list[tuple[tuple[_Link, ...], GroupCost]]:
    """The user's `memory.fused_groups`, each checked: known layers, a fusable chain, a fit."""
    position = {layer.name: i for i, layer in enumerate(network.layers)}
    consumers = _consumers(network)
    taken: set[int] = set()
    chains = []
    for first, last in chip.memory.fused_groups:
        where = f"memory.fused_groups [{first}, {last}]"
        for name in (first, last):
            if name not in position:
                raise InputError(f"{where}: layer {name!r} is not in {network.name}")
        start, stop = position[first], position[last]
        if stop <= start:
            raise InputError(f"{where}: the last layer must come after the first")
        if taken & set(range(start, stop + 1)):
            raise InputError(f"{where}: overlaps another fused group")
        taken |= set(range(start, stop + 1))
        links = fusable_chain(network, consumers, start, stop, mappings, timings, memories)
        if isinstance(links, str):
            raise InputError(f"{where}: {links}")
        cost = best_cost(links, network.layers[start].inputs[0], chip, mappings[0].batch)
        if cost is None:
            raise InputError(
                f"{where}: does not fit the SRAM even in one-row tiles (weights "
                f"{sum(link.weight_bytes for link in links):,} B must fit the weight buffer "
                f"and the bands the activation buffers)"
            )
        chains.append((links, cost))
    return sorted(chains, key=lambda chain: chain[0][0].index)


def _consumers(network: Network) -> dict[str, list[str]]:
    readers: dict[str, list[str]] = {}
    for layer in network.layers:
        for source in layer.inputs:
            readers.setdefault(source, []).append(layer.name)
    return readers


def fusable_chain(
    network: Network,
    consumers: dict[str, list[str]],
    start: int,
    stop: int,
    mappings: Sequence[Mapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
) -> tuple[_Link, ...] | str:
    """Layers start..stop as a fusable chain, or why they are not one."""
    layers = network.layers
    outputs = set(network.outputs)
    group_input = layers[start].inputs[0]
    links = []
    for index in range(start, stop + 1):
        layer = layers[index]
        chain_input = layers[index - 1].name if index > start else group_input
        if chain_input not in layer.inputs:
            return f"layer {layer.name!r} does not read {chain_input!r}"
        if index < stop and (consumers.get(layer.name) != [layers[index + 1].name]
                             or layer.name in outputs):  # fmt: skip
            return f"layer {layer.name!r} has readers outside the group"
        if mappings[index].unit == "none":
            return f"layer {layer.name!r} ({layer.kind}) does no work to fuse"
        link = _link(layer, index, chain_input, group_input, mappings[index], timings[index],
                     memories[index])  # fmt: skip
        if link is None:
            return f"layer {layer.name!r} ({layer.label}) does not work row by row"
        links.append(link)
    return tuple(links)


def _link(
    layer: Layer,
    index: int,
    chain_input: str,
    group_input: str,
    mapping: Mapping,
    timing: ComputeTiming,
    memory: MemoryTraffic,
) -> _Link | None:
    width = mapping.element_bytes
    slot = layer.inputs.index(chain_input)
    shape, out = layer.input_shapes[slot], layer.output_shape
    op = layer.op
    if isinstance(op, Conv | MaxPool | AvgPool):
        assert isinstance(op, WindowOp)
        stride, reach = op.stride[0], op.dilation[0] * (op.kernel[0] - 1) + 1
        pad_top = op.pads(shape.height, shape.width)[0]
    elif isinstance(op, _ELEMENTWISE) and shape.height == out.height:
        stride, reach, pad_top = 1, 1, 0
    else:
        return None
    skips = tuple(
        (name, other.channels * other.width * width, 0) if other.height == out.height
        else (name, 0, other.elements * width)
        for name, other in zip(layer.inputs, layer.input_shapes, strict=True)
        if name not in (chain_input, group_input)
    )  # fmt: skip
    return _Link(
        index, stride, reach, pad_top, shape.height, out.height,
        shape.channels * shape.width * width, out.channels * out.width * width,
        skips, memory.compulsory_weight_bytes, timing.compute_cycles,
        mapping.macs,
    )  # fmt: skip


def best_cost(
    links: tuple[_Link, ...], group_input: str, chip: ChipConfig, batch: int
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
                                       abs(c.tiles - _PIPELINED_TILES)))  # fmt: skip


def cost_at(
    links: tuple[_Link, ...], group_input: str, tile_rows: int, halo: str, batch: int
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


def _schedule(cost: GroupCost, weight_bytes: int, batch: int) -> Schedule:
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


def group_cycles(group: FusedGroup, chip: ChipConfig) -> int:
    """The group alone, from empty buffers and an idle channel."""
    return replay_layer(group.schedule, chip)

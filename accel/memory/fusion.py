"""Layer fusion: a chain of layers run depth-first, one band of the last layer's rows at a time.

Layer by layer, every intermediate feature map is written to DRAM and read back. Fused, a chain
`L1 → L2 → … → Ln` runs as DeFiNES does it (Mei et al., "DeFiNES: Enabling Fast Exploration of
the Depth-first Scheduling Space for DNN Accelerators through Analytical Modeling", HPCA 2023):
a tile of Ln's output (here a band of `tile_rows` rows, full width, every channel, one image at
a time) is traced back through the chain to the rows each layer must produce for it (its
receptive field), and the tile is computed through all n layers before the next tile starts.
Only the group's input, its weights (loaded once, kept in the weight buffer for the whole run)
and its output cross the DRAM channel; intermediate bands live in the activation buffers.

Consecutive bands need overlapping rows (the halo); the chip's `memory.fusion_halo` says whether
they are computed again (`recompute`) or kept in SRAM (`cache`). How a chain's bands are traced,
costed, sized and scheduled is `bands.py`.

A chain is fusable when each layer after the first reads the previous layer's output, every
intermediate output is read only by the next layer (and is no network output), and every layer
works on rows: a convolution or pooling window, or an elementwise op (add, mul, activation,
clip, batchnorm). A layer's other inputs (a residual add's skip tensor) are read band by band
from DRAM, or not at all when they are the group's own input, which the band already holds.

Automatic groups (`fusion: auto`) are a shortest path over the layer sequence: every segment is
either one layer run as before (its own DRAM bytes) or a fusable chain of up to
`MAX_CHAIN` layers that fits (its fused DRAM bytes); the partition with the fewest DRAM bytes,
then the fewest compute cycles, wins, so it never moves more DRAM bytes than layer by layer.
Chains ending at a layer are grown one layer back at a time and the growth stops at the first
that is not fusable or does not fit (a longer chain holds more weights and bands).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.mapper import Mapping
from accel.memory.bands import GroupCost, Link, band_schedule, best_cost, row_window
from accel.memory.model import MemoryTraffic
from accel.memory.tile_schedule import Schedule
from accel.model.network import Layer, Network
from accel.perf.timing import ComputeTiming

MAX_CHAIN = 12  # longest chain the automatic choice tries


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
    links: tuple[Link, ...],
    cost: GroupCost,
    memories: Sequence[MemoryTraffic],
    batch: int,
) -> FusedGroup:
    weights = tuple(link.weight_bytes for link in links)
    schedule = band_schedule(cost, sum(weights), batch)
    return FusedGroup(
        number, tuple(link.index for link in links), cost, weights,
        memories[links[-1].index].compulsory_ofmap_bytes, schedule,
    )  # fmt: skip


_Option = tuple[tuple[int, int, int], int, tuple[tuple[Link, ...], GroupCost] | None]


def _auto_chains(
    network: Network,
    mappings: Sequence[Mapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
    chip: ChipConfig,
) -> list[tuple[tuple[Link, ...], GroupCost]]:
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
) -> list[tuple[tuple[Link, ...], GroupCost]]:
    """The user's fused groups, each checked: known layers, a fusable chain, a fit. The chip's
    `memory.fused_groups` win; without them, the workload's `fused_groups`."""
    position = {layer.name: i for i, layer in enumerate(network.layers)}
    consumers = _consumers(network)
    taken: set[int] = set()
    chains = []
    groups, field = chip.memory.fused_groups, "memory.fused_groups"
    if not groups:
        groups, field = network.fused_groups, f"{network.name}: fused_groups"
    if not groups:
        raise InputError("memory.fused_groups must list at least one [first, last] layer pair "
                         "with fusion: manual (or the workload its fused_groups)")  # fmt: skip
    for first, last in groups:
        where = f"{field} [{first}, {last}]"
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
) -> tuple[Link, ...] | str:
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
) -> Link | None:
    width = mapping.element_bytes
    slot = layer.inputs.index(chain_input)
    shape, out = layer.input_shapes[slot], layer.output_shape
    window = row_window(layer, slot)
    if window is None:
        return None
    stride, reach, pad_top = window
    skips = tuple(
        (name, other.channels * other.width * width, 0) if other.height == out.height
        else (name, 0, other.elements * width)
        for name, other in zip(layer.inputs, layer.input_shapes, strict=True)
        if name not in (chain_input, group_input)
    )  # fmt: skip
    return Link(
        index, stride, reach, pad_top, shape.height, out.height,
        shape.channels * shape.width * width, out.channels * out.width * width,
        skips, memory.compulsory_weight_bytes, timing.compute_cycles,
        mapping.macs,
    )  # fmt: skip

"""What the activations between layers cost when nothing keeps them on chip: every tensor
written to DRAM by its producer and read back by each consumer (the per-layer memory model's
own traffic), and the network's compulsory DRAM traffic — the network inputs, every weight and
the network outputs, each once, which no schedule can go below.

`plain_plan` is that plan, the one a chip with fusion and activation residency both off (the
default) runs; `activations.plan_activations` applies the two features on top of the same
tensor reads, and only a run that turns one on loads it (and `fusion`, `residency`, `bands`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from accel.mapping.mapper import Mapping
from accel.memory.footprint import alias_roots
from accel.memory.model import MemoryTraffic
from accel.memory.tile_schedule import Schedule, share
from accel.model.network import Network
from accel.perf.timing import ComputeTiming

if TYPE_CHECKING:
    from accel.config import ChipConfig
    from accel.memory.fusion import FusedGroup
    from accel.memory.residency import Residency


@dataclass(frozen=True)
class LayerActivations:
    """What residency and fusion did to one layer (its layers.csv columns)."""

    resident_inputs: tuple[str, ...] = ()  # inputs read from SRAM, not DRAM
    spilled: bool = False  # its output has readers but went through DRAM
    fused_group: int | None = None
    recompute_macs: int = 0  # halo rows computed again in its fused group


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class ActivationPlan(NamedTuple):
    """Per-layer timings, traffic and schedules after fusion and residency."""

    timings: tuple[ComputeTiming, ...]
    memories: tuple[MemoryTraffic, ...]
    schedules: tuple[Schedule | None, ...]  # what the network replay plays (a group: at its head)
    layers: tuple[LayerActivations, ...] | None  # None: both features off
    groups: tuple[FusedGroup, ...]
    residency: Residency | None
    compulsory_network_bytes: int

    def shares(self, replayed: Sequence[int]) -> list[int]:
        """Each layer's share of the timeline: a group's share split over its layers in
        proportion to their compute cycles."""
        shares = list(replayed)
        for group in self.groups:
            total = shares[group.layers[0]]
            weights = [self.timings[i].compute_cycles for i in group.layers]
            for i, part in zip(group.layers, split(total, weights), strict=True):
                shares[i] = part
        return shares

    def summary(self, chip: ChipConfig, network: Network) -> dict[str, Any]:
        """The summary.json `activations` block (the features' settings and what they did)."""
        settings = chip.memory
        block: dict[str, Any] = {
            "activation_residency": settings.activation_residency,
            "fusion": settings.fusion,
        }
        if self.residency is not None:
            block["resident_tensors"] = len(self.residency.resident)
            block["spilled_tensors"] = len(self.residency.spilled)
        if settings.fusion != "off":
            block["fusion_halo"] = settings.fusion_halo
            block["recompute_macs"] = sum(sum(g.cost.recompute_macs) for g in self.groups)
            block["fused_groups"] = [_group_summary(group, self.memories, network)
                                     for group in self.groups]  # fmt: skip
        return block


Read = tuple[str, int, int]  # (allocation, DRAM bytes read, compulsory bytes) of one input


def tensor_reads(
    network: Network, mappings: Sequence[Mapping], memories: Sequence[MemoryTraffic]
) -> tuple[dict[str, str], dict[int, list[Read]]]:
    """Which allocation each tensor lives in (`alias_roots`), and each layer's reads of them
    by layer index."""
    roots = _allocations(network, mappings)
    reads = {i: _layer_reads(layer.inputs, roots, mappings[i], memories[i])
             for i, layer in enumerate(network.layers)}  # fmt: skip
    return roots, reads


def compulsory_network_bytes(
    network: Network,
    roots: dict[str, str],
    reads: dict[int, list[Read]],
    mappings: Sequence[Mapping],
    memories: Sequence[MemoryTraffic],
) -> int:
    """Network inputs (as much of each as its hungriest reader needs), every weight and the
    network outputs, each once."""
    inputs = frozenset(roots[name] for name, _ in network.inputs)
    outputs = frozenset(roots[name] for name in network.outputs)
    written = sum(
        memory.compulsory_ofmap_bytes
        for layer, mapping, memory in zip(network.layers, mappings, memories, strict=True)
        if mapping.unit != "none" and roots[layer.name] in outputs
    )
    weights = sum(memory.compulsory_weight_bytes for memory in memories)
    return sum(_input_loads(reads, inputs).values()) + weights + written


def plain_plan(
    network: Network,
    mappings: Sequence[Mapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
) -> ActivationPlan:
    """The plan with fusion and residency off: each layer's own traffic and schedule."""
    roots, reads = tensor_reads(network, mappings, memories)
    bound = compulsory_network_bytes(network, roots, reads, mappings, memories)
    schedules = tuple(memory.schedule for memory in memories)
    return ActivationPlan(tuple(timings), tuple(memories), schedules, None, (), None, bound)


def split(total: int, weights: list[int]) -> list[int]:
    """`total` in integer parts proportional to `weights` (equal parts when all are 0)."""
    whole = sum(weights)
    if not whole:
        return [share(total, len(weights), i) for i in range(len(weights))]
    parts = [total * w // whole for w in weights]
    parts[-1] += total - sum(parts)
    return parts


def _allocations(network: Network, mappings: Sequence[Mapping]) -> dict[str, str]:
    """Each tensor's allocation: a layer that does no work (concat, flatten) shares one with
    its inputs, named after the last such layer."""
    idle = {layer.name for layer, mapping in zip(network.layers, mappings, strict=True)
            if mapping.unit == "none"}  # fmt: skip
    return alias_roots(network, lambda layer: layer.name in idle)


def _layer_reads(
    inputs: tuple[str, ...], roots: dict[str, str], mapping: Mapping, memory: MemoryTraffic
) -> list[Read]:
    """(allocation, DRAM bytes read, compulsory bytes) per input of a layer: the layer's ifmap
    bytes split over its inputs by their sizes (a vector layer streams each once)."""
    if mapping.unit == "none" or not inputs:
        return []
    sizes = [shape.elements for shape in mapping.layer.input_shapes]
    total = sum(sizes)
    return [
        (roots[name], _part(memory.dram_ifmap_bytes, size, total),
         _part(memory.compulsory_ifmap_bytes, size, total))
        for name, size in zip(inputs, sizes, strict=True)
    ]  # fmt: skip


def _part(total: int, size: int, whole: int) -> int:
    return total if size == whole else total * size // whole


def _input_loads(reads: dict[int, list[Read]], inputs: frozenset[str]) -> dict[str, int]:
    """Bytes of each network input its hungriest reader needs (its compulsory read)."""
    needed = {tensor: 0 for tensor in inputs}
    for layer_reads in reads.values():
        for tensor, _, compulsory in layer_reads:
            if tensor in inputs:
                needed[tensor] = max(needed[tensor], compulsory)
    return needed


def _group_summary(
    group: FusedGroup, memories: Sequence[MemoryTraffic], network: Network
) -> dict[str, Any]:
    return {
        "group": group.number,
        "first": network.layers[group.layers[0]].name,
        "last": network.layers[group.layers[-1]].name,
        "layers": len(group.layers),
        "tile_rows": group.cost.tile_rows,
        "tiles_per_image": group.cost.tiles,
        "sram_bytes": group.cost.need_bytes,
        "recompute_macs": sum(group.cost.recompute_macs),
        "dram_bytes": sum(memories[i].dram_bytes for i in group.layers),
    }

"""Memory footprint of inference: weights plus the activations alive at each layer.

Layers run in the network's topological order. An activation tensor is alive from the layer that
produces it (graph inputs: from the start) until the last layer that reads it; a network output
stays alive to the end. `flatten` and `concat` allocate nothing: a flatten is its input viewed
flat, and concat branches write straight into the concatenated tensor, so each alias group is
one allocation, as large as its largest member, alive over the union of its members' lives.

A layer's footprint is its own weights (streamed layer by layer) plus every activation alive
while it runs; the peak over layers is what a chip must hold to keep activations on chip. With
all weights resident too, the network fits when total weights + peak activations fit the SRAM,
and `max_batch_on_chip` says how many images' activations fit beside the weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from accel.model.network import Layer, Network

_ALIASING = ("flatten", "concat")


@dataclass(frozen=True)
class LayerFootprint:
    """Bytes on chip while one layer runs, if activations stay on chip and weights stream."""

    weight_bytes: int
    live_activation_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.live_activation_bytes


@dataclass(frozen=True)
class NetworkFootprint:
    """Per-layer footprints and the network's peaks, for one batch size."""

    layers: tuple[LayerFootprint, ...]
    batch: int
    total_weight_bytes: int

    @property
    def peak_bytes(self) -> int:
        """Largest per-layer footprint (that layer's weights + live activations)."""
        return max((layer.total_bytes for layer in self.layers), default=0)

    @property
    def peak_activation_bytes(self) -> int:
        return max((layer.live_activation_bytes for layer in self.layers), default=0)

    def fits(self, sram_bytes: int) -> bool:
        """All weights resident and the activation peak beside them."""
        return self.total_weight_bytes + self.peak_activation_bytes <= sram_bytes

    def max_batch(self, sram_bytes: int) -> int:
        """Most images whose live activations fit beside all the weights (0: none)."""
        per_image = self.peak_activation_bytes // self.batch
        room = sram_bytes - self.total_weight_bytes
        return room // per_image if per_image and room > 0 else 0


def network_footprint(
    network: Network, batch: int = 1, element_bytes: int = 1
) -> NetworkFootprint:
    """Weights and live activations at every layer of `network` for `batch` images, with
    weights and activations of `element_bytes` each (the chip's `array.element_bytes`)."""
    order = {layer.name: step for step, layer in enumerate(network.layers)}
    root = alias_roots(network)
    size: dict[str, int] = {}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    final = len(network.layers) - 1
    tensors = [(name, shape.elements, 0) for name, shape in network.inputs]
    tensors += [(layer.name, layer.ofmap_elements, order[layer.name]) for layer in network.layers]
    for name, elements, produced in tensors:
        group = root[name]
        size[group] = max(size.get(group, 0), elements * batch * element_bytes)
        first[group] = min(first.get(group, produced), produced)
        last[group] = max(last.get(group, produced), produced)
    for layer in network.layers:
        for source in layer.inputs:
            last[root[source]] = max(last[root[source]], order[layer.name])
    for name in network.outputs:
        last[root[name]] = final
    footprints = tuple(
        LayerFootprint(
            layer.weight_bytes_at(element_bytes),
            sum(size[g] for g in size if first[g] <= step <= last[g]),
        )
        for step, layer in enumerate(network.layers)
    )
    weights = sum(layer.weight_bytes_at(element_bytes) for layer in network.layers)
    return NetworkFootprint(footprints, batch, weights)


def alias_roots(
    network: Network, aliases: Callable[[Layer], bool] | None = None
) -> dict[str, str]:
    """Each tensor's allocation: itself, or that of the last layer that only aliases its inputs
    (`aliases`; default: flatten and concat), named after that layer."""
    aliasing = aliases or (lambda layer: layer.kind in _ALIASING)
    parent = {name: name for name, _ in network.inputs}
    parent.update({layer.name: layer.name for layer in network.layers})

    def find(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for layer in network.layers:
        if aliasing(layer):
            for source in layer.inputs:
                parent[find(source)] = find(layer.name)
    return {name: find(name) for name in parent}

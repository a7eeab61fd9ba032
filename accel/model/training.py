"""A training step as work items of the layer IR: forward, loss, backward and optimizer update.

Training adds passes, not a second simulator: `accel.model.training_items` builds every item
(the forward layers, each conv / fc's dX and dW GEMMs, the vector-unit items with their
operation counts, the optimizer update); this module orders them into a step, optionally
recomputes activations instead of keeping them, and follows the step's memory.

Each item names the activation and gradient tensors it reads and writes, so the step's memory
follows: weights, their gradients and the optimizer state live throughout; an activation lives
from the item that writes it to the last that reads it — the ones the backward pass reads are
the stored activations; the peak live working set is the most bytes alive at any item.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from accel.errors import InputError
from accel.model.network import Network
from accel.model.training_items import (
    OPTIMIZER_STATE,
    PASSES,
    STATE_BYTES,
    Builder,
    Optimizer,
    Pass,
    Work,
    has_parameters,
)

__all__ = ["PASSES", "Activations", "Optimizer", "Pass", "TrainingMemory", "TrainingStep",
           "Work", "training_step"]  # fmt: skip

Activations = Literal["keep", "recompute"]

@dataclass(frozen=True)
class TrainingMemory:
    """Bytes a training step needs in DRAM (per batch, and the activations per image)."""

    weights: int
    gradients: int
    optimizer_state: int
    activations_per_image: int  # stored for the backward pass
    peak_live_per_image: int  # activations and gradients alive together at the worst item
    batch: int

    @property
    def persistent(self) -> int:
        return self.weights + self.gradients + self.optimizer_state

    @property
    def activations(self) -> int:
        return self.activations_per_image * self.batch

    @property
    def peak_bytes(self) -> int:
        return self.persistent + self.peak_live_per_image * self.batch

    def max_batch(self, capacity_bytes: int) -> int:
        """Most images whose live working set fits beside the persistent state (0: none)."""
        room = capacity_bytes - self.persistent
        return room // self.peak_live_per_image if room > 0 and self.peak_live_per_image else 0


@dataclass(frozen=True)
class TrainingStep:
    """The work items of one step, in execution order, and the sizes of their tensors."""

    network: Network
    items: tuple[Work, ...]
    tensor_elements: dict[str, int]  # per image
    aliases: dict[str, str]  # tensor → the allocation it lives in
    optimizer: Optimizer
    batch: int
    turn: int  # index of the loss's forward item: the forward / backward boundary

    def memory(self, element_bytes: int) -> TrainingMemory:
        """Weights, gradients and state at `element_bytes` operands; activations likewise."""
        layers = self.network.layers
        weights = sum(layer.weight_bytes_at(element_bytes) for layer in layers)
        params = sum(layer.params for layer in layers if has_parameters(layer))
        copies = OPTIMIZER_STATE[self.optimizer] + int(element_bytes < STATE_BYTES)
        lives = self._lives()
        size = {root: elements * element_bytes for root, elements in self._root_sizes().items()}
        stored = sum(size[r] for r, (first, last) in lives.items() if first <= self.turn < last)
        change = [0] * (len(self.items) + 1)
        for root, (first, last) in lives.items():
            change[first] += size[root]
            change[last + 1] -= size[root]
        live, peak = 0, 0
        for delta in change:
            live += delta
            peak = max(peak, live)
        return TrainingMemory(weights, weights, params * copies * STATE_BYTES, stored, peak,
                              self.batch)  # fmt: skip

    def _root_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for name, elements in self.tensor_elements.items():
            root = self.aliases.get(name, name)
            sizes[root] = max(sizes.get(root, 0), elements)
        return sizes

    def _lives(self) -> dict[str, tuple[int, int]]:
        """Each allocation's first and last item (graph inputs: from the first)."""
        lives: dict[str, tuple[int, int]] = {
            self.aliases.get(name, name): (0, 0) for name, _ in self.network.inputs
        }
        for step, work in enumerate(self.items):
            for name in (*work.writes, *work.reads):
                root = self.aliases.get(name, name)
                first, _ = lives.get(root, (step, step))
                lives[root] = (min(first, step), step)
        return lives


def training_step(
    network: Network, batch: int, optimizer: Optimizer, element_bytes: int = 4,
    activations: Activations = "keep",
) -> TrainingStep:
    """The items of one training step of `network` on `batch` images, with operands of
    `element_bytes` (the update streams fp32 state beside them); `activations` says whether
    the forward tensors the backward reads are kept or recomputed (`recompute`)."""
    if optimizer not in OPTIMIZER_STATE:
        raise InputError(f"optimizer must be sgd or adam, not {optimizer!r}")
    if len(network.outputs) != 1:
        raise InputError(f"training needs a network with one output for its loss, not "
                         f"{len(network.outputs)} ({', '.join(network.outputs)})")  # fmt: skip
    builder = Builder(network, batch, element_bytes)
    for layer in network.layers:
        builder.forward(layer)
    turn = len(builder.items)
    builder.loss()
    for layer in reversed(network.layers):
        builder.backward(layer)
    for layer in network.layers:
        builder.update(layer, optimizer)
    allocations = _allocations(builder.sizes, builder.same)
    items = builder.items
    if activations == "recompute":
        items = _recomputed(items, turn, network, builder.sizes, allocations)
    return TrainingStep(network, tuple(items), builder.sizes, allocations, optimizer, batch,
                        turn)  # fmt: skip


def _recomputed(items: list[Work], turn: int, network: Network, sizes: dict[str, int],
                allocations: dict[str, str]) -> list[Work]:  # fmt: skip
    """`items` keeping only the inputs of conv / fc layers (what dW reads) and the graph
    inputs: each other forward tensor a backward item reads is recomputed just before it, by
    the forward item that wrote it (`NAME.recompute`, its own inputs recomputed likewise when
    not kept), and lives from there to its last reader."""
    kept = {name for name, _ in network.inputs}
    kept |= {s for layer in network.layers if layer.uses_array for s in layer.inputs}
    kept_roots = {allocations.get(name, name) for name in kept}
    writer = {name: work for work in items[:turn] for name in work.writes}
    again: dict[str, str] = {}  # forward tensor → its recomputed copy
    result = list(items[: turn + 1])  # the forward pass and the loss read the originals

    def available(name: str) -> str:
        if name not in writer or allocations.get(name, name) in kept_roots:
            return name
        if name not in again:
            work = writer[name]
            reads = tuple(available(source) for source in work.reads)
            writes = tuple(f"{written}.recomputed" for written in work.writes)
            for written, copy in zip(work.writes, writes, strict=True):
                again[written] = copy
                sizes[copy] = sizes[written]
            rerun = f"{work.name}.recompute"
            result.append(replace(work, name=rerun, layer=work.layer.renamed(rerun),
                                  reads=reads, writes=writes))  # fmt: skip
        return again[name]

    for work in items[turn + 1 :]:
        reads = tuple(available(name) for name in work.reads)
        result.append(replace(work, reads=reads))
    return result


def _allocations(sizes: dict[str, int], same: list[tuple[str, str]]) -> dict[str, str]:
    """Each tensor's allocation: tensors that share memory (a concat and its branches, a
    flatten and its input, and their gradients) are one, as large as its largest member."""
    parent = {name: name for name in sizes}

    def find(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for member, whole in same:
        parent[find(member)] = find(whole)
    return {name: find(name) for name in parent}

"""A network: a DAG of layers, each an operator placed on named inputs, with every shape inferred.

`Network.build` takes layer entries in any order, checks that every input exists, orders them
topologically (a cycle is an error naming its layers), and infers each layer's output shape from
its inputs. A shape that does not fit is an error naming the layer and the layers feeding it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import NamedTuple

from accel.errors import InputError, closest
from accel.model.frozen import Frozen
from accel.model.layer import BIAS_BYTES, GemmView, Layer
from accel.model.ops import Op, Shape, ShapeError

# A layer has its own module (accel.model.layer); its importers find it here, beside Network.
__all__ = ["BIAS_BYTES", "INPUT", "GemmView", "Layer", "LayerEntry", "Network"]

INPUT = "input"


# A NamedTuple, as GemmView is.
class LayerEntry(NamedTuple):
    """A layer as written: a name, an operator, the names of its inputs (empty = previous)."""

    name: str
    op: Op
    inputs: tuple[str, ...] = ()


class Network(Frozen):
    """A whole model: its graph inputs and its layers in topological order.

    Most networks have one input named `input`; a SCALE-Sim topology gives each layer its own.
    `fused_groups` are the chains its author asks to fuse, as (first, last) layer names in
    order, not overlapping (a workload file's `fused_groups`; used with `memory.fusion: manual`).
    Hand-written (`Frozen`, with an instance dict for `_by_name`), as the frozen dataclass was.
    """

    _compared = ("name", "inputs", "layers", "fused_groups")
    name: str
    inputs: tuple[tuple[str, Shape], ...]
    layers: tuple[Layer, ...]
    fused_groups: tuple[tuple[str, str], ...]

    def __init__(self, name: str, inputs: tuple[tuple[str, Shape], ...], layers: tuple[Layer, ...],
                 fused_groups: tuple[tuple[str, str], ...] = ()) -> None:  # fmt: skip
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "fused_groups", fused_groups)

    @classmethod
    def build(
        cls, name: str, inputs: Shape | dict[str, Shape], entries: Sequence[LayerEntry]
    ) -> Network:
        graph_inputs = {INPUT: inputs} if isinstance(inputs, Shape) else dict(inputs)
        for input_name, shape in graph_inputs.items():
            _check_size(f"input {input_name!r}", shape)
        named = _with_default_inputs(entries, graph_inputs)
        shapes = dict(graph_inputs)
        layers = []
        for entry in _topological_order(named, set(graph_inputs)):
            layer = _place(entry, shapes)
            shapes[entry.name] = layer.output_shape
            layers.append(layer)
        return cls(name, tuple(graph_inputs.items()), tuple(layers))

    @property
    def input_shape(self) -> Shape:
        """The shape of the first graph input."""
        return self.inputs[0][1]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @cached_property
    def _by_name(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}

    def layer(self, name: str) -> Layer:
        if name not in self._by_name:
            raise InputError(f"layer {name!r} is not in {self.name}{closest(name, self._by_name)}")
        return self._by_name[name]

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Layers whose result nothing else reads: the network's outputs."""
        consumed = {name for layer in self.layers for name in layer.inputs}
        return tuple(layer.name for layer in self.layers if layer.name not in consumed)


def _with_default_inputs(
    entries: Sequence[LayerEntry], graph_inputs: dict[str, Shape]
) -> list[LayerEntry]:
    seen: set[str] = set()
    result = []
    previous = next(iter(graph_inputs))
    for entry in entries:
        if entry.name in seen or entry.name in graph_inputs:
            raise InputError(f"layer name {entry.name!r} must be unique and not a graph input name")
        seen.add(entry.name)
        inputs = entry.inputs or (previous,)
        result.append(LayerEntry(entry.name, entry.op, inputs))
        previous = entry.name
    known = seen | set(graph_inputs)
    for entry in result:
        for source in entry.inputs:
            if source not in known:
                raise InputError(
                    f"layer {entry.name!r} reads {source!r}, which is not a layer"
                    f"{closest(source, known)}"
                )
    return result


def _topological_order(entries: list[LayerEntry], graph_inputs: set[str]) -> list[LayerEntry]:
    """Kahn's algorithm in rounds, stable in the written order: round r takes every layer whose
    inputs all came before it (its longest path from a graph input has r steps). Each layer's
    round is worked out once from its inputs' (linear; rescanning the pending layers every
    round was quadratic in a chain's length). A cycle is an error naming its layers."""
    rounds = dict.fromkeys(graph_inputs, 0)
    readers: dict[str, list[int]] = {}
    waiting = [0] * len(entries)  # inputs not yet given a round, per entry
    ready: list[int] = []
    for index, entry in enumerate(entries):
        for source in entry.inputs:
            if source not in rounds:
                readers.setdefault(source, []).append(index)
                waiting[index] += 1
        if not waiting[index]:
            ready.append(index)
    placed = [0] * len(entries)
    while ready:
        index = ready.pop()
        entry = entries[index]
        placed[index] = rounds[entry.name] = 1 + max(rounds[source] for source in entry.inputs)
        for reader in readers.get(entry.name, ()):
            waiting[reader] -= 1
            if not waiting[reader]:
                ready.append(reader)
    pending = [entry for index, entry in enumerate(entries) if not placed[index]]
    if pending:
        names = ", ".join(repr(e.name) for e in pending[:6])
        raise InputError(f"the layers must form a DAG, but {names} depend on each other")
    order = sorted(range(len(entries)), key=lambda index: (placed[index], index))
    return [entries[index] for index in order]


def _place(entry: LayerEntry, shapes: dict[str, Shape]) -> Layer:
    low, high = entry.op.arity
    count = len(entry.inputs)
    if count < low or (high is not None and count > high):
        rule = f"exactly {low}" if low == high else f"at least {low}"
        raise InputError(
            f"layer {entry.name!r} ({entry.op.kind}) must have {rule} inputs, not {count}"
        )
    input_shapes = tuple(shapes[source] for source in entry.inputs)
    try:
        output = entry.op.output_shape(input_shapes)
    except ShapeError as err:
        sources = ", ".join(f"{s!r} ({shapes[s]})" for s in entry.inputs)
        raise InputError(
            f"layer {entry.name!r} cannot take its input from {sources}: {err}"
        ) from None
    if min(output.channels, output.height, output.width) <= 0:
        raise InputError(f"layer {entry.name!r} must produce a non-empty output, not {output}")
    _check_size(f"layer {entry.name!r}", output)
    layer = Layer(entry.name, entry.op, entry.inputs, input_shapes, output)
    if layer.params > MAX_TENSOR_ELEMENTS:
        raise InputError(f"layer {entry.name!r} must have at most {MAX_TENSOR_ELEMENTS:,} "
                         f"weights (2**30), not {layer.params:,}")  # fmt: skip
    return layer


# Per-image tensors above 2**30 elements (1 GiB in int8: a 4K frame at 128 channels fits) are
# refused before anything is allocated for them: the cost model's tile schedules and the int8
# engine grow with tensor size, and a typo such as 1e9 channels must not exhaust the machine.
MAX_TENSOR_ELEMENTS = 1 << 30


def _check_size(what: str, shape: Shape) -> None:
    if shape.elements > MAX_TENSOR_ELEMENTS:
        raise InputError(f"{what} must have at most {MAX_TENSOR_ELEMENTS:,} elements per image "
                         f"(2**30), not {shape.elements:,} ({shape})")  # fmt: skip

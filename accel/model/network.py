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
from accel.model.ops import Conv, ConvTranspose, FullyConnected, Op, Shape, ShapeError

INPUT = "input"
BIAS_BYTES = 4  # int32 (int8 chips) or fp32 (float chips) bias per output channel


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class GemmView(NamedTuple):
    """A conv/fc layer as matrix multiplications: per group, (M×K) · (K×N), per image."""

    m: int  # output pixels per image
    k: int  # reduction: kernel taps × input channels per group
    n: int  # output channels per group
    groups: int

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n * self.groups


# A NamedTuple, as GemmView is.
class LayerEntry(NamedTuple):
    """A layer as written: a name, an operator, the names of its inputs (empty = previous)."""

    name: str
    op: Op
    inputs: tuple[str, ...] = ()


class Layer(Frozen):
    """A layer placed in a network, with its input and output shapes resolved.

    Hand-written (`Frozen`), equal, hashed and shown as the frozen dataclass it was: a
    dataclass's methods are compiled at every start-up."""

    __slots__ = _compared = ("name", "op", "inputs", "input_shapes", "output_shape")
    name: str
    op: Op
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape

    def __init__(self, name: str, op: Op, inputs: tuple[str, ...],
                 input_shapes: tuple[Shape, ...], output_shape: Shape) -> None:  # fmt: skip
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "input_shapes", input_shapes)
        object.__setattr__(self, "output_shape", output_shape)

    def renamed(self, name: str) -> Layer:
        """This layer under another name (`dataclasses.replace(layer, name=name)`, as it was)."""
        return Layer(name, self.op, self.inputs, self.input_shapes, self.output_shape)

    @property
    def kind(self) -> str:
        return self.op.kind

    @property
    def is_depthwise(self) -> bool:
        """A grouped conv with one input channel per group: computed tap by tap (the one rule
        the mapper, the datapath and the exporters share)."""
        return (
            isinstance(self.op, Conv)
            and self.op.groups > 1
            and self.op.groups == self.input_shapes[0].channels
        )

    @property
    def label(self) -> str:
        """`kind`, with `depthwise` for depthwise convolutions (the layers.csv kind column)."""
        return "depthwise" if self.is_depthwise else self.kind

    @property
    def uses_array(self) -> bool:
        """True for layers that are matrix multiplications (conv, fc, transposed conv)."""
        return isinstance(self.op, Conv | FullyConnected | ConvTranspose)

    @property
    def macs(self) -> int:
        return self.op.macs(self.input_shapes, self.output_shape)

    @property
    def params(self) -> int:
        return self.op.params(self.input_shapes)

    @property
    def weight_elements(self) -> int:
        return self.op.weight_elements(self.input_shapes)

    @property
    def bias_elements(self) -> int:
        """int32 biases stored on chip (BatchNorm folds into them)."""
        if isinstance(self.op, Conv | FullyConnected) and (self.op.bias or self.op.batchnorm):
            return self.output_shape.channels
        if isinstance(self.op, ConvTranspose) and self.op.bias:
            return self.output_shape.channels
        return 0

    @property
    def ifmap_elements(self) -> int:
        return sum(shape.elements for shape in self.input_shapes)

    @property
    def ofmap_elements(self) -> int:
        return self.output_shape.elements

    @property
    def ifmap_bytes(self) -> int:
        return self.ifmap_elements

    @property
    def weight_bytes(self) -> int:
        """int8 weights plus int32 biases."""
        return self.weight_bytes_at(1)

    def weight_bytes_at(self, element_bytes: int) -> int:
        """Weights of `element_bytes` each plus biases at accumulator width (4 bytes)."""
        return self.weight_elements * element_bytes + BIAS_BYTES * self.bias_elements

    @property
    def ofmap_bytes(self) -> int:
        return self.ofmap_elements

    @property
    def vector_ops(self) -> int:
        return self.op.vector_ops(self.input_shapes, self.output_shape)

    @property
    def gemm(self) -> GemmView | None:
        """The im2col GEMM view, or None for layers that do not run on the array as they are
        (a transposed conv's GEMM is that of the dense conv its mapping lowers it to, see
        `accel.mapping.conv_transpose`)."""
        if isinstance(self.op, Conv):
            groups = self.op.groups
            out = self.output_shape
            return GemmView(
                out.height * out.width,
                self.op.reduction_size(self.input_shapes),
                out.channels // groups,
                groups,
            )
        if isinstance(self.op, FullyConnected):
            return GemmView(1, self.input_shapes[0].elements, self.op.out_features, 1)
        return None


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

"""A layer placed in a network: an operator with its input and output shapes resolved, and what
follows from them (MACs, parameters, tensor sizes, the im2col GEMM view of a conv or fc).
`accel.model.network` places layers; it re-exports `Layer` and `GemmView`.
"""

from __future__ import annotations

from typing import NamedTuple

from accel.model.frozen import Frozen
from accel.model.ops import Conv, ConvTranspose, FullyConnected, Op, Shape

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

"""The common ground of all operators: the per-image tensor shape and the operator base class.

An operator is a frozen record (`accel.user_input.record`) holding only hyper-parameters; every
derived quantity (output shape, MACs, parameters, vector-unit work) is a method of its input
shapes.
"""

from __future__ import annotations

from typing import ClassVar

from accel.model.frozen import Frozen
from accel.user_input.record import Record


class Shape(Frozen):
    """A per-image activation tensor: channels × height × width.

    Hand-written (`Frozen`), equal, hashed and shown as the frozen dataclass it was: a
    dataclass's methods are compiled at every start-up."""

    __slots__ = _compared = ("channels", "height", "width")
    channels: int
    height: int
    width: int

    def __init__(self, channels: int, height: int, width: int) -> None:
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "height", height)
        object.__setattr__(self, "width", width)

    @property
    def elements(self) -> int:
        return self.channels * self.height * self.width

    def __str__(self) -> str:
        return f"{self.channels}x{self.height}x{self.width}"


class ShapeError(ValueError):
    """An operator cannot be applied to the shapes it receives."""


def as_pair(value: int | tuple[int, int] | list[int], what: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    elif isinstance(value, list | tuple) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{what} must be an integer or [height, width], not {value!r}")
    if min(pair) <= 0:
        raise ValueError(f"{what} must be > 0, not {value!r}")
    return pair


class OpBase(Record):

    # Op groups, declared once on the op classes (every stage asks the op, none keeps a list):
    # `moves_values`: the output is the input's values rearranged, no arithmetic (reshapes,
    # transposes, channel shuffles and slices); `keeps_quantization`: an imported model's output
    # codes share the input's scale and zero point (the moves, max pooling and padding).
    moves_values: ClassVar[bool] = False
    keeps_quantization: ClassVar[bool] = False

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        raise NotImplementedError

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0

    def weight_elements(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def bias_elements(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def params(self, inputs: tuple[Shape, ...]) -> int:
        return self.weight_elements(inputs) + self.bias_elements(inputs)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """Elementwise operations the vector unit performs for this op (per image)."""
        return output.elements

    @property
    def arity(self) -> tuple[int, int | None]:
        """Minimum and maximum number of inputs (None = unbounded)."""
        return (1, 1)

"""Operators that imported model files contain beyond the zoo's conv/pool/elementwise set.

- `batchnorm`: a per-channel scale and shift on the vector unit — an inference BatchNorm that no
  conv precedes (DenseNet's pre-activation BN), or a Mul/Add by a per-channel constant.
- `lrn`: AlexNet/GoogLeNet local response normalisation across channels, on the vector unit.
- `clip`: clamp to [minimum, maximum] (a Clip that is neither ReLU nor ReLU6).
- `pad`: explicit padding copied into a larger buffer (a zero spatial pad in front of a conv is
  folded into the conv's padding by the importers instead, as the hardware would).
- `reshape`, `channel_shuffle` and `channel_slice` change only how a buffer is addressed and
  cost nothing: activations are stored channel-planar, so a reshape re-reads the same bytes with
  other dimensions, taking a range of channels is an offset, and permuting whole channel planes
  (ShuffleNet) is an address choice of the producer, as a concat is.
- `transpose` moves data between dimensions (e.g. HWC → CHW) and is a copy on the vector unit.
- `unsupported`: a placeholder for an operator accel cannot cost; zero cost, kept so the graph
  stays connected and the report lists it.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from accel.model.op_base import OpBase, Shape, ShapeError
from accel.user_input.record import Field, field_validator

PadMode = Literal["constant", "reflect", "edge"]


class BatchNorm(OpBase):
    """Per-channel affine `y = scale[c]·x + shift[c]` (BatchNorm in inference form)."""

    kind: Literal["batchnorm"] = "batchnorm"

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def weight_elements(self, inputs: tuple[Shape, ...]) -> int:
        return inputs[0].channels  # one scale per channel

    def bias_elements(self, inputs: tuple[Shape, ...]) -> int:
        return inputs[0].channels  # one shift per channel


class LocalResponseNorm(OpBase):
    """`y = x / (bias + alpha/size · Σ x²)^beta`, the sum over `size` neighbouring channels."""

    kind: Literal["lrn"] = "lrn"
    size: int = Field(gt=0, description="channels in the normalisation window")
    alpha: float = 1e-4
    beta: float = 0.75
    bias: float = 1.0

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        # `size` multiply-adds for the sum of squares, then scale-and-bias, power, multiply.
        return output.elements * (self.size + 3)


class Clip(OpBase):
    """Clamp every element to [minimum, maximum]."""

    kind: Literal["clip"] = "clip"
    minimum: float | None = None
    maximum: float | None = None

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]


class Pad(OpBase):
    """Grow a tensor by `padding` = (top, bottom, left, right) and `channel_padding` = (front,
    back), filled with `value` (constant) or by reflecting / repeating the edge."""

    keeps_quantization: ClassVar[bool] = True

    kind: Literal["pad"] = "pad"
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    channel_padding: tuple[int, int] = (0, 0)
    mode: PadMode = "constant"
    value: float = 0.0

    @field_validator("padding", "channel_padding")
    @classmethod
    def _non_negative(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if min(value) < 0:
            raise ValueError(f"padding must be >= 0 (cropping is not supported), not {value!r}")
        return value

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        top, bottom, left, right = self.padding
        front, back = self.channel_padding
        shape = inputs[0]
        return Shape(shape.channels + front + back, shape.height + top + bottom,
                     shape.width + left + right)


class Reshape(OpBase):
    """Re-read a buffer as (channels, height, width) with the same number of elements; free."""

    moves_values: ClassVar[bool] = True
    keeps_quantization: ClassVar[bool] = True

    kind: Literal["reshape"] = "reshape"
    shape: tuple[int, int, int]

    @field_validator("shape")
    @classmethod
    def _positive(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if min(value) <= 0:
            raise ValueError(f"shape must have positive sizes, not {value!r}")
        return value

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        target = Shape(*self.shape)
        if target.elements != inputs[0].elements:
            raise ShapeError(f"reshape must keep {inputs[0].elements} elements, not {target}")
        return target

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0


class Transpose(OpBase):
    """Permute the (channels, height, width) dimensions: output dim i is input dim perm[i]."""

    moves_values: ClassVar[bool] = True
    keeps_quantization: ClassVar[bool] = True

    kind: Literal["transpose"] = "transpose"
    perm: tuple[int, int, int]

    @field_validator("perm")
    @classmethod
    def _permutation(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if sorted(value) != [0, 1, 2]:
            raise ValueError(f"perm must be a permutation of 0, 1, 2, not {value!r}")
        return value

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        dims = (inputs[0].channels, inputs[0].height, inputs[0].width)
        return Shape(*(dims[axis] for axis in self.perm))


class ChannelShuffle(OpBase):
    """ShuffleNet's interleave of `groups` channel groups: channel g·n + i → i·groups + g."""

    moves_values: ClassVar[bool] = True
    keeps_quantization: ClassVar[bool] = True

    kind: Literal["channel_shuffle"] = "channel_shuffle"
    groups: int = Field(gt=0)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if inputs[0].channels % self.groups:
            raise ShapeError(
                f"groups must divide the {inputs[0].channels} channels, not {self.groups}"
            )
        return inputs[0]

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0


class ChannelSlice(OpBase):
    """Channels [start, end) of the input (ShuffleNetV2's channel split); free, an offset."""

    moves_values: ClassVar[bool] = True
    keeps_quantization: ClassVar[bool] = True

    kind: Literal["channel_slice"] = "channel_slice"
    start: int = Field(ge=0)
    end: int = Field(gt=0)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if not self.start < self.end <= inputs[0].channels:
            raise ShapeError(
                f"channel range must lie within the {inputs[0].channels} channels, "
                f"not [{self.start}, {self.end})"
            )
        return Shape(self.end - self.start, inputs[0].height, inputs[0].width)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0


class Unsupported(OpBase):
    """An operator accel does not model, costed as zero (kept to list it in the report)."""

    kind: Literal["unsupported"] = "unsupported"
    op_type: str = Field(description="the model file's operator name, e.g. ONNX 'Tanh'")
    shape: tuple[int, int, int] = Field(description="its output (channels, height, width)")

    @property
    def arity(self) -> tuple[int, int | None]:
        return (1, None)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(*self.shape)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0

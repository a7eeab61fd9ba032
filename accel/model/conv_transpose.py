"""Transposed convolution (deconvolution): the upsampling layer of segmentation and matting nets.

Each input pixel scatters a copy of the kernel, scaled by its value, into the output: input row
`i` and kernel row `t` land on output row `i·stride − pad_top + t·dilation` (columns alike), and
the taps that land outside the output are dropped. `padding` (top, bottom, left, right) is what
is cropped from the full scatter, `output_padding` grows the bottom and right edges (which only
zero taps reach), so per axis

    out = (in − 1)·stride − pad_begin − pad_end + dilation·(kernel − 1) + output_padding + 1

(ONNX ConvTranspose and PyTorch's ConvTranspose2d; TFLite's TRANSPOSE_CONV with its output
shape). Weights are stored as a conv's, (out_channels, in_channels / groups, kh, kw), in the
scatter's orientation (not flipped). Useful MACs are one per input pixel, kernel tap, input
channel and output channel of its group: `in_h·in_w·C_in·C_out/groups·kh·kw` (the count
fvcore and other profilers use); how many the array issues depends on the mapping
(`accel.mapping.conv_transpose`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from accel.model.op_base import OpBase, Shape, ShapeError, as_pair
from accel.user_input.record import Field, field_validator, model_validator

if TYPE_CHECKING:
    from pydantic import ValidationInfo

FusedActivation = Literal["relu", "relu6"]


def transposed_output_size(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
                           dilation: int, output_padding: int) -> int:
    """Output length of a transposed convolution along one axis (see the module docstring)."""
    return ((size - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1)
            + output_padding + 1)  # fmt: skip


class ConvTranspose(OpBase):
    """2-D transposed convolution, grouped, with explicit padding and output padding."""

    kind: Literal["conv_transpose"] = "conv_transpose"
    out_channels: int = Field(gt=0)
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = Field(
        (0, 0, 0, 0), description="rows/columns cropped from the full output: top, bottom, "
        "left, right (or one integer, or [vertical, horizontal])",
    )
    output_padding: tuple[int, int] = Field(
        (0, 0), description="rows and columns added at the bottom and right of the output"
    )
    dilation: tuple[int, int] = (1, 1)
    groups: int = Field(1, gt=0)
    bias: bool = True
    activation: FusedActivation | None = None

    @field_validator("kernel", "stride", "dilation", mode="before")
    @classmethod
    def _as_pair(cls, value: int | list[int], info: ValidationInfo) -> tuple[int, int]:
        return as_pair(value, info.field_name or "value")

    @field_validator("padding", mode="before")
    @classmethod
    def _as_pads(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple) or len(value) not in (1, 2, 4) or any(
            not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in value
        ):
            raise ValueError("padding must be an integer >= 0, [vertical, horizontal] or [top, "
                             f"bottom, left, right], not {value!r}")  # fmt: skip
        if len(value) == 1:
            return (value[0],) * 4
        if len(value) == 2:
            return (value[0], value[0], value[1], value[1])
        return tuple(value)

    @field_validator("output_padding", mode="before")
    @classmethod
    def _as_output_padding(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value, value)
        if not isinstance(value, list | tuple) or len(value) != 2 or any(
            not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in value
        ):
            raise ValueError(
                f"output_padding must be an integer >= 0 or [height, width], not {value!r}"
            )
        return tuple(value)

    @model_validator(mode="after")
    def _output_padding_reaches_nothing_new(self) -> ConvTranspose:
        # PyTorch's and ONNX's rule: a larger output padding would add rows no tap can reach.
        for axis in (0, 1):
            limit = max(self.stride[axis], self.dilation[axis])
            if self.output_padding[axis] >= limit:
                raise ValueError(
                    f"output_padding must be smaller than the stride or the dilation ({limit}), "
                    f"not {list(self.output_padding)!r}"
                )
        return self

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        (shape,) = inputs
        if shape.channels % self.groups or self.out_channels % self.groups:
            raise ShapeError(
                f"groups must divide in_channels {shape.channels} and out_channels "
                f"{self.out_channels}, not {self.groups}"
            )
        top, bottom, left, right = self.padding
        height = transposed_output_size(shape.height, self.kernel[0], self.stride[0], top,
                                        bottom, self.dilation[0], self.output_padding[0])
        width = transposed_output_size(shape.width, self.kernel[1], self.stride[1], left, right,
                                       self.dilation[1], self.output_padding[1])  # fmt: skip
        if min(height, width) <= 0:
            raise ShapeError(f"padding {list(self.padding)} must leave a non-empty output, "
                             f"not {height}x{width}")  # fmt: skip
        return Shape(self.out_channels, height, width)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        (shape,) = inputs
        return shape.elements * self.out_channels // self.groups * self.kernel[0] * self.kernel[1]

    def weight_elements(self, inputs: tuple[Shape, ...]) -> int:
        taps = self.kernel[0] * self.kernel[1]
        return self.out_channels * inputs[0].channels // self.groups * taps

    def bias_elements(self, inputs: tuple[Shape, ...]) -> int:
        return self.out_channels * int(self.bias)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return output.elements  # requantization of each output

"""Operators: what one layer computes, independent of where it sits in a network.

Each operator kind is a frozen pydantic model tagged by `kind`, holding only its hyper-parameters
(kernel, stride, padding, channels, ...). Everything else — output shape, MACs, parameter counts,
the GEMM view — is derived from the operator and its input shapes. Tensors are (channels, height,
width) per image; a fully-connected layer produces (out_features, 1, 1). Batch is a simulation
parameter, not part of the model.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from accel.model.op_base import OpBase, Shape, ShapeError, as_pair
from accel.model.tensor_ops import (
    BatchNorm,
    ChannelShuffle,
    ChannelSlice,
    Clip,
    LocalResponseNorm,
    Pad,
    Reshape,
    Transpose,
    Unsupported,
)

ActivationFunction = Literal["relu", "relu6", "hswish", "hsigmoid", "sigmoid", "leaky_relu"]
FusedActivation = Literal["relu", "relu6"]
PaddingMode = Literal["same", "same_upper", "same_lower", "valid"]


class _Window(OpBase):
    """Shared geometry of sliding-window operators (convolution and pooling)."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] | PaddingMode = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool | Literal["scalesim"] = Field(
        False,
        description="round the output size up: true as ONNX Runtime and PyTorch do (a last "
        "window starting in the end padding is dropped); scalesim as SCALE-Sim does, "
        "ceil((in - kernel) / stride) + 1 with no window dropped",
    )

    @field_validator("kernel", "stride", "dilation", mode="before")
    @classmethod
    def _as_pair(cls, value: int | list[int], info: ValidationInfo) -> tuple[int, int]:
        return as_pair(value, info.field_name or "value")

    @field_validator("padding", mode="before")
    @classmethod
    def _as_pads(cls, value: object) -> object:
        if isinstance(value, str):
            return value
        if isinstance(value, int):
            value = [value]
        if not isinstance(value, list | tuple) or len(value) not in (1, 2, 4):
            raise ValueError(
                "padding must be an integer, [vertical, horizontal], [top, bottom, left, right], "
                f"same or valid, not {value!r}"
            )
        if any(not isinstance(v, int) or v < 0 for v in value):
            raise ValueError(f"padding must be >= 0, not {value!r}")
        if len(value) == 1:
            return (value[0],) * 4
        if len(value) == 2:
            return (value[0], value[0], value[1], value[1])
        return tuple(value)

    def pads(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Resolved (top, bottom, left, right) padding for an input of this size."""
        if isinstance(self.padding, tuple):
            return self.padding
        if self.padding == "valid":
            return (0, 0, 0, 0)
        top, bottom = self._same_pads(height, 0)
        left, right = self._same_pads(width, 1)
        return (top, bottom, left, right)

    def fitted_pads(self, height: int, width: int) -> tuple[int, int, int, int]:
        """`pads`, the bottom and right widened until the last window fits: a ceil_mode window
        may reach past the declared padding, and those taps are padding too."""
        top, bottom, left, right = self.pads(height, width)
        out_height, out_width = self.window_output(Shape(1, height, width))
        reach_height = (out_height - 1) * self.stride[0] + (self.kernel[0] - 1) * self.dilation[0]
        reach_width = (out_width - 1) * self.stride[1] + (self.kernel[1] - 1) * self.dilation[1]
        bottom += max(0, reach_height + 1 - (height + top + bottom))
        right += max(0, reach_width + 1 - (width + left + right))
        return top, bottom, left, right

    def _same_pads(self, size: int, axis: int) -> tuple[int, int]:
        stride, kernel, dilation = self.stride[axis], self.kernel[axis], self.dilation[axis]
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        small, large = total // 2, total - total // 2
        return (large, small) if self.padding == "same_lower" else (small, large)

    def window_output(self, shape: Shape) -> tuple[int, int]:
        top, bottom, left, right = self.pads(shape.height, shape.width)
        return (
            self._axis_output(shape.height, top, bottom, 0),
            self._axis_output(shape.width, left, right, 1),
        )

    def _axis_output(self, size: int, pad_begin: int, pad_end: int, axis: int) -> int:
        padded = size + pad_begin + pad_end
        span = self.dilation[axis] * (self.kernel[axis] - 1) + 1
        if span > padded:
            raise ShapeError(
                f"kernel extent {span} must fit the padded input size {padded}, not exceed it"
            )
        steps = padded - span
        stride = self.stride[axis]
        if not self.ceil_mode:
            return steps // stride + 1
        out = -(-steps // stride) + 1
        if self.ceil_mode is True and (out - 1) * stride >= size + pad_begin:
            out -= 1  # that window would see only padding
        return out


class Conv(_Window):
    """2-D convolution (groups = in_channels makes it depthwise). BatchNorm folds into it."""

    kind: Literal["conv"] = "conv"
    out_channels: int = Field(gt=0)
    groups: int = Field(1, gt=0)
    bias: bool = True
    batchnorm: bool = Field(False, description="a folded BatchNorm (2 params per channel)")
    activation: FusedActivation | None = None

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        (shape,) = inputs
        if shape.channels % self.groups or self.out_channels % self.groups:
            raise ShapeError(
                f"groups must divide in_channels {shape.channels} and out_channels "
                f"{self.out_channels}, not {self.groups}"
            )
        height, width = self.window_output(shape)
        return Shape(self.out_channels, height, width)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return output.elements * self.reduction_size(inputs)

    def reduction_size(self, inputs: tuple[Shape, ...]) -> int:
        """K of the GEMM view: taps × input channels per group."""
        return self.kernel[0] * self.kernel[1] * inputs[0].channels // self.groups

    def weight_elements(self, inputs: tuple[Shape, ...]) -> int:
        return self.out_channels * self.reduction_size(inputs)

    def bias_elements(self, inputs: tuple[Shape, ...]) -> int:
        return self.out_channels * (int(self.bias) + 2 * int(self.batchnorm))

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return output.elements  # requantization of each output


class FullyConnected(OpBase):
    """A matrix-vector product over the flattened input (GEMM with M = batch)."""

    kind: Literal["fc"] = "fc"
    out_features: int = Field(gt=0)
    bias: bool = True
    batchnorm: bool = False
    activation: FusedActivation | None = None

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(self.out_features, 1, 1)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return inputs[0].elements * self.out_features

    def weight_elements(self, inputs: tuple[Shape, ...]) -> int:
        return inputs[0].elements * self.out_features

    def bias_elements(self, inputs: tuple[Shape, ...]) -> int:
        return self.out_features * (int(self.bias) + 2 * int(self.batchnorm))


class _Pool(_Window):
    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        height, width = self.window_output(inputs[0])
        return Shape(inputs[0].channels, height, width)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return output.elements * self.kernel[0] * self.kernel[1]


class MaxPool(_Pool):
    """Max over each window; padding never wins."""

    kind: Literal["maxpool"] = "maxpool"


class AvgPool(_Pool):
    """Mean over each window."""

    kind: Literal["avgpool"] = "avgpool"
    count_include_pad: bool = Field(False, description="divide by the full window at the edges")


class GlobalAvgPool(OpBase):
    """Mean over the whole spatial plane of each channel."""

    kind: Literal["global_avgpool"] = "global_avgpool"

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(inputs[0].channels, 1, 1)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return inputs[0].elements


class Add(OpBase):
    """Elementwise sum of equal-shaped tensors (residual connections)."""

    kind: Literal["add"] = "add"
    activation: FusedActivation | None = None

    @property
    def arity(self) -> tuple[int, int | None]:
        return (2, None)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if any(shape != inputs[0] for shape in inputs):
            raise ShapeError(f"add inputs must have equal shapes, not {[str(s) for s in inputs]}")
        return inputs[0]

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return output.elements * (len(inputs) - 1)


class Mul(OpBase):
    """Elementwise product; the second input may be a per-channel vector (SE scale)."""

    kind: Literal["mul"] = "mul"

    @property
    def arity(self) -> tuple[int, int | None]:
        return (2, 2)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        data, scale = inputs
        if scale != data and scale != Shape(data.channels, 1, 1):
            raise ShapeError(
                f"mul inputs must be equal or {data.channels}x1x1 per-channel, "
                f"not {data} and {scale}"
            )
        return data


class Concat(OpBase):
    """Concatenation along channels (inception branches)."""

    kind: Literal["concat"] = "concat"

    @property
    def arity(self) -> tuple[int, int | None]:
        return (2, None)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        planes = {(s.height, s.width) for s in inputs}
        if len(planes) != 1:
            raise ShapeError(
                f"concat inputs must share height and width, not {[str(s) for s in inputs]}"
            )
        return Shape(sum(s.channels for s in inputs), inputs[0].height, inputs[0].width)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0  # a concat is an addressing choice: branches write into one buffer


class Activation(OpBase):
    """A standalone elementwise nonlinearity."""

    kind: Literal["activation"] = "activation"
    function: ActivationFunction
    alpha: float = Field(0.01, description="negative slope of leaky_relu")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]


class Flatten(OpBase):
    """(C, H, W) → (C·H·W, 1, 1); free in hardware."""

    kind: Literal["flatten"] = "flatten"

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(inputs[0].elements, 1, 1)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0


class Softmax(OpBase):
    """Softmax over channels (classifier head), on the vector unit."""

    kind: Literal["softmax"] = "softmax"

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 3 * output.elements  # exponent, sum, divide


Op = Annotated[
    Conv
    | FullyConnected
    | MaxPool
    | AvgPool
    | GlobalAvgPool
    | Add
    | Mul
    | Concat
    | Activation
    | Flatten
    | Softmax
    | BatchNorm
    | LocalResponseNorm
    | Clip
    | Pad
    | Reshape
    | Transpose
    | ChannelShuffle
    | ChannelSlice
    | Unsupported,
    Field(discriminator="kind"),
]
OP_KINDS: tuple[str, ...] = (
    "conv",
    "fc",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "add",
    "mul",
    "concat",
    "activation",
    "flatten",
    "softmax",
    "batchnorm",
    "lrn",
    "clip",
    "pad",
    "reshape",
    "transpose",
    "channel_shuffle",
    "channel_slice",
    "unsupported",
)

__all__ = [
    "OP_KINDS",
    "Activation",
    "ActivationFunction",
    "Add",
    "AvgPool",
    "BatchNorm",
    "ChannelShuffle",
    "ChannelSlice",
    "Clip",
    "Concat",
    "Conv",
    "Flatten",
    "FullyConnected",
    "FusedActivation",
    "GlobalAvgPool",
    "LocalResponseNorm",
    "MaxPool",
    "Mul",
    "Op",
    "Pad",
    "PaddingMode",
    "Reshape",
    "Shape",
    "ShapeError",
    "Softmax",
    "Transpose",
    "Unsupported",
]

"""Operators: what one layer computes, independent of where it sits in a network.

Each operator kind is a frozen pydantic model tagged by `kind`, holding only its hyper-parameters
(kernel, stride, padding, channels, ...). Everything else — output shape, MACs, parameter counts,
the GEMM view — is derived from the operator and its input shapes. Tensors are (channels, height,
width) per image; a fully-connected layer produces (out_features, 1, 1). Batch is a simulation
parameter, not part of the model.

`Op` is the tagged union of every kind; pooling, transposed convolution, resampling and the
operators imported model files add are defined in `accel.model.pool_ops`, `conv_transpose`,
`resample_ops` and `tensor_ops`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from accel.model.conv_transpose import ConvTranspose
from accel.model.op_base import OpBase, Shape, ShapeError
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.resample_ops import (
    DepthToSpace,
    PRelu,
    ReduceMean,
    Resize,
    SpaceToDepth,
)
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
from accel.model.window import PaddingMode, WindowOp
from accel.user_input.record import Field

ActivationFunction = Literal[
    "relu", "relu6", "hswish", "hsigmoid", "sigmoid", "leaky_relu", "tanh", "hard_sigmoid"
]
FusedActivation = Literal["relu", "relu6"]


class Conv(WindowOp):
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
    alpha: float = Field(0.01, allow_inf_nan=False,
                         description="negative slope of leaky_relu; slope of hard_sigmoid")
    beta: float = Field(0.5, allow_inf_nan=False,
                        description="offset of hard_sigmoid: max(0, min(1, alpha·x + beta))")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]


class Flatten(OpBase):
    """(C, H, W) → (C·H·W, 1, 1); free in hardware."""

    moves_values: ClassVar[bool] = True
    keeps_quantization: ClassVar[bool] = True

    kind: Literal["flatten"] = "flatten"

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(inputs[0].elements, 1, 1)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0


class Softmax(OpBase):
    """Softmax over channels (classifier head), or another per-image axis, on the vector unit."""

    kind: Literal["softmax"] = "softmax"
    axis: int = Field(0, ge=0, le=2, description="per-image axis: 0 channels, 1 height, 2 width")
    beta: float = Field(
        1.0, gt=0, allow_inf_nan=False,
        description="scale of the logits before the exponent (TFLite's SOFTMAX beta; ONNX has 1)",
    )

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 3 * output.elements  # exponent, sum, divide


Op = (
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
    | Resize
    | DepthToSpace
    | SpaceToDepth
    | PRelu
    | ReduceMean
    | Unsupported
    | ConvTranspose
)
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
    "resize",
    "depth_to_space",
    "space_to_depth",
    "prelu",
    "reduce_mean",
    "unsupported",
    "conv_transpose",
)

__all__ = [
    "OP_KINDS",
    "Activation",
    "ActivationFunction",
    "Add",
    "BatchNorm",
    "ChannelShuffle",
    "ChannelSlice",
    "Clip",
    "Concat",
    "Conv",
    "ConvTranspose",
    "DepthToSpace",
    "Flatten",
    "FullyConnected",
    "FusedActivation",
    "LocalResponseNorm",
    "Mul",
    "Op",
    "PRelu",
    "Pad",
    "PaddingMode",
    "ReduceMean",
    "Reshape",
    "Resize",
    "Shape",
    "ShapeError",
    "Softmax",
    "SpaceToDepth",
    "Transpose",
    "Unsupported",
]

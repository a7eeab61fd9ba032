"""Pooling: each output value summarizes a window of one channel of the ifmap, on the vector unit.

`maxpool` and `avgpool` slide a window over the plane (the geometry is `accel.model.window`,
shared with convolution); `global_avgpool` takes the mean of a channel's whole plane (the
classifier heads of ResNet, MobileNet and GoogLeNet). A pool keeps the channel count, has no
weights and no MACs: its cost is one vector operation per window tap (per input value for the
global mean). A max pool only selects values, so its output keeps the input's quantization.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from accel.model.op_base import OpBase, Shape
from accel.model.window import WindowOp
from accel.user_input.record import Field


class _Pool(WindowOp):
    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        height, width = self.window_output(inputs[0])
        return Shape(inputs[0].channels, height, width)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return output.elements * self.kernel[0] * self.kernel[1]


class MaxPool(_Pool):
    """Max over each window; padding never wins."""

    keeps_quantization: ClassVar[bool] = True

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

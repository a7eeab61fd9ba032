"""Sliding windows: the geometry that convolution and pooling operators share.

A window of `kernel` taps (spaced by `dilation`) steps by `stride` over the ifmap plus its
padding. Padding is explicit (top, bottom, left, right) or a mode: `same` / `same_upper` /
`same_lower` pad so that out = ceil(in / stride) (the odd row or column at the end, or at the
start for `same_lower`), `valid` does not pad. The output size per axis is
`floor((in + pad_begin + pad_end − dilation·(kernel − 1) − 1) / stride) + 1`, rounded up
instead with `ceil_mode` (ONNX Runtime's and PyTorch's rule, or SCALE-Sim's).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from accel.model.op_base import OpBase, Shape, ShapeError, as_pair
from accel.user_input.record import Field, field_validator

if TYPE_CHECKING:
    from pydantic import ValidationInfo

PaddingMode = Literal["same", "same_upper", "same_lower", "valid"]


class WindowOp(OpBase):
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
        return window_output_size(size, self.kernel[axis], self.stride[axis], pad_begin,
                                  pad_end, self.dilation[axis], self.ceil_mode)  # fmt: skip


def window_output_size(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
                       dilation: int, ceil_mode: bool | str = False) -> int:
    """Output length of a conv/pool window sweep along one axis: the one rule the IR, the
    datapath and the reference checks share. `floor((padded − span) / stride) + 1`; with
    ceil_mode the last partial window counts, except (ONNX Runtime's and PyTorch's rule) one
    that would start in the end padding; SCALE-Sim's ceil keeps that one too."""
    padded = size + pad_begin + pad_end
    span = dilation * (kernel - 1) + 1
    if span > padded:
        raise ShapeError(
            f"kernel extent {span} must fit the padded input size {padded}, not exceed it"
        )
    steps = padded - span
    if not ceil_mode:
        return steps // stride + 1
    out = -(-steps // stride) + 1
    if ceil_mode is True and (out - 1) * stride >= size + pad_begin:
        out -= 1  # that window would see only padding
    return out

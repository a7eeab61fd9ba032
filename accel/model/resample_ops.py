"""Operators of detection and segmentation models: resampling, depth/space moves, PReLU and a
mean over any axes.

- `resize`: upsampling (or downsampling) of each channel plane to a new height and width, by
  nearest neighbour or bilinear interpolation. Where an output pixel samples the input follows
  ONNX's `coordinate_transformation_mode` (`half_pixel`, `pytorch_half_pixel`, `align_corners`,
  `asymmetric`, `tf_half_pixel_for_nn`) and, for nearest, `nearest_mode`; TFLite's
  align_corners / half_pixel_centers flags are the same modes. The output size is `size`, or
  `floor(in · scale)` per axis. On the vector unit: one copy per output for nearest, four taps
  (four reads, four multiply-adds of the weights) per output for bilinear.
- `depth_to_space` / `space_to_depth`: blocks of `block × block` pixels moved to and from
  channels (DCR: depth-column-row, ONNX's default and TFLite's order; CRD: column-row-depth,
  PyTorch's PixelShuffle). The values do not change; on channel-planar buffers each element is
  copied once, like a transpose.
- `prelu`: `x` for x ≥ 0, `slope[c]·x` below, one learned slope per channel (or one for all);
  the slopes are the layer's parameters.
- `reduce_mean`: the mean over any of the (channels, height, width) axes, reduced axes kept as
  size 1 (a mean over height and width alone is `global_avgpool`).
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numpy as np

from accel.model.op_base import OpBase, Shape, ShapeError
from accel.user_input.record import Field, field_validator, model_validator

ResizeMode = Literal["nearest", "bilinear"]
CoordinateMode = Literal[
    "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"
]
NearestMode = Literal["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
BlockOrder = Literal["DCR", "CRD"]

BILINEAR_TAPS = 4  # input pixels one bilinear output reads and weighs


class Resize(OpBase):
    """Resample each channel plane to `size` (height, width) or `scale` × the input's."""

    keeps_quantization: ClassVar[bool] = True  # interpolates codes of one quantization

    kind: Literal["resize"] = "resize"
    mode: ResizeMode = "nearest"
    scale: tuple[float, float] | None = Field(
        None, description="output / input size per axis (height, width); floor(in · scale) out"
    )
    size: tuple[int, int] | None = Field(None, description="output (height, width) in pixels")
    coordinate_mode: CoordinateMode = Field(
        "asymmetric", description="how an output coordinate maps into the input (ONNX's "
        "coordinate_transformation_mode); asymmetric is ONNX Upsample's and PyTorch nearest's",
    )
    nearest_mode: NearestMode = Field("floor", description="rounding of a nearest sample")

    @field_validator("scale", mode="before")
    @classmethod
    def _scale_pair(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = (value, value)
        if value is not None and (not isinstance(value, list | tuple) or len(value) != 2 or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                and v > 0 for v in value)):  # fmt: skip
            raise ValueError(f"scale must be a positive number or [height, width], not {value!r}")
        return value

    @field_validator("size", mode="before")
    @classmethod
    def _size_pair(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value, value)
        if value is not None and (not isinstance(value, list | tuple) or len(value) != 2 or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
            raise ValueError(f"size must be a positive integer or [height, width], not {value!r}")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Resize:
        if (self.scale is None) == (self.size is None):
            raise ValueError("a resize must give exactly one of scale or size")
        return self

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        if self.size is not None:
            return self.size
        assert self.scale is not None
        # float32 product truncated, as onnxruntime sizes an output from its scales
        return (int(np.float32(height) * np.float32(self.scale[0])),
                int(np.float32(width) * np.float32(self.scale[1])))  # fmt: skip

    def axis_scales(self, height: int, width: int) -> tuple[float, float]:
        """Output / input per axis as float32: the given scale, or sizes' ratio."""
        if self.scale is not None:
            return float(np.float32(self.scale[0])), float(np.float32(self.scale[1]))
        out_height, out_width = self.output_size(height, width)
        return (float(np.float32(out_height) / np.float32(height)),
                float(np.float32(out_width) / np.float32(width)))  # fmt: skip

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        height, width = self.output_size(inputs[0].height, inputs[0].width)
        if height <= 0 or width <= 0:
            raise ShapeError(f"resize must produce at least one pixel, not {height}x{width}")
        return Shape(inputs[0].channels, height, width)

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return output.elements * (BILINEAR_TAPS if self.mode == "bilinear" else 1)


class _BlockMove(OpBase):
    moves_values: ClassVar[bool] = True
    keeps_quantization: ClassVar[bool] = True

    block: int = Field(gt=0, description="edge of the square block of pixels moved")


class DepthToSpace(_BlockMove):
    """(C·b², H, W) → (C, H·b, W·b)."""

    kind: Literal["depth_to_space"] = "depth_to_space"
    order: BlockOrder = Field("DCR", description="DCR (ONNX default, TFLite) or CRD (PixelShuffle)")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape, area = inputs[0], self.block * self.block
        if shape.channels % area:
            raise ShapeError(f"depth_to_space block {self.block} needs channels divisible by "
                             f"{area}, not {shape.channels}")  # fmt: skip
        return Shape(shape.channels // area, shape.height * self.block, shape.width * self.block)


class SpaceToDepth(_BlockMove):
    """(C, H·b, W·b) → (C·b², H, W), DCR order (ONNX's and TFLite's)."""

    kind: Literal["space_to_depth"] = "space_to_depth"

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if shape.height % self.block or shape.width % self.block:
            raise ShapeError(f"space_to_depth block {self.block} must divide height and width, "
                             f"not {shape.height}x{shape.width}")  # fmt: skip
        return Shape(shape.channels * self.block**2, shape.height // self.block,
                     shape.width // self.block)


class PRelu(OpBase):
    """`max(x, 0) + slope[c]·min(x, 0)`: a learned negative slope per channel (or shared)."""

    kind: Literal["prelu"] = "prelu"
    shared_slope: bool = Field(False, description="one slope for all channels")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def weight_elements(self, inputs: tuple[Shape, ...]) -> int:
        return 1 if self.shared_slope else inputs[0].channels


class ReduceMean(OpBase):
    """Mean over `axes` of (channels=0, height=1, width=2), reduced axes kept as size 1."""

    kind: Literal["reduce_mean"] = "reduce_mean"
    axes: tuple[int, ...] = Field(description="per-image axes reduced: 0 channels, 1 height, "
                                  "2 width")

    @field_validator("axes")
    @classmethod
    def _axes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or len(set(value)) != len(value) or not set(value) <= {0, 1, 2}:
            raise ValueError(f"axes must be distinct values among 0, 1, 2, not {value!r}")
        return tuple(sorted(value))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        dims = (inputs[0].channels, inputs[0].height, inputs[0].width)
        return Shape(*(1 if axis in self.axes else size for axis, size in enumerate(dims)))

    def vector_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return inputs[0].elements  # one addition per input element (the divide folds in)

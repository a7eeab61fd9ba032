"""The numbers a chip runs on: float weights, and the int8 model the hardware executes.

A `Network` holds only shapes and hyper-parameters. To compute outputs, a layer also needs its
parameters. `FloatWeights` are a conv/fc layer's trained (or seeded random) parameters with
BatchNorm already folded in. A `QuantizedNetwork` is what the accelerator actually stores:
8-bit weights with a float32 scale and a zero point per output channel (calibration makes them
int8 and symmetric, zero point 0; imported files may carry uint8 weights with nonzero zero
points), int32 biases in units of ifmap scale × weight scale, and for every activation tensor
(each graph input and each layer's output) a float32 scale and an integer zero point. Importers
of quantized models build a `QuantizedNetwork` directly; built-in and float models get one from
calibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import numpy as np
import numpy.typing as npt

from accel.model.network import Network

Float32Array = npt.NDArray[np.float32]

ActivationDtype = Literal["int8", "uint8"]
QMIN_QMAX: dict[ActivationDtype, tuple[int, int]] = {"int8": (-128, 127), "uint8": (0, 255)}


@dataclass(frozen=True, eq=False)
class FloatWeights:
    """Float parameters of one conv or fc layer, BatchNorm folded in.

    `weight` is (out_channels, in_channels / groups, kernel_height, kernel_width) for a conv and
    (out_features, in_features) for an fc layer (in_features in (C, H, W) flattening order);
    `bias` is (out_channels,).
    """

    weight: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]


@dataclass(frozen=True)
class QuantParams:
    """Per-tensor affine quantization: real = scale · (q − zero_point)."""

    scale: float  # exactly representable as float32
    zero_point: int
    dtype: ActivationDtype = "int8"

    def __post_init__(self) -> None:
        if not (self.scale > 0 and np.isfinite(self.scale)):
            raise ValueError(f"scale must be a positive finite number, not {self.scale!r}")
        low, high = QMIN_QMAX[self.dtype]
        if not low <= self.zero_point <= high:
            raise ValueError(f"zero_point must be in [{low}, {high}], not {self.zero_point!r}")
        object.__setattr__(self, "scale", float(np.float32(self.scale)))

    @property
    def qmin(self) -> int:
        return QMIN_QMAX[self.dtype][0]

    @property
    def qmax(self) -> int:
        return QMIN_QMAX[self.dtype][1]


@dataclass(frozen=True, eq=False)
class QuantizedWeights:
    """8-bit parameters of one conv or fc layer, as the chip stores them (one byte a weight).

    `weight` has the shape of `FloatWeights.weight` (int8, or uint8 from older quantizers);
    `weight_scales` one float32 per output channel (a single value for per-tensor quantization);
    `weight_zero_points` likewise one per output channel or a single one (None or 0 everywhere
    for symmetric weights); `bias` is int32 in units of ifmap_scale · weight_scale[o].
    """

    weight: npt.NDArray[np.int8] | npt.NDArray[np.uint8]
    weight_scales: npt.NDArray[np.float32]
    bias: npt.NDArray[np.int32]
    weight_zero_points: npt.NDArray[np.int32] | None = None

    def centred(self) -> npt.NDArray[np.int32]:
        """w − w_zp per output channel: the operand the MACs multiply (|w − w_zp| ≤ 255)."""
        w = self.weight.astype(np.int32)
        if self.weight_zero_points is None:
            return w
        zero_points = np.asarray(self.weight_zero_points, np.int32).reshape(-1)
        centred: npt.NDArray[np.int32] = w - zero_points.reshape((-1,) + (1,) * (w.ndim - 1))
        return centred


@dataclass(frozen=True, eq=False)
class BatchNormConstants:
    """A BatchNormalization node's inputs as onnxruntime reads them (dequantized where the file
    quantized them), one float32 per channel, and its epsilon attribute."""

    scale: Float32Array
    bias: Float32Array
    mean: Float32Array
    variance: Float32Array
    epsilon: float

    def folded(self) -> tuple[Float32Array, Float32Array]:
        """(per-channel multiplier, per-channel addend) rounded as onnxruntime's kernel does."""
        eps = np.float32(self.epsilon)
        inv_std = np.divide(np.float32(1.0), np.sqrt(np.add(self.variance, eps,
                                                            dtype=np.float32)),
                            dtype=np.float32)  # fmt: skip
        multiplier = np.multiply(inv_std, self.scale, dtype=np.float32)
        addend = np.subtract(self.bias, np.multiply(self.mean, multiplier, dtype=np.float32),
                             dtype=np.float32)  # fmt: skip
        return multiplier, addend


    def fold_into_conv(
        self, weight: Float32Array, bias: Float32Array
    ) -> tuple[Float32Array, Float32Array]:
        """The (weight, bias) of a conv with this BatchNormalization folded in, as
        onnxruntime's ConvBNFusion rounds them; a conv without bias has a zero one."""
        std = np.sqrt(np.add(self.variance, np.float32(self.epsilon), dtype=np.float32))
        factor = np.divide(self.scale, std, dtype=np.float32)
        shape = (-1,) + (1,) * (np.ndim(weight) - 1)
        folded = np.multiply(weight, factor.reshape(shape), dtype=np.float32)
        centred = np.subtract(bias, self.mean, dtype=np.float32)
        shifted = np.add(np.multiply(centred, factor, dtype=np.float32), self.bias,
                         dtype=np.float32)  # fmt: skip
        return folded, shifted


class FoldedWeights(FloatWeights):
    """A conv's `FloatWeights` with a BatchNormalization folded in as onnxruntime folds it
    (`BatchNormConstants.fold_into_conv`), folded when first read: a run that only costs the
    network never reads its weights (ResNet-18's 11.7 M multiplies were ~64 M instructions of
    every ONNX import). Read and pickled as the `FloatWeights` it stands for."""

    _unfolded: tuple[BatchNormConstants, FloatWeights]

    def __init__(self, constants: BatchNormConstants, unfolded: FloatWeights) -> None:
        object.__setattr__(self, "_unfolded", (constants, unfolded))

    def _folded(self) -> tuple[Float32Array, Float32Array]:
        found: tuple[Float32Array, Float32Array] | None = self.__dict__.get("_pair")
        if found is None:
            constants, unfolded = self._unfolded
            found = constants.fold_into_conv(unfolded.weight, unfolded.bias)
            object.__setattr__(self, "_pair", found)
        return found

    @property
    def weight(self) -> Float32Array:
        return self._folded()[0]

    @property
    def bias(self) -> Float32Array:
        return self._folded()[1]

    def __reduce__(self) -> tuple[type[FloatWeights], tuple[Float32Array, Float32Array]]:
        return FloatWeights, self._folded()


class GemmAttributes(TypedDict):
    """An ONNX Gemm's attributes, for following its float32 arithmetic."""

    trans_b: bool
    alpha: float
    beta: float


class LayerAttributes(TypedDict, total=False):
    """Per-layer extras an importer (or the check against onnxruntime) records so the datapath
    follows the file's reference runtime exactly. Every key is optional."""

    # an elementwise Add / Mul with a quantized constant, held in a BatchNorm slot
    operation: Literal["add", "mul"]
    constant: npt.NDArray[np.integer]  # the constant's codes
    constant_quant: QuantParams
    constant_first: bool  # the constant is the op's first input
    batchnorm: BatchNormConstants  # a BatchNormalization node's constants
    float_bias: Float32Array  # the real bias onnxruntime adds if the layer stays in float32
    gemm: GemmAttributes
    float_inputs: tuple[int, ...]  # inputs that are another float op's raw result
    tflite_mean: bool  # a GlobalAvgPool imported from TFLite's MEAN (not AVERAGE_POOL_2D)
    onnxruntime_float_op: str  # the float op onnxruntime computes this layer with
    onnxruntime_uint8: bool  # onnxruntime runs this int8 layer on uint8 codes (+128)
    onnxruntime_nhwc: bool  # onnxruntime runs this layer channels-last (a linear Resize's kernel)
    slopes: Float32Array  # a PReLU's negative slopes, real values (one, or one per channel)
    slope_codes: npt.NDArray[np.integer]  # ... as 8-bit codes (TFLite's PRELU alpha tensor)
    slope_quant: QuantParams  # ... and their quantization


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """A network with everything the int8 datapath needs.

    `activations` maps every graph input name and every layer name (its output) to its
    quantization; `weights` maps every conv and fc layer to its 8-bit parameters; `attributes`
    holds per-layer extras an importer carries over (e.g. a lookup table of a quantized sigmoid).
    """

    network: Network
    activations: Mapping[str, QuantParams]
    weights: Mapping[str, QuantizedWeights]
    attributes: Mapping[str, LayerAttributes] = field(default_factory=dict)

"""The images a functional run starts from, and their int8 codes.

A graph input arrives either as float32 images (NCHW), which the chip's input stage quantizes
with the input's calibrated scale and zero point exactly as ONNX QuantizeLinear does, or as
already-quantized codes of the input's type (int8 or uint8), used as they are. Without user
data, images are seeded standard-normal noise, drawn from a different stream than calibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.functional.requant import dequantize_linear, quantize_linear
from accel.model.network import Network
from accel.model.quantized import QuantizedNetwork

F32 = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.integer]


@dataclass(frozen=True, eq=False)
class NetworkInputs:
    """Each graph input as float images (what a reference runtime is fed) and as int8 codes."""

    real: Mapping[str, F32]
    quantized: Mapping[str, IntArray]


def random_images(network: Network, batch: int, seed: int = 0) -> dict[str, F32]:
    """Seeded standard-normal NCHW images for every graph input."""
    return normal_images(network, batch, seed, stream=0x1A6E)


def normal_images(network: Network, count: int, seed: int, stream: int) -> dict[str, F32]:
    """`count` standard-normal NCHW images per graph input (what a normalized photo looks like
    to the first layer), drawn from random stream `stream` of `seed`: calibration and the
    simulated batch use different streams, so they never see the same images."""
    rng = np.random.default_rng([seed, stream])
    return {
        name: rng.standard_normal((count, s.channels, s.height, s.width), dtype=np.float32)
        for name, s in network.inputs
    }


def prepare_inputs(
    qnet: QuantizedNetwork, arrays: Mapping[str, npt.NDArray[np.generic]], batch: int
) -> NetworkInputs:
    """Validate user or random arrays and quantize the float ones."""
    real, quantized = {}, {}
    for name, shape in qnet.network.inputs:
        if name not in arrays:
            raise InputError(f"inputs must contain {name!r}, not only {sorted(arrays)!r}")
        x = np.asarray(arrays[name])
        expected = (batch, shape.channels, shape.height, shape.width)
        if x.shape == expected[:2] and shape.height == shape.width == 1:
            x = x.reshape(expected)  # a rank-2 model's features, (N, C)
        if x.shape != expected:
            flat = f" or {expected[:2]!r}" if shape.height == shape.width == 1 else ""
            raise InputError(
                f"input {name!r} must have shape {expected!r}{flat}, not {x.shape!r}"
            )
        params = qnet.activations[name]
        if np.issubdtype(x.dtype, np.floating):
            real[name] = x.astype(np.float32)
            quantized[name] = quantize_linear(
                real[name], params.scale, params.zero_point, params.dtype
            )
        elif x.dtype == np.dtype(params.dtype):
            # Dequantized codes quantize back to themselves (|code - zp| <= 255 is far from
            # a rounding boundary), so a float reference sees exactly these codes.
            quantized[name] = x
            real[name] = dequantize_linear(x, params.scale, params.zero_point)
        else:
            raise InputError(
                f"input {name!r} must be float32 images or {params.dtype} codes, not {x.dtype.name}"
            )
    return NetworkInputs(real, quantized)

"""Small float CNNs built with onnx.helper and quantized by onnxruntime's quantize_static.

`random_cnn(seed)` draws a stem conv, then blocks among conv+ReLU, depthwise+ReLU6, a residual
add, a concat of two branches, average and max pooling, a squeeze-excitation multiply (global
pool, 1×1 conv, sigmoid) and h-swish, then global pooling, flatten and a Gemm. `quantize` runs
quantize_static with a seeded calibration reader in QOperator or QDQ form, per-channel or
per-tensor, with int8 or uint8 activations and int8 weights (`CONFIGS`), or uint8 activations
and uint8 weights, the default of older onnxruntime quantizers (`UINT8_WEIGHT_CONFIGS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx_builders import GraphBuilder


@dataclass(frozen=True)
class QuantConfig:
    """One quantize_static setting."""

    form: str  # "qoperator" or "qdq"
    activations: str  # "uint8" or "int8"
    per_channel: bool
    weights: str = "int8"  # "int8" or "uint8"

    @property
    def label(self) -> str:
        weights = "-u8w" if self.weights == "uint8" else ""
        return f"{self.form}-{self.activations}-{'pc' if self.per_channel else 'pt'}{weights}"


CONFIGS = [QuantConfig(form, act, pc) for form in ("qoperator", "qdq")
           for act in ("uint8", "int8") for pc in (True, False)]  # fmt: skip
# onnxruntime's quantizer refuses int8 activations with uint8 weights.
UINT8_WEIGHT_CONFIGS = [QuantConfig(form, "uint8", pc, "uint8") for form in ("qoperator", "qdq")
                        for pc in (True, False)]  # fmt: skip

BLOCKS = ("conv", "depthwise", "residual", "concat", "avgpool", "maxpool", "se", "hswish")


def random_cnn(seed: int, size: int = 12, blocks: int = 5, width: int = 8) -> Any:
    """A float ONNX CNN on a 1×3×size×size input; the blocks are drawn from `BLOCKS`."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder(f"random{seed}", [1, 3, size, size], opset=14, seed=seed)
    x, channels = g.relu(g.conv(g.input, 3, width, 3)), width
    for kind in rng.choice(BLOCKS, blocks):
        x, channels = _block(g, str(kind), x, channels, rng)
    pooled = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    return g.model([g.gemm(pooled, channels, 10)])


def every_block_cnn(seed: int = 0) -> Any:
    """One of each block on a 1×3×12×12 input, every tensor between them quantizable: conv +
    ReLU, depthwise + ReLU6, residual add, concat with a max-pool branch, average pool with
    count_include_pad, squeeze-excitation (global pool, 1×1 convs, sigmoid, mul), h-swish
    feeding a conv, max pool, global pool, flatten, Gemm."""
    g = GraphBuilder(f"every_block{seed}", [1, 3, 12, 12], opset=14, seed=seed)
    x = g.relu(g.conv(g.input, 3, 16, 3))
    x = g.relu6(g.conv(x, 16, 16, 3, group=16))
    y = g.conv(g.relu(g.conv(x, 16, 16, 1, pad=0)), 16, 16, 3)
    x = g.relu(g.node("Add", [y, x]))
    x = g.node("Concat", [g.relu(g.conv(x, 16, 8, 1, pad=0)), g.maxpool(x, 3, 1, pad=1)],
               axis=1)  # fmt: skip
    x = g.avgpool(x, 3, 2, pad=1, include=1)
    squeeze = g.relu(g.conv(g.node("GlobalAveragePool", [x]), 24, 8, 1, pad=0))
    x = g.node("Mul", [x, g.node("Sigmoid", [g.conv(squeeze, 8, 24, 1, pad=0)])])
    x = g.conv(g.node("HardSwish", [g.conv(x, 24, 24, 1, pad=0)]), 24, 32, 3)
    x = g.maxpool(g.relu(x), 2, 2)
    return g.model([g.gemm(g.node("Flatten", [g.node("GlobalAveragePool", [x])]), 32, 10)])


def pool_island_cnn(seed: int = 0) -> Any:
    """A residual add and a max-pool branch concatenated, then a 2×2 average pool: with int8
    QDQ, onnxruntime leaves the add, the pool and the SE multiply in float32 (their inputs keep
    int8 codes because other layers read them too), and a 2×2 mean hits exact .5 ties."""
    g = GraphBuilder(f"pool_island{seed}", [1, 3, 16, 16], opset=13, seed=seed)
    x = g.relu(g.conv(g.input, 3, 8, 3))
    d = g.relu(g.conv(x, 8, 8, 3, group=8))
    r = g.node("Add", [g.conv(d, 8, 8, 1, pad=0), x])
    c = g.node("Concat", [r, g.maxpool(x, 3, 1, pad=1)], axis=1)
    a = g.avgpool(c, 2, 2)
    se = g.node("Sigmoid", [g.conv(g.node("GlobalAveragePool", [a]), 16, 16, 1, pad=0)])
    h = g.relu6(g.conv(g.node("Mul", [a, se]), 16, 16, 3))
    return g.model([g.gemm(g.node("Flatten", [g.node("GlobalAveragePool", [h])]), 16, 10)])


def classifier_cnn(seed: int = 0) -> Any:
    """Conv + LeakyReLU, average pool, Gemm and a Softmax over the ten classes."""
    g = GraphBuilder(f"classifier{seed}", [1, 3, 12, 12], opset=13, seed=seed)
    x = g.node("LeakyRelu", [g.conv(g.input, 3, 16, 3)], alpha=0.1)
    x = g.node("Flatten", [g.node("GlobalAveragePool", [g.avgpool(x, 2, 2)])])
    return g.model([g.node("Softmax", [g.gemm(x, 16, 10)], axis=1)])


def shuffle_unit_cnn(seed: int = 0) -> Any:
    """ShuffleNetV2's unit: the channels split in halves by Slice (torch's chunk), one half
    convolved, concatenated, shuffled; the QOperator quantizer leaves the Slices in float32
    and requantizes their outputs to new scales."""
    g = GraphBuilder(f"shuffle_unit{seed}", [1, 3, 12, 12], opset=13, seed=seed)
    x = g.relu(g.conv(g.input, 3, 16, 3))

    def half(start: int, end: int) -> str:
        starts, ends = (g.constant(np.array([v], np.int64)) for v in (start, end))
        return g.node("Slice", [x, starts, ends, g.constant(np.array([1], np.int64))])

    right = g.relu(g.conv(g.conv(half(8, 16), 8, 8, 3, group=8), 8, 8, 1, pad=0))
    y = g.node("Concat", [half(0, 8), right], axis=1)
    y = g.node("Reshape", [y, g.constant(np.array([1, 2, 8, 12, 12], np.int64))])
    y = g.node("Transpose", [y], perm=[0, 2, 1, 3, 4])
    y = g.node("Reshape", [y, g.constant(np.array([1, 16, 12, 12], np.int64))])
    return g.model([g.gemm(g.node("Flatten", [g.node("GlobalAveragePool", [y])]), 16, 10)])


def heads_cnn(seed: int = 0) -> Any:
    """Detection/segmentation operators: conv → PRelu (a slope per channel) → nearest Resize
    ×2 → DepthToSpace (CRD) → conv → Tanh → SpaceToDepth → conv → HardSigmoid (alpha 0.2) →
    conv. quantize_static quantizes none of PRelu, Tanh, HardSigmoid or the block moves, so
    PRelu → Resize → DepthToSpace and Tanh → SpaceToDepth stay float32 islands."""
    g = GraphBuilder(f"heads{seed}", [1, 3, 8, 8], opset=13, seed=seed)
    x = g.conv(g.input, 3, 16, 3)
    slope = g.constant((0.05 + 0.3 * g.rng.random((16, 1, 1))).astype(np.float32))
    x = g.node("PRelu", [x, slope])
    x = g.node("Resize", [x, "", g.constant(np.array([1, 1, 2, 2], np.float32))],
               mode="nearest")  # fmt: skip
    x = g.conv(g.node("DepthToSpace", [x], blocksize=2, mode="CRD"), 4, 8, 3)
    x = g.node("SpaceToDepth", [g.node("Tanh", [x])], blocksize=2)
    x = g.node("HardSigmoid", [g.conv(x, 32, 8, 1, pad=0)], alpha=0.2, beta=0.5)
    return g.model([g.conv(x, 8, 8, 1, pad=0)])


def moves_cnn(seed: int = 0, resize_mode: str = "nearest") -> Any:
    """conv + ReLU → Resize to 13×11 (half_pixel, round_prefer_ceil; quantize_static
    quantizes it: QOperator's Resize on codes, QDQ's fused to the same) → conv → DepthToSpace
    (DCR) → SpaceToDepth (a float32 island between two quantized convs) → conv."""
    g = GraphBuilder(f"moves{seed}", [1, 3, 8, 8], opset=13, seed=seed)
    x = g.relu(g.conv(g.input, 3, 16, 3))
    sizes = g.constant(np.array([1, 16, 13, 11], np.int64))
    x = g.node("Resize", [x, "", "", sizes], mode=resize_mode,
               coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil")
    x = g.node("DepthToSpace", [g.conv(x, 16, 16, 3)], blocksize=2, mode="DCR")
    return g.model([g.conv(g.node("SpaceToDepth", [x], blocksize=2), 16, 8, 1, pad=0)])


def _block(g: GraphBuilder, kind: str, x: str, channels: int,
           rng: np.random.Generator) -> tuple[str, int]:
    if kind == "conv":
        out = int(rng.choice([8, 16, 24]))
        return g.relu(g.conv(x, channels, out, 3)), out
    if kind == "depthwise":
        return g.relu6(g.conv(x, channels, channels, 3, group=channels)), channels
    if kind == "residual":
        y = g.conv(g.relu(g.conv(x, channels, channels, 1, pad=0)), channels, channels, 3)
        return g.relu(g.node("Add", [y, x])), channels
    if kind == "concat":
        left = g.relu(g.conv(x, channels, 8, 1, pad=0))
        return g.node("Concat", [left, g.maxpool(x, 3, 1, pad=1)], axis=1), channels + 8
    if kind == "avgpool":
        return g.avgpool(x, 3, 1, pad=1, include=int(rng.integers(0, 2))), channels
    if kind == "maxpool":
        return g.maxpool(x, 2, 1), channels
    if kind == "se":
        squeeze = g.relu(g.conv(g.node("GlobalAveragePool", [x]), channels, 4, 1, pad=0))
        scale = g.node("Sigmoid", [g.conv(squeeze, 4, channels, 1, pad=0)])
        return g.node("Mul", [x, scale]), channels
    return g.node("HardSwish", [g.conv(x, channels, channels, 1, pad=0)]), channels


def quantize(float_model: Any, config: QuantConfig, folder: Path, seed: int = 0,
             reduce_range: bool = False, exclude: tuple[str, ...] = ()) -> Path:
    """quantize_static of `float_model` (four seeded standard-normal calibration images),
    leaving the nodes named in `exclude` in float32."""
    from onnxruntime import quantization

    class Calibration(quantization.CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            rng = np.random.default_rng([seed, 7])
            name = float_model.graph.input[0].name
            dims = [d.dim_value or 1  # a symbolic batch calibrates one image at a time
                    for d in float_model.graph.input[0].type.tensor_type.shape.dim]
            self.batches = iter([{name: rng.standard_normal(dims).astype(np.float32)}
                                 for _ in range(4)])  # fmt: skip

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    source, target = folder / "float.onnx", folder / f"{config.label}.onnx"
    onnx.save(float_model, str(source))
    types = {"uint8": quantization.QuantType.QUInt8, "int8": quantization.QuantType.QInt8}
    quantization.quantize_static(
        str(source), str(target), Calibration(),
        quant_format=quantization.QuantFormat.QOperator if config.form == "qoperator"
        else quantization.QuantFormat.QDQ,
        per_channel=config.per_channel,
        activation_type=types[config.activations],
        weight_type=types[config.weights],
        reduce_range=reduce_range,
        nodes_to_exclude=list(exclude),
    )  # fmt: skip
    return target

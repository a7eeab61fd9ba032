"""The vector unit's lane model: exact results, and cycles equal to the throughput formula."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.config import ArrayConfig, ChipConfig, VectorUnitConfig
from accel.mapping.im2col import gemm_operands
from accel.mapping.mapper import map_layer
from accel.model.network import Layer, LayerEntry, Network
from accel.model.ops import Conv, Shape
from accel.model.pool_ops import MaxPool
from accel.oracles.vector_lanes import simulate_vector
from accel.perf.timing import time_layer, vector_cycles

UNITS = st.builds(
    VectorUnitConfig,
    lanes=st.integers(1, 12),
    ops_per_lane_per_cycle=st.integers(1, 4),
    pipeline_latency_cycles=st.integers(0, 5),
)


def _layer(shape: Shape, op: Conv | MaxPool) -> Layer:
    return Network.build("one", shape, [LayerEntry("layer", op)]).layers[0]


def test_lanes_timeline() -> None:
    """5 outputs of 3 ops on 2 lanes, 2 ops per lane-cycle: 3 rounds of 2 cycles, +1 latency."""
    unit = VectorUnitConfig(lanes=2, ops_per_lane_per_cycle=2, pipeline_latency_cycles=1)
    run = simulate_vector(np.arange(15).reshape(5, 3), unit, "sum")
    assert run.output.tolist() == [3, 12, 21, 30, 39]
    assert run.cycles == 3 * 2 + 1 == vector_cycles(5, 15, unit)


@settings(max_examples=40, deadline=None)
@given(
    channels=st.integers(2, 6),
    size=st.integers(3, 8),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    batch=st.integers(1, 2),
    unit=UNITS,
    seed=st.integers(0, 2**16),
)
def test_depthwise_on_the_vector_unit(
    channels: int,
    size: int,
    kernel: int,
    stride: int,
    batch: int,
    unit: VectorUnitConfig,
    seed: int,
) -> None:
    """Lanes MAC each output's window: equal to the array's GEMM, cycles as time_layer says."""
    op = Conv(out_channels=channels, kernel=kernel, stride=stride, padding=1, groups=channels)
    layer = _layer(Shape(channels, size, size), op)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (batch, channels, size, size))
    w = rng.integers(-128, 128, (channels, 1, kernel, kernel))
    a, b = gemm_operands(layer, x, w)  # (C, batch·E·F, R·S), (C, R·S, 1)
    taps = a.reshape(-1, a.shape[2])
    weights = np.repeat(b[:, :, 0], a.shape[1], axis=0)
    run = simulate_vector(taps, unit, "mac", weights)
    assert np.array_equal(run.output, np.matmul(a, b).reshape(-1))
    chip = ChipConfig(array=ArrayConfig(depthwise_unit="vector"), vector_unit=unit)
    mapping = map_layer(layer, chip, batch)
    assert mapping.unit == "vector"
    assert run.cycles == time_layer(mapping, chip).compute_cycles


@settings(max_examples=30, deadline=None)
@given(size=st.integers(2, 9), kernel=st.integers(1, 3), unit=UNITS, seed=st.integers(0, 2**16))
def test_maxpool_on_the_vector_unit(
    size: int, kernel: int, unit: VectorUnitConfig, seed: int
) -> None:
    kernel = min(kernel, size)
    layer = _layer(Shape(3, size, size), MaxPool(kernel=kernel, stride=kernel))
    out = layer.output_shape
    x = np.random.default_rng(seed).integers(-128, 128, (3, size, size))
    windows = np.stack(
        [
            x[:, r : r + out.height * kernel : kernel, s : s + out.width * kernel : kernel]
            for r in range(kernel)
            for s in range(kernel)
        ],
        axis=-1,
    )
    run = simulate_vector(windows.reshape(-1, kernel * kernel), unit, "max")
    assert np.array_equal(run.output, windows.max(axis=-1).reshape(-1))
    chip = ChipConfig(vector_unit=unit)
    assert run.cycles == time_layer(map_layer(layer, chip), chip).compute_cycles


def test_no_outputs_take_no_cycles() -> None:
    run = simulate_vector(np.zeros((0, 4)), VectorUnitConfig(), "sum")
    assert run.cycles == 0 == vector_cycles(0, 0, VectorUnitConfig())

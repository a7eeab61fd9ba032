"""The int8 engine against the PE-level array model, layer by layer, for small conv and fc layers.

The engine runs a layer along the memory model's tiling (`engine.schedules_for`); the PE-level
model (`accel.oracles.systolic.simulate_gemm`) moves the same layer's im2col operands, zero points
subtracted, through the array's registers cycle by cycle. Their int32 accumulators
must be equal (the engine's minus the bias it preloads), the PE model's cycle count must equal
the analytic compute cycles of `time_layer`, and its SRAM access counts the analytic ones.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from qnets import centred_gemm, engine_accumulators, input_codes, one_layer, weights_for

from accel.config import ChipConfig
from accel.errors import InputError
from accel.functional.accumulate import Accumulator
from accel.functional.engine import schedules_for
from accel.mapping.mapper import map_layer
from accel.model.ops import Conv, FullyConnected, Shape
from accel.model.quantized import QuantizedNetwork, QuantParams
from accel.oracles.systolic import simulate_gemm
from accel.perf.timing import time_layer


@st.composite
def small_layers(draw: st.DrawFn) -> tuple[QuantizedNetwork, np.ndarray]:
    """Conv (padding, stride, dilation, groups, depthwise) or fc layers of a few hundred MACs
    per output row, with random int8 / uint8 activations and a batch of 1 to 3."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "fc"]))
    hw = draw(st.integers(2, 5))
    if kind == "fc":
        channels = draw(st.integers(1, 4))
        op: Conv | FullyConnected = FullyConnected(out_features=draw(st.integers(1, 6)))
        weight_shape: tuple[int, ...] = (op.out_features, channels * hw * hw)
    else:
        groups = draw(st.integers(2, 4)) if kind == "depthwise" else draw(st.sampled_from([1, 2]))
        per_group = 1 if kind == "depthwise" else draw(st.integers(1, 4))
        channels = groups * per_group
        op = Conv(out_channels=groups * draw(st.integers(1, 3)), kernel=draw(st.integers(1, 3)),
                  stride=draw(st.integers(1, 2)), padding=draw(st.integers(0, 2)),
                  dilation=draw(st.integers(1, 2)), groups=groups)  # fmt: skip
        weight_shape = (op.out_channels, per_group, *op.kernel)
    dtype = draw(st.sampled_from([np.int8, np.uint8]))
    x = QuantParams(0.05, draw(st.integers(-128, 127) if dtype == np.int8 else st.integers(0, 255)),
                    "int8" if dtype == np.int8 else "uint8")  # fmt: skip
    weights = weights_for(draw, rng, weight_shape, full_range=True, uint8=True)
    try:
        qnet = one_layer(op, {"input": Shape(channels, hw, hw)},
                         {"input": x, "layer": QuantParams(1.0, 0)}, weights)  # fmt: skip
    except InputError:
        assume(False)  # the kernel does not fit this ifmap
    return qnet, input_codes(rng, qnet, draw(st.integers(1, 3)))["input"]


def _chip(
    rows: int, cols: int, dataflow: str, overlap: bool, kib: float, undersized: str
) -> ChipConfig:
    return ChipConfig().with_values({
        "array.rows": rows, "array.cols": cols, "array.dataflow": dataflow,
        "array.fold_overlap": overlap, "sram.ifmap.size_kib": kib,
        "sram.weight.size_kib": kib, "sram.ofmap.size_kib": kib, "sram.undersized": undersized,
    })  # fmt: skip


chips = st.builds(
    _chip,
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    overlap=st.booleans(),
    kib=st.sampled_from([1 / 64, 1 / 32, 1 / 16, 1 / 8, 64]),  # tiny: K split across passes
    undersized=st.sampled_from(["error", "stream"]),  # stream: too-tiny buffers still run
)


@settings(max_examples=150, deadline=None)
@given(small_layers(), chips)
def test_pe_level_array_gives_the_engines_accumulators_and_cycles(
    case: tuple[QuantizedNetwork, np.ndarray], chip: ChipConfig
) -> None:
    qnet, x = case
    batch = x.shape[0]
    layer = qnet.network.layer("layer")
    try:
        schedule = schedules_for(qnet.network, chip, batch)["layer"]
    except InputError:
        assume(False)  # no tile fits these buffers
    engine, _ = engine_accumulators(qnet, x, schedule, Accumulator())
    ifmap, weight = centred_gemm(qnet, x)
    array = chip.array
    run = simulate_gemm(ifmap, weight, array.rows, array.cols, array.dataflow, array.fold_overlap)
    bias = qnet.weights["layer"].bias.astype(np.int64).reshape(engine.shape[0], 1, -1)
    np.testing.assert_array_equal(run.output.astype(np.int64) + bias, engine)
    timing = time_layer(map_layer(layer, chip, batch), chip)
    assert run.cycles == timing.compute_cycles
    assert (run.ifmap_reads, run.weight_reads, run.ofmap_writes, run.ofmap_reads) == (
        timing.sram_ifmap_reads, timing.sram_weight_reads, timing.sram_ofmap_writes,
        timing.sram_ofmap_reads,
    )  # fmt: skip
    event(f"{array.dataflow}, K passes > 1: {len(schedule.k_chunks) > 1}")

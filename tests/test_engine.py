"""The functional engine: fast tile-by-tile execution against plain models.

The reference is `conv2d_accumulate` (exact int64, NCHW, no schedule) followed by the
requantization of the mode. The engine must match it for any fold grid the mapper produces and
any tiling the memory model chooses, and must *not* match it when a schedule drops or repeats a
fold or K pass, or skips an M tile: the schedule is really executed. With narrow saturating
accumulators the order of additions shows, and must be that of `tiled_hardware_model`, a walk
of the tiling's loop nest one addition at a time.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from qnets import (
    centred_gemm,
    engine_accumulators,
    input_codes,
    one_layer,
    quant_params,
    weights_for,
)

from accel.config import ArrayConfig, ChipConfig
from accel.errors import InputError
from accel.functional import conv, requant
from accel.functional.accumulate import Accumulator
from accel.functional.calibrate import quantize_network
from accel.functional.engine import execute, prepare, run, schedules_for
from accel.functional.schedule import Schedule
from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.memory.model import model_memory
from accel.memory.tiling import Tiling
from accel.model.ops import Activation, Conv, FullyConnected, Shape
from accel.model.quantized import QuantizedNetwork, QuantizedWeights, QuantParams
from accel.perf.timing import time_layer
from accel.simulation import run_functional


def reference_conv(qnet: QuantizedNetwork, x: np.ndarray, mode: str) -> np.ndarray:
    """The single conv layer of `qnet`, computed layer at a time from int64 accumulators."""
    layer = qnet.network.layers[0]
    op, w = layer.op, qnet.weights["layer"]
    assert isinstance(op, Conv)
    xq, yq = qnet.activations["input"], qnet.activations["layer"]
    pads = op.pads(x.shape[2], x.shape[3])
    acc = conv.conv2d_accumulate(x, xq.zero_point, w.weight, w.bias, strides=op.stride,
                                 pads=pads, dilations=op.dilation, groups=op.groups)  # fmt: skip
    scales = np.broadcast_to(w.weight_scales, (op.out_channels,))
    low, high = requant.activation_bounds(op.activation or "none", yq.scale, yq.zero_point,
                                          yq.dtype, mode)  # fmt: skip
    if mode == "onnx":
        s = requant.onnx_requant_scale(xq.scale, scales, yq.scale)
        return requant.requantize_onnx(acc, s, yq.zero_point, yq.dtype, act_min=low, act_max=high)
    m, sh = requant.tflite_conv_multipliers(xq.scale, scales, yq.scale)
    return requant.requantize_tflite(acc, m, sh, yq.zero_point, yq.dtype, act_min=low, act_max=high)


@st.composite
def conv_layers(draw: st.DrawFn) -> tuple[QuantizedNetwork, np.ndarray, ChipConfig]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups = draw(st.sampled_from([1, 1, 2, 4]))
    cg = 1 if groups == 4 else draw(st.integers(1, 6))
    op = Conv(
        out_channels=groups * draw(st.integers(1, 5)), kernel=draw(st.integers(1, 3)),
        stride=draw(st.integers(1, 2)), padding=draw(st.integers(0, 2)), groups=groups,
        dilation=draw(st.integers(1, 2)), activation=draw(st.sampled_from([None, "relu6"])),
    )  # fmt: skip
    hw = draw(st.integers(5, 8))
    weights = weights_for(draw, rng, (op.out_channels, cg, *op.kernel), full_range=True)
    x = quant_params(draw, np.int8)
    y = QuantParams(x.scale * float(weights.weight_scales[0]) * 2.0 ** draw(st.integers(2, 9)), 3)
    qnet = one_layer(op, {"input": Shape(groups * cg, hw, hw)}, {"input": x, "layer": y}, weights)
    array = ArrayConfig(rows=draw(st.integers(1, 7)), cols=draw(st.integers(1, 7)),
                        dataflow=draw(st.sampled_from(["os", "ws", "is"])))  # fmt: skip
    return qnet, input_codes(rng, qnet, draw(st.integers(1, 3)))["input"], ChipConfig(array=array)


def _schedules(qnet: QuantizedNetwork, chip: ChipConfig, batch: int) -> dict[str, Schedule]:
    mapping = map_layer(qnet.network.layers[0], chip, batch).array
    assert mapping is not None
    return {"layer": Schedule.from_array_mapping(mapping)}


@settings(max_examples=60, deadline=None)
@given(conv_layers(), st.sampled_from(["onnx", "tflite"]))
def test_engine_matches_the_plain_reference_on_any_fold_grid(
    case: tuple[QuantizedNetwork, np.ndarray, ChipConfig], mode: str
) -> None:
    qnet, x, chip = case
    schedules = _schedules(qnet, chip, x.shape[0])
    got = run(prepare(qnet, mode), {"input": x}, schedules).outputs["layer"]  # type: ignore[arg-type]
    np.testing.assert_array_equal(got, reference_conv(qnet, x, mode))


def _ws_case() -> tuple[QuantizedNetwork, np.ndarray, Schedule]:
    network = load_network("lenet5")
    qnet = quantize_network(network, images=2)
    conv2 = network.layer("conv2")  # K = 5 * 5 * 6 = 150: five row folds on a 32-row array
    single = QuantizedNetwork(
        one_layer(conv2.op, {"input": conv2.input_shapes[0]}, {}).network,
        {"input": qnet.activations["pool1"], "layer": qnet.activations["conv2"]},
        {"layer": qnet.weights["conv2"]},
    )
    x = input_codes(np.random.default_rng(0), single, 2)["input"]
    schedule = _schedules(single, ChipConfig(), 2)["layer"]
    assert len(schedule.k_chunks) == 5
    return single, x, schedule


@pytest.mark.parametrize(
    "broken",
    [
        lambda s: Schedule(s.m, s.k, s.n, s.m_chunks, s.k_chunks[:2] + s.k_chunks[3:], s.n_chunks),
        lambda s: Schedule(s.m, s.k, s.n, s.m_chunks, s.k_chunks + s.k_chunks[-1:], s.n_chunks),
        lambda s: Schedule(s.m, s.k, s.n, ((0, s.m // 2),), s.k_chunks, s.n_chunks),
    ],
    ids=["dropped K fold", "repeated K fold", "missing M tile"],
)
def test_a_broken_schedule_gives_wrong_outputs(broken: object) -> None:
    qnet, x, schedule = _ws_case()
    prepared = prepare(qnet)
    good = run(prepared, {"input": x}, {"layer": schedule}).outputs["layer"]
    np.testing.assert_array_equal(good, reference_conv(qnet, x, "onnx"))
    bad = run(prepared, {"input": x}, {"layer": broken(schedule)}).outputs["layer"]  # type: ignore[operator]
    assert np.count_nonzero(bad != good) > 0


def test_batch_equals_images_one_at_a_time() -> None:
    network = load_network("mobilenet_v3_small", {"resolution": 32})
    prepared = prepare(quantize_network(network, images=1))
    x = input_codes(np.random.default_rng(1), prepared.qnet, 3)["input"]
    together = run(prepared, {"input": x}, {}).outputs
    for i in range(3):
        alone = run(prepared, {"input": x[i : i + 1]}, {}).outputs
        for name, value in alone.items():
            np.testing.assert_array_equal(together[name][i : i + 1], value)


def test_narrow_accumulators_are_reported_per_layer() -> None:
    qnet, x, schedule = _ws_case()
    prepared = prepare(qnet)
    exact = reference_conv(qnet, x, "onnx")
    for overflow in ("wrap", "saturate"):
        result = run(prepared, {"input": x}, {"layer": schedule}, Accumulator(12, overflow))  # type: ignore[arg-type]
        assert result.overflowed["layer"] > 0
        assert np.count_nonzero(result.outputs["layer"] != exact) > 0
    wide = run(prepared, {"input": x}, {"layer": schedule}, Accumulator(24, "saturate"))
    assert wide.overflowed == {"layer": 0}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, r"input 'input' must be given"),
        ({"input": np.zeros((1, 1, 32, 32), np.uint8)}, r"input 'input' must be int8, not uint8"),
        ({"input": np.zeros((1, 1, 28, 28), np.int8)}, r"must have shape \(N, 1, 32, 32\)"),
    ],
)
def test_bad_inputs_name_the_rule(inputs: dict[str, np.ndarray], message: str) -> None:
    prepared = prepare(quantize_network(load_network("lenet5"), images=1))
    with pytest.raises(InputError, match=message):
        run(prepared, inputs, {})


def test_tflite_mode_refuses_functions_it_does_not_implement() -> None:
    x, y = QuantParams(0.1, 0), QuantParams(0.05, -20)  # TFLite's LOGISTIC needs 1/256, -128
    qnet = one_layer(
        Activation(function="sigmoid"), {"input": Shape(2, 2, 2)}, {"input": x, "layer": y}
    )
    with pytest.raises(InputError, match=r"layer 'layer': a tflite sigmoid output must be"):
        prepare(qnet, "tflite")


def test_execute_uses_the_chips_mode_accumulator_and_folds() -> None:
    network = load_network("lenet5")
    qnet = quantize_network(network, images=1)
    x = input_codes(np.random.default_rng(4), qnet, 1)
    narrow = ChipConfig().with_values(
        {"array.accumulator_bits": 14, "array.accumulator_overflow": "saturate"}
    )
    result = execute(qnet, x, narrow)
    assert (result.mode, result.accumulator) == ("onnx", Accumulator(14, "saturate"))
    assert result.overflowed["conv2"] > 0 and set(result.overflowed) == {
        "conv1", "conv2", "conv3", "fc4", "fc5"
    }  # fmt: skip
    wide = execute(qnet, x)
    assert sum(wide.overflowed.values()) == 0
    np.testing.assert_array_equal(wide.outputs["conv2"], run(prepare(qnet), x, {}).outputs["conv2"])


# The engine along the memory model's tiling: K split across passes on chips with tiny buffers.


def _narrow(value: int, accumulator: Accumulator) -> int:
    low, high = -accumulator.limit - 1, accumulator.limit
    if accumulator.overflow == "saturate":
        return min(max(value, low), high)
    return (value - low) % (1 << accumulator.bits) + low


def tiled_hardware_model(
    a: np.ndarray, w: np.ndarray, bias: np.ndarray, chip: ChipConfig, tiling: Tiling,
    accumulator: Accumulator,
) -> tuple[np.ndarray, int]:  # fmt: skip
    """(groups, M, N) accumulators of the documented hardware, one addition at a time, walking
    the tiling's loop nest (groups outermost, then its loop order), and how many differ from
    the exact sums. Accumulators start at the bias. ws / is: every row fold of a K tile is a
    chain down a PE column from 0, added to the accumulator. os: a PE sums its K tile from 0
    and drains it into the accumulator, unless the next step computes the same output tile of
    one fold (only K moved on): then the sum stays in the PE and continues."""
    groups, m, k = a.shape
    n, rows, cols = w.shape[2], chip.array.rows, chip.array.cols
    sizes = {"m": (m, tiling.m_tile), "k": (k, tiling.k_tile), "n": (n, tiling.n_tile)}
    tile_ranges = {d: [(s, min(s + t, total)) for s in range(0, total, t)]
                   for d, (total, t) in sizes.items()}  # fmt: skip
    order = tiling.loop_order
    steps = [dict(zip(order, combo, strict=True)) for combo in
             itertools.product(*(range(len(tile_ranges[d])) for d in order))]  # fmt: skip
    out = np.array([[[int(bias[g * n + j]) for j in range(n)]] * m for g in range(groups)],
                   dtype=object)  # fmt: skip
    for g in range(groups):
        held: dict[tuple[int, int], int] = {}  # os: sums kept in the PEs between steps
        for i, step in enumerate(steps):
            (m0, m1), (k0, k1), (n0, n1) = (tile_ranges[d][step[d]] for d in "mkn")
            outputs_of = [(s["m"], s["n"]) for s in (steps[i - 1] if i else {}, step,
                          steps[i + 1] if i + 1 < len(steps) else {}) if s]  # fmt: skip
            one_fold = chip.array.dataflow == "os" and m1 - m0 <= rows and n1 - n0 <= cols
            continues = one_fold and i > 0 and outputs_of[0] == outputs_of[1]
            keeps = one_fold and i + 1 < len(steps) and outputs_of[-1] == outputs_of[-2]
            if chip.array.dataflow == "os":
                chains = [(k0, k1)]
            else:
                chains = [(s, min(s + rows, k1)) for s in range(k0, k1, rows)]
            for row, col in itertools.product(range(m0, m1), range(n0, n1)):
                for c0, c1 in chains:
                    chain = held.pop((row, col), 0) if continues else 0
                    for kk in range(c0, c1):
                        chain = _narrow(chain + int(a[g, row, kk]) * int(w[g, kk, col]), accumulator)
                    if keeps:
                        held[(row, col)] = chain
                    else:
                        out[g, row, col] = _narrow(out[g, row, col] + chain, accumulator)
    exact = np.matmul(a, w) + bias.reshape(groups, 1, n)
    return out.astype(np.int64), int(np.count_nonzero(out.astype(np.int64) != exact))


def _tiny_chip(dataflow: str, rows: int, cols: int, kib: tuple[float, float, float],
               single_ofmap: bool = False, undersized: str = "error") -> ChipConfig:  # fmt: skip
    return ChipConfig().with_values({
        "array.rows": rows, "array.cols": cols, "array.dataflow": dataflow,
        "sram.ifmap.size_kib": kib[0], "sram.weight.size_kib": kib[1],
        "sram.ofmap.size_kib": kib[2], "sram.ofmap.double_buffered": not single_ofmap,
        "sram.undersized": undersized,
    })  # fmt: skip


def _small_bias(qnet: QuantizedNetwork, rng: np.random.Generator) -> QuantizedNetwork:
    """The same layer with biases of a few hundred, so narrow accumulators do not start full."""
    w = qnet.weights["layer"]
    bias = rng.integers(-500, 500, w.bias.shape).astype(np.int32)
    weights = QuantizedWeights(w.weight, w.weight_scales, bias, w.weight_zero_points)
    return QuantizedNetwork(qnet.network, qnet.activations, {"layer": weights})


@st.composite
def tiled_cases(draw: st.DrawFn) -> tuple[QuantizedNetwork, np.ndarray, ChipConfig]:
    """Small conv / fc layers on small arrays with buffers of 1/16 .. 1 KiB (K often split),
    half of them streaming operands whose smallest tile does not fit (`sram.undersized`)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, hw = draw(st.integers(1, 8)), draw(st.integers(3, 6))
    if draw(st.integers(0, 3)) == 0:
        op: Conv | FullyConnected = FullyConnected(out_features=draw(st.integers(1, 6)))
        groups, shape = 1, (cg, hw, hw)
    else:
        op = Conv(out_channels=groups * draw(st.integers(1, 4)), kernel=draw(st.integers(1, 3)),
                  stride=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)),
                  dilation=draw(st.integers(1, 2)), groups=groups)  # fmt: skip
        shape = (groups * cg, hw, hw)
    weight_shape = (op.out_features, cg * hw * hw) if isinstance(op, FullyConnected) else (
        op.out_channels, cg, *op.kernel)  # fmt: skip
    weights = weights_for(draw, rng, weight_shape, full_range=True, uint8=True)
    x, y = quant_params(draw, np.int8), QuantParams(2.0**-2, 0)
    try:
        qnet = one_layer(op, {"input": Shape(*shape)}, {"input": x, "layer": y}, weights)
    except InputError:
        assume(False)  # the dilated kernel does not fit this ifmap
    kib = st.sampled_from([1 / 64, 1 / 16, 1 / 16, 1 / 8, 1 / 4, 1])
    chip = _tiny_chip(draw(st.sampled_from(["os", "ws", "is"])), draw(st.integers(1, 5)),
                      draw(st.integers(1, 5)), (draw(kib), draw(kib), draw(kib)),
                      draw(st.booleans()), draw(st.sampled_from(["error", "stream"])))  # fmt: skip
    batch = draw(st.integers(1, 2))
    return _small_bias(qnet, rng), input_codes(rng, qnet, batch)["input"], chip


@settings(max_examples=80, deadline=None)
@given(tiled_cases(), st.integers(12, 20), st.sampled_from(["wrap", "saturate"]))
def test_engine_accumulates_as_the_tiling_runs(
    case: tuple[QuantizedNetwork, np.ndarray, ChipConfig], bits: int, overflow: str
) -> None:
    qnet, x, chip = case
    try:
        schedule = schedules_for(qnet.network, chip, x.shape[0])["layer"]
    except InputError:
        assume(False)  # no tile fits these buffers
    narrow = Accumulator(bits, overflow)  # type: ignore[arg-type]
    mapping = map_layer(qnet.network.layer("layer"), chip, x.shape[0])
    tiling = model_memory(mapping, time_layer(mapping, chip), chip).tiling
    assert tiling is not None
    a, w = centred_gemm(qnet, x)
    expected = tiled_hardware_model(a, w, qnet.weights["layer"].bias, chip, tiling, narrow)
    got = engine_accumulators(qnet, x, schedule, narrow)
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1]
    event(f"K passes > 1: {len(schedule.k_chunks) > 1}, narrowed: {got[1] > 0}")
    event(f"streamed: {'+'.join(tiling.streamed) or 'none'}")


@pytest.mark.parametrize(
    ("dataflow", "kib", "in_pes"),
    [
        ("os", (1 / 4, 1 / 16, 1 / 4), False),  # K tiles of one tap: every product drains
        ("os", (1 / 4, 1 / 8, 1 / 4), True),  # single-fold tiles, K innermost: sums stay in PEs
        ("ws", (1 / 4, 1 / 16, 1 / 4), False),
        ("is", (1 / 4, 1 / 4, 1 / 4), False),
    ],
)
def test_k_split_across_passes_is_exact_and_saturates_in_pass_order(
    dataflow: str, kib: tuple[float, float, float], in_pes: bool
) -> None:
    """A 3×3 conv (K = 72) on a 4×4 array whose buffers force several K passes: wrap-around
    32-bit accumulators give the plain reference's outputs bit for bit; a 14-bit saturating
    accumulator gives what the tiling's additions, one at a time, give."""
    rng = np.random.default_rng(7)
    op = Conv(out_channels=6, kernel=3, padding=1)
    weights = QuantizedWeights(rng.integers(-127, 128, (6, 8, 3, 3)).astype(np.int8),
                               np.full(6, 2.0**-7, np.float32), np.zeros(6, np.int32))  # fmt: skip
    acts = {"input": QuantParams(2.0**-4, -3), "layer": QuantParams(2.0**-2, 5)}
    qnet = _small_bias(one_layer(op, {"input": Shape(8, 6, 6)}, acts, weights), rng)
    x = input_codes(rng, qnet, 2)["input"]
    chip = _tiny_chip(dataflow, 4, 4, kib)
    schedule = schedules_for(qnet.network, chip, 2)["layer"]
    assert len(schedule.k_chunks) > 1 and schedule.psums_in_pes == in_pes
    wide = run(prepare(qnet), {"input": x}, {"layer": schedule}).outputs["layer"]
    np.testing.assert_array_equal(wide, reference_conv(qnet, x, "onnx"))
    mapping = map_layer(qnet.network.layer("layer"), chip, 2)
    tiling = model_memory(mapping, time_layer(mapping, chip), chip).tiling
    assert tiling is not None
    narrow = Accumulator(14, "saturate")
    a, w = centred_gemm(qnet, x)
    expected, changed = tiled_hardware_model(a, w, qnet.weights["layer"].bias, chip, tiling,
                                             narrow)  # fmt: skip
    got, overflowed = engine_accumulators(qnet, x, schedule, narrow)
    np.testing.assert_array_equal(got, expected)
    assert overflowed == changed > 0


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize(
    "broken",
    [
        lambda s: replace(s, k_chunks=s.k_chunks[:1] + s.k_chunks[2:]),
        lambda s: replace(s, k_chunks=s.k_chunks[:2] + s.k_chunks[1:]),
        lambda s: replace(s, m_chunks=s.m_chunks[:-2] + s.m_chunks[-1:]),
    ],
    ids=["dropped K pass", "repeated K pass", "skipped M tile"],
)
def test_a_corrupted_tiling_schedule_gives_wrong_outputs(dataflow: str, broken: object) -> None:
    rng = np.random.default_rng(11)
    op = Conv(out_channels=6, kernel=3, padding=1)
    weights = weights_for_seed(rng, (6, 8, 3, 3))
    acts = {"input": QuantParams(2.0**-4, -3), "layer": QuantParams(2.0**-6, 5)}
    qnet = one_layer(op, {"input": Shape(8, 6, 6)}, acts, weights)
    x = input_codes(rng, qnet, 2)["input"]
    chip = _tiny_chip(dataflow, 4, 4, (1 / 4, 1 / 16, 1 / 4))
    schedule = schedules_for(qnet.network, chip, 2)["layer"]
    assert len(schedule.k_chunks) >= 3 and len(schedule.m_chunks) >= 2
    prepared = prepare(qnet)
    good = run(prepared, {"input": x}, {"layer": schedule}).outputs["layer"]
    np.testing.assert_array_equal(good, reference_conv(qnet, x, "onnx"))
    bad = run(prepared, {"input": x}, {"layer": broken(schedule)}).outputs["layer"]  # type: ignore[operator]
    assert np.count_nonzero(bad != good) > 0


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_streamed_operands_keep_the_outputs_bit_exact(dataflow: str) -> None:
    """16-byte buffers hold no tile at all: with `sram.undersized: stream` the memory model
    still tiles the layer in whole folds, and the engine runs those tiles bit for bit."""
    rng = np.random.default_rng(5)
    op = Conv(out_channels=6, kernel=3, padding=1)
    acts = {"input": QuantParams(2.0**-4, -3), "layer": QuantParams(2.0**-6, 5)}
    qnet = one_layer(op, {"input": Shape(8, 6, 6)}, acts, weights_for_seed(rng, (6, 8, 3, 3)))
    x = input_codes(rng, qnet, 2)["input"]
    chip = _tiny_chip(dataflow, 4, 4, (1 / 64, 1 / 64, 1 / 64), undersized="stream")
    mapping = map_layer(qnet.network.layer("layer"), chip, 2)
    tiling = model_memory(mapping, time_layer(mapping, chip), chip).tiling
    assert tiling is not None and tiling.streamed
    schedule = schedules_for(qnet.network, chip, 2)["layer"]
    assert schedule == Schedule.from_tiling(mapping.array, tiling)  # type: ignore[arg-type]
    outputs = execute(qnet, {"input": x}, chip).outputs["layer"]
    np.testing.assert_array_equal(outputs, reference_conv(qnet, x, "onnx"))


def test_weight_zero_points_must_be_one_or_one_per_channel() -> None:
    rng = np.random.default_rng(12)
    w = weights_for_seed(rng, (6, 8, 3, 3))
    weights = QuantizedWeights(w.weight.view(np.uint8), w.weight_scales, w.bias,
                               np.array([131, 7], np.int32))  # fmt: skip
    acts = {"input": QuantParams(2.0**-4, 3, "uint8"), "layer": QuantParams(2.0**-6, 5)}
    qnet = one_layer(Conv(out_channels=6, kernel=3), {"input": Shape(8, 6, 6)}, acts, weights)
    with pytest.raises(InputError, match=r"layer 'layer': weight zero points must be one or "
                       r"one per output channel \(6\), not 2"):  # fmt: skip
        prepare(qnet)


def weights_for_seed(rng: np.random.Generator, shape: tuple[int, ...]) -> QuantizedWeights:
    weight = rng.integers(-127, 128, shape).astype(np.int8)
    return QuantizedWeights(weight, np.full(shape[0], 2.0**-7, np.float32),
                            rng.integers(-500, 500, shape[0]).astype(np.int32))  # fmt: skip


def test_run_functional_executes_the_reported_tiling() -> None:
    """With saturating accumulators an os layer's K passes are observable: run_functional's
    outputs are those of the memory model's tiles, not those of the untiled fold grid."""
    network = load_network("lenet5")
    chip = ChipConfig().with_values({
        "array.rows": 4, "array.cols": 4, "array.dataflow": "os",
        "array.accumulator_bits": 16, "array.accumulator_overflow": "saturate",
        "sram.ifmap.size_kib": 1, "sram.weight.size_kib": 0.5, "sram.ofmap.size_kib": 1,
    })  # fmt: skip
    result = run_functional(network, chip, batch=1)
    schedules = schedules_for(network, chip, 1)
    assert len(schedules["conv2"].k_chunks) == 6 and not schedules["conv2"].psums_in_pes
    prepared, x = prepare(result.qnet), {"input": result.run.outputs["input"]}
    narrow = Accumulator(16, "saturate")
    tiled = run(prepared, x, schedules, narrow).outputs
    mappings = {layer.name: map_layer(layer, chip, 1).array for layer in network.layers}
    grid = {name: Schedule.from_array_mapping(m) for name, m in mappings.items() if m is not None}
    folds = run(prepared, x, grid, narrow).outputs
    for name in schedules:
        np.testing.assert_array_equal(result.run.outputs[name], tiled[name])
    assert np.count_nonzero(folds["conv2"] != tiled["conv2"]) > 0


@pytest.mark.parametrize(("network", "batch"), [("mobilenet_v2", 1), ("resnet18", 2)])
def test_the_engine_is_handed_the_tilings_the_simulation_chose(network: str, batch: int) -> None:
    """schedules_from(a simulation's layers) is what schedules_for would search for again."""
    from accel.config import ChipConfig
    from accel.functional.engine import schedules_for, schedules_from
    from accel.io.sources import load_network
    from accel.simulation import simulate_network

    net, chip = load_network(network, {}), ChipConfig()
    handed = schedules_from(simulate_network(net, chip, batch).layers)
    assert handed == schedules_for(net, chip, batch)
    assert len(handed) == sum(1 for layer in net.layers if layer.uses_array)

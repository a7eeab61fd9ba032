"""The functional engine: fast fold-by-fold execution against a plain layer-at-a-time reference.

The reference is `conv2d_accumulate` (exact int64, NCHW, no schedule) followed by the
requantization of the mode. The engine must match it for any schedule the mapper produces, and
must *not* match it when a schedule drops or repeats a fold: the schedule is really executed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qnets import input_codes, one_layer, quant_params, weights_for

from accel.config import ArrayConfig, ChipConfig
from accel.errors import InputError
from accel.functional import conv, requant
from accel.functional.accumulate import Accumulator
from accel.functional.calibrate import quantize_network
from accel.functional.engine import execute, prepare, run
from accel.functional.qmodel import QuantizedNetwork, QuantParams
from accel.functional.schedule import Schedule
from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.model.ops import Activation, Conv, Shape


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
    x, y = QuantParams(0.1, 0), QuantParams(0.05, -20)
    qnet = one_layer(
        Activation(function="hswish"), {"input": Shape(2, 2, 2)}, {"input": x, "layer": y}
    )
    with pytest.raises(InputError, match=r"layer 'layer': tflite mode implements only ReLU/ReLU6"):
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

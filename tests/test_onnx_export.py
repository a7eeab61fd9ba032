"""The engine against onnxruntime end to end: the exported QOperator model, layer by layer.

Every built-in network (at a small resolution) and random single layers (shapes, strides,
asymmetric pads, dilations, groups and depthwise, odd and extreme zero points, power-of-two scales
that create exact .5 ties, K > 4096) run through accel's engine, fold by fold on a random array,
and through onnxruntime; every output byte must agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qnets import input_codes, one_layer, quant_params, weights_for

from accel.check.compare import CheckReport, check_onnxruntime
from accel.config import ArrayConfig, ChipConfig
from accel.errors import InputError
from accel.functional.calibrate import quantize_network
from accel.functional.engine import execute
from accel.functional.inputs import prepare_inputs, random_images
from accel.io.onnx_export import export_quantized_onnx
from accel.io.sources import load_network, zoo_names
from accel.model.ops import Activation, Add, Concat, Conv, FullyConnected, Mul, Shape, Softmax
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import QuantizedNetwork, QuantParams

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

# The smallest resolutions at which each network's downsampling still fits (32 for most).
ZOO_RESOLUTION = {"alexnet": 64, "googlenet": 32, "lenet5": 32}


def engine_vs_onnxruntime(
    qnet: QuantizedNetwork, arrays: dict[str, np.ndarray], chip: ChipConfig | None = None
) -> CheckReport:
    batch = next(iter(arrays.values())).shape[0]
    inputs = prepare_inputs(qnet, arrays, batch)
    outputs = execute(qnet, inputs.quantized, chip).outputs
    return check_onnxruntime(qnet, outputs, inputs.real)


# alexnet_v1's LRN layers have no int8 calibration (an LRN runs in float32 only inside a model
# file quantized elsewhere): that network is simulated, not checked.
NOT_CALIBRATED = {"alexnet_v1"}


@pytest.mark.parametrize("name", [name for name in zoo_names() if name not in NOT_CALIBRATED])
def test_every_zoo_network_is_bit_exact(name: str) -> None:
    network = load_network(name, {"resolution": ZOO_RESOLUTION.get(name, 32)})
    qnet = quantize_network(network, images=2)
    report = engine_vs_onnxruntime(qnet, random_images(network, 2, seed=1), ChipConfig())
    assert report.layers_checked == len(network.layers)
    assert (report.mismatches, report.mismatched_elements) == (0, 0), report.mismatched_layers


def test_the_uncalibrated_zoo_network_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="layer 'norm1' must be a kind calibration can run"):
        quantize_network(load_network("alexnet_v1"), images=1)


def test_uint8_activations_are_bit_exact() -> None:
    network = load_network("mobilenet_v3_small", {"resolution": 32})
    qnet = quantize_network(network, images=2, activation_dtype="uint8")
    assert {p.dtype for p in qnet.activations.values()} == {"uint8"}
    report = engine_vs_onnxruntime(qnet, random_images(network, 1, seed=2))
    assert report.mismatches == 0, report.mismatched_layers


def _chip(draw: st.DrawFn) -> ChipConfig:
    array = ArrayConfig(
        rows=draw(st.integers(1, 9)),
        cols=draw(st.integers(1, 9)),
        dataflow=draw(st.sampled_from(["os", "ws", "is"])),
    )
    return ChipConfig(array=array)


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[QuantizedNetwork, dict[str, np.ndarray], ChipConfig]:
    dtype = draw(st.sampled_from([np.int8, np.uint8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    depthwise = draw(st.booleans())
    groups = draw(st.integers(2, 6)) if depthwise else draw(st.sampled_from([1, 1, 2, 3]))
    cg = 1 if depthwise else draw(st.integers(1, 5))
    mg = draw(st.sampled_from([1, 1, 2])) if depthwise else draw(st.integers(1, 6))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))  # asymmetric on purpose
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True)]
    hw = [
        draw(st.integers(max(1, s - pads[2 * i] - pads[2 * i + 1]), 9)) for i, s in enumerate(span)
    ]
    op = Conv(
        out_channels=groups * mg, kernel=kernel, stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        padding=pads, dilation=dilation, groups=groups,
        activation=draw(st.sampled_from([None, "relu", "relu6"])),
    )  # fmt: skip
    weights = weights_for(draw, rng, (groups * mg, cg, *kernel), draw(st.booleans()))
    x = quant_params(draw, dtype)
    y_exp = draw(st.integers(0, 10))  # output scale = x_s * w_s * 2**e: many exact ties
    y_scale = x.scale * float(weights.weight_scales[0]) * 2.0**y_exp
    if draw(st.booleans()):
        y_scale *= draw(st.floats(0.5, 2.0))
    y = QuantParams(y_scale, draw(st.integers(*_range(dtype))), x.dtype)
    qnet = one_layer(op, {"input": Shape(groups * cg, *hw)}, {"input": x, "layer": y}, weights)
    return qnet, input_codes(rng, qnet, draw(st.integers(1, 2))), _chip(draw)


def _range(dtype: type) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_random_conv_layers_are_bit_exact(
    case: tuple[QuantizedNetwork, dict[str, np.ndarray], ChipConfig],
) -> None:
    qnet, arrays, chip = case
    report = engine_vs_onnxruntime(qnet, arrays, chip)
    assert report.mismatches == 0, report


def test_deep_reduction_and_fc_are_bit_exact() -> None:
    """K = 520 * 3 * 3 = 4680 > 4096 in a conv, and a 5000-input fc, on a 16x16 ws array."""
    rng = np.random.default_rng(7)
    x, y = QuantParams(2.0**-5, -3), QuantParams(2.0**-1, 5)
    for op, shape, wshape in (
        (Conv(out_channels=3, kernel=3, padding=1), Shape(520, 3, 3), (3, 520, 3, 3)),
        (FullyConnected(out_features=7, activation="relu"), Shape(5000, 1, 1), (7, 5000)),
    ):
        weight = rng.integers(-127, 128, wshape).astype(np.int8)
        from accel.model.quantized import QuantizedWeights

        scales = np.full(wshape[0], 2.0**-7, np.float32)
        bias = rng.integers(-1000, 1000, wshape[0]).astype(np.int32)
        qnet = one_layer(op, {"input": shape}, {"input": x, "layer": y},
                         QuantizedWeights(weight, scales, bias))  # fmt: skip
        chip = ChipConfig(array=ArrayConfig(rows=16, cols=16))
        report = engine_vs_onnxruntime(qnet, input_codes(rng, qnet, 2), chip)
        assert report.mismatches == 0, report


@st.composite
def pool_cases(draw: st.DrawFn) -> tuple[QuantizedNetwork, dict[str, np.ndarray]]:
    dtype = draw(st.sampled_from([np.int8, np.uint8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["max", "avg", "global"]))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    pads = tuple(draw(st.integers(0, kernel[i // 2] - 1)) for i in range(4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    hw = (draw(st.integers(kernel[0], 9)), draw(st.integers(kernel[1], 9)))
    ceil = draw(st.booleans())
    op: MaxPool | AvgPool | GlobalAvgPool
    if kind == "max":
        dilation = (draw(st.integers(1, 2)), 1)
        hw = (hw[0] + kernel[0], hw[1])
        op = MaxPool(kernel=kernel, stride=stride, padding=pads, dilation=dilation, ceil_mode=ceil)
    elif kind == "avg":
        op = AvgPool(kernel=kernel, stride=stride, padding=pads, ceil_mode=ceil,
                     count_include_pad=draw(st.booleans()))  # fmt: skip
    else:
        op = GlobalAvgPool()
    x = quant_params(draw, dtype)
    y = x if kind == "max" else quant_params(draw, dtype, -9, -2)
    qnet = one_layer(op, {"input": Shape(3, *hw)}, {"input": x, "layer": y})
    return qnet, input_codes(rng, qnet, 2)


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_random_pooling_layers_are_bit_exact(
    case: tuple[QuantizedNetwork, dict[str, np.ndarray]],
) -> None:
    report = engine_vs_onnxruntime(*case)
    assert report.mismatches == 0, report


@st.composite
def vector_cases(draw: st.DrawFn) -> tuple[QuantizedNetwork, dict[str, np.ndarray]]:
    dtype = draw(st.sampled_from([np.int8, np.uint8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = Shape(draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    kind = draw(st.sampled_from(["add", "mul", "concat", "activation", "softmax"]))
    inputs = {"a": shape}
    if kind == "add":
        op = Add(activation=draw(st.sampled_from([None, "relu", "relu6"])))
        inputs.update(b=shape, c=shape) if draw(st.booleans()) else inputs.update(b=shape)
    elif kind == "mul":  # SE scale: per channel, or full shape
        op = Mul()
        inputs["b"] = Shape(shape.channels, 1, 1) if draw(st.booleans()) else shape
    elif kind == "concat":
        op = Concat()
        inputs["b"] = Shape(draw(st.integers(1, 4)), shape.height, shape.width)
    elif kind == "activation":
        functions = ["relu", "relu6", "hswish", "hsigmoid", "sigmoid", "leaky_relu"]
        op = Activation(function=draw(st.sampled_from(functions)), alpha=draw(st.floats(0.01, 0.3)))
    else:
        op = Softmax()
    params = {name: quant_params(draw, dtype, -6, 0) for name in [*inputs, "layer"]}
    qnet = one_layer(op, inputs, params)
    return qnet, input_codes(rng, qnet, draw(st.integers(1, 2)))


@settings(max_examples=80, deadline=None)
@given(vector_cases())
def test_random_vector_layers_are_bit_exact(
    case: tuple[QuantizedNetwork, dict[str, np.ndarray]],
) -> None:
    report = engine_vs_onnxruntime(*case)
    assert report.mismatches == 0, report


def test_export_writes_a_valid_model_with_every_layer_as_output(tmp_path: Path) -> None:
    network = load_network("resnet18", {"resolution": 32})
    qnet = quantize_network(network, images=1)
    path = tmp_path / "resnet18.onnx"
    export_quantized_onnx(qnet, path)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    outputs = [o.name for o in model.graph.output]
    assert outputs == ["input.quantized", *(layer.name for layer in network.layers)]
    ops = {node.op_type for node in model.graph.node}
    assert {"QuantizeLinear", "QLinearConv", "MaxPool", "QLinearAdd"} <= ops
    assert "QLinearGlobalAveragePool" in ops

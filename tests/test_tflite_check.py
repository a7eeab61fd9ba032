"""tflite mode end to end: the engine against TFLite's reference kernels, layer by layer.

Networks in tflite requantization mode, and random single conv / depthwise / fc / pooling / add
layers, are exported one layer at a time to .tflite and run in tflite-micro and LiteRT's reference
resolver; the engine's int8 outputs must agree with each. Skipped without ai-edge-litert.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from qnets import input_codes, one_layer, quant_params, weights_for

from accel.check.tflite_check import check_tflite
from accel.config import ChipConfig
from accel.errors import InputError
from accel.functional.activation_tables import activation_table
from accel.functional.calibrate import quantize_network
from accel.functional.engine import prepare, run
from accel.io.sources import load_network
from accel.model.ops import Activation, Add, Concat, Conv, FullyConnected, Mul, Shape, Softmax
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import QuantizedNetwork, QuantizedWeights, QuantParams
from accel.simulation import run_functional

pytest.importorskip("ai_edge_litert")
TFLITE_CHIP = ChipConfig().with_values({"array.requantization": "tflite"})
UNARY = ("relu", "relu6", "hswish", "hsigmoid", "sigmoid", "leaky_relu", "softmax")
PROBABILITY = QuantParams(1.0 / 256.0, -128)  # TFLite's LOGISTIC and SOFTMAX output


@pytest.mark.parametrize(
    "name",
    ["lenet5", "alexnet?resolution=64", "resnet18", "mobilenet_v2", "googlenet",
     "mobilenet_v3_small", "mobilenet_v3_large", "fcn8s", "unet"],
)
def test_networks_match_tflite_reference_kernels(name: str) -> None:
    network = load_network(name, {} if "?" in name or name == "lenet5" else {"resolution": 32})
    result = run_functional(network, TFLITE_CHIP, batch=2, check=True)
    assert result.check is not None
    section = result.summary()
    assert section["reference"] in ("litert-reference+tflite-micro", "tflite-micro")
    assert (section["mismatches"], section["mismatched_elements"]) == (0, 0)
    unchecked = set(section["unchecked_layers"])
    assert unchecked <= {"flatten"}
    assert section["layers_checked"] == len(network.layers) - len(unchecked)


def test_lenet5_tanh_is_checked_but_for_what_tflite_export_lacks() -> None:
    """The original LeNet-5 in tflite mode: its convs, subsampling, tanh and fc layers match;
    its channel slices and grouped C3 convs (TFLite has no grouped CONV_2D) are not exported to
    one-layer TFLite models yet, so they are listed as unchecked."""
    network = load_network("lenet5_tanh")
    section = run_functional(network, TFLITE_CHIP, batch=2, check=True).summary()
    assert (section["mismatches"], section["mismatched_elements"]) == (0, 0)
    slices = {layer.name for layer in network if layer.kind == "channel_slice"}
    unchecked = set(section["unchecked_layers"])
    assert unchecked == slices | {"C3.a", "C3.b", "C3.c"} and len(slices) == 14
    assert section["layers_checked"] == len(network.layers) - len(unchecked) == 19


def _check(qnet: QuantizedNetwork, arrays: dict[str, np.ndarray]) -> dict[str, object]:
    outputs = run(prepare(qnet, "tflite"), arrays, {}).outputs
    report = check_tflite(qnet, outputs)
    assert report.layers_checked == 1, report
    return report.as_dict()


@st.composite
def layers(draw: st.DrawFn) -> tuple[QuantizedNetwork, dict[str, np.ndarray]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["conv", "depthwise", "fc", "maxpool", "avgpool", "global",
                                 "add", "mul", *UNARY, "mean", "concat"]))  # fmt: skip
    c, h, w = draw(st.integers(1, 5)), draw(st.integers(3, 9)), draw(st.integers(3, 9))
    x = quant_params(draw, np.int8)
    weights = None
    act = draw(st.sampled_from([None, "relu", "relu6"]))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = draw(st.sampled_from(["same", "valid", (1, 1, 1, 1), (0, 1, 1, 0)]))
    inputs = {"input": Shape(c, h, w)}
    y = quant_params(draw, np.int8, -6, 1)
    if kind in ("conv", "depthwise"):
        mult = draw(st.integers(1, 2))
        groups = c if kind == "depthwise" else 1
        out = c * mult if kind == "depthwise" else draw(st.integers(1, 6))
        op = Conv(out_channels=out, kernel=k, stride=stride, padding=pads, groups=groups,
                  dilation=(draw(st.integers(1, 2)), 1), activation=act)  # fmt: skip
        weights = weights_for(draw, rng, (out, c // groups, *k), full_range=False)
    elif kind == "fc":
        op = FullyConnected(out_features=draw(st.integers(1, 8)), activation=act)
        weights = weights_for(draw, rng, (op.out_features, c * h * w), full_range=False)
    elif kind in ("maxpool", "avgpool"):
        pool = MaxPool if kind == "maxpool" else AvgPool
        op = pool(kernel=k, stride=stride, padding=pads if kind == "maxpool" else "same")
        y = x
    elif kind == "global":
        op, y = GlobalAvgPool(), x
    elif kind == "mean":  # a requantizing global average pool is TFLite's MEAN
        op = GlobalAvgPool()
    elif kind in UNARY:
        alpha = draw(st.sampled_from([0.01, 0.2, 0.3]))
        op = Softmax() if kind == "softmax" else Activation(function=kind, alpha=alpha)
        y = {"sigmoid": PROBABILITY, "softmax": PROBABILITY, "relu": x, "relu6": x}.get(kind, y)
    elif kind == "concat":  # inputs quantized unlike the output are requantized (QUANTIZE)
        op = Concat()
        inputs["b"] = Shape(draw(st.integers(1, 4)), h, w)
        y = draw(st.sampled_from([x, quant_params(draw, np.int8)]))
    else:
        op = Add(activation=act) if kind == "add" else Mul()
        inputs["b"] = Shape(c, 1, 1) if kind == "mul" and draw(st.booleans()) else Shape(c, h, w)
    params = {name: quant_params(draw, np.int8) for name in inputs} | {"input": x, "layer": y}
    if kind == "concat" and draw(st.booleans()):
        params["b"] = y
    try:
        qnet = one_layer(op, inputs, params, weights)
    except InputError:  # a dilated kernel wider than the (valid-padded) input
        reject()
    return qnet, input_codes(rng, qnet, draw(st.integers(1, 2)))


@settings(max_examples=120, deadline=None)
@given(layers())
def test_random_layers_match_tflite_reference_kernels(
    case: tuple[QuantizedNetwork, dict[str, np.ndarray]],
) -> None:
    report = _check(*case)
    assert report["mismatches"] == 0, report


def test_layers_tflite_cannot_express_stay_unchecked() -> None:
    x = QuantParams(0.1, 0)
    weights = QuantizedWeights(np.ones((4, 2, 1, 1), np.int8), np.full(4, 0.01, np.float32),
                               np.zeros(4, np.int32))  # fmt: skip
    qnet = one_layer(Conv(out_channels=4, kernel=1, groups=2), {"input": Shape(4, 2, 2)},
                     {"input": x, "layer": x}, weights)  # fmt: skip
    outputs = run(prepare(qnet, "tflite"), {"input": np.zeros((1, 4, 2, 2), np.int8)}, {}).outputs
    report = check_tflite(qnet, outputs)
    assert (report.layers_checked, report.as_dict()["unchecked_layers"]) == (0, ["layer"])


def test_onnx_activation_tables_fail_the_tflite_check() -> None:
    # The check is not vacuous: onnx mode's float h-swish / h-sigmoid tables, put in a tflite
    # run of MobileNetV3-Small, give codes TFLite's fixed-point kernels do not.
    qnet = quantize_network(load_network("mobilenet_v3_small", {"resolution": 32}), images=1)
    prepared = prepare(qnet, "tflite")
    swapped = {name: activation_table(qnet.network.layer(name),
                                      qnet.activations[qnet.network.layer(name).inputs[0]],
                                      qnet.activations[name], "onnx")
               for name in prepared.tables}  # fmt: skip
    codes = input_codes(np.random.default_rng(0), qnet, 2)
    exact = check_tflite(qnet, run(prepared, codes, {}).outputs)
    wrong = check_tflite(qnet, run(replace(prepared, tables=swapped), codes, {}).outputs)
    assert exact.mismatches == 0
    kinds = {qnet.network.layer(name).op.function for name in wrong.mismatched_layers  # type: ignore[union-attr]
             if qnet.network.layer(name).kind == "activation"}  # fmt: skip
    assert kinds == {"hswish", "hsigmoid"}


@pytest.mark.parametrize(
    ("function", "output", "match"),
    [
        ("hswish", QuantParams(0.1, 0, "uint8"), "tflite hswish must be int8 to int8"),
        ("sigmoid", QuantParams(0.1, 0), "sigmoid output must be quantized as"),
        ("relu", QuantParams(0.2, 0), "must keep its input quantization"),
        ("hswish", QuantParams(0.1 / 256, 0), "output scale must exceed input scale / 128"),
    ],
)
def test_tflite_activation_limits(function: str, output: QuantParams, match: str) -> None:
    qnet = one_layer(Activation(function=function), {"input": Shape(2, 2, 2)},
                     {"input": QuantParams(0.1, 0), "layer": output})  # fmt: skip
    with pytest.raises(InputError, match=match):
        prepare(qnet, "tflite")


def test_tflite_softmax_output_must_be_a_probability() -> None:
    qnet = one_layer(Softmax(), {"input": Shape(4, 1, 1)},
                     {"input": QuantParams(0.1, 0), "layer": QuantParams(1 / 256, 0)})  # fmt: skip
    with pytest.raises(InputError, match="tflite softmax must map int8 to"):
        run(prepare(qnet, "tflite"), {"input": np.zeros((1, 4, 1, 1), np.int8)}, {})


def test_softmax_beta_runs_in_tflite_mode_only() -> None:
    # A TFLite SOFTMAX's beta (kept by the importer) scales the differences in tflite mode;
    # onnx mode's QLinearSoftmax has no beta and refuses it rather than ignore it.
    activations = {"input": QuantParams(0.1, 0), "layer": PROBABILITY}
    x = {"input": np.array([10, 0, -5, -20], np.int8).reshape(1, 4, 1, 1)}
    outputs = {}
    for beta in (1.0, 0.5):
        network = one_layer(Softmax(beta=beta), {"input": Shape(4, 1, 1)}, {}).network
        qnet = QuantizedNetwork(network, activations, {}, {})
        outputs[beta] = run(prepare(qnet, "tflite"), x, {}).outputs["layer"]
        assert _check(qnet, x)["mismatches"] == 0
    assert outputs[1.0][0, 0, 0, 0] > outputs[0.5][0, 0, 0, 0]  # a flatter distribution
    with pytest.raises(InputError, match=r"onnx-mode softmax must have beta 1, not 0\.5"):
        run(prepare(qnet, "onnx"), x, {})

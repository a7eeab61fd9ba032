"""Float ops between quantized tensors ("float islands") in models quantized by onnxruntime's
quantize_static without pre-processing, checked bit for bit against onnxruntime running the
file: BatchNormalization left after a quantized conv (ResNet) or before one (DenseNet's
pre-activation), LRN (AlexNet, GoogLeNet) and a Softmax head kept in float32, in QDQ and
QOperator form, per-channel and per-tensor, int8 and uint8 activations; and ResNet-18 exported
by accel and quantized that way, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from conftest import run_accel
from onnx_builders import GraphBuilder
from quantized_models import CONFIGS, QuantConfig, quantize

from accel import simulation
from accel.config import ChipConfig
from accel.functional.kernels.cpu import MODELLED_FLOAT_PATHS, float_path, nchwc_block_size
from accel.io.sources import load_model

ort = pytest.importorskip("onnxruntime")
# These compare with onnxruntime's float kernels on this CPU: only where accel models them.
ON_MODELLED_CPU = pytest.mark.skipif(
    float_path() not in MODELLED_FLOAT_PATHS,
    reason=f"this CPU's MLAS float path ({float_path()}) is not modelled by accel; its float "
    "islands are refused (tests/test_mlas_golden.py checks the modelled paths on every CPU)",
)
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), ON_MODELLED_CPU]


def _head(g: GraphBuilder, x: str, channels: int) -> str:
    return g.gemm(g.node("Flatten", [g.node("GlobalAveragePool", [x])]), channels, 10)


def batchnorm_cnn() -> Any:
    """A ResNet basic block as exported: conv (no bias) → BatchNormalization → ReLU twice,
    the residual add, ReLU, a max pool and the classifier."""
    g = GraphBuilder("batchnorm", [1, 3, 12, 12], opset=13, seed=3)
    x = g.relu(g.bn(g.conv(g.input, 3, 8, 3, bias=False), 8))
    y = g.relu(g.bn(g.conv(x, 8, 8, 3, bias=False), 8))
    y = g.bn(g.conv(y, 8, 8, 3, bias=False), 8)
    x = g.maxpool(g.relu(g.node("Add", [y, x])), 2, 2)
    return g.model([_head(g, x, 8)])


def preactivation_cnn() -> Any:
    """DenseNet's dense layers: concat → BatchNormalization → ReLU → conv, twice, then a
    transition BatchNormalization → ReLU → 1×1 conv → average pool."""
    g = GraphBuilder("preactivation", [1, 3, 10, 10], opset=13, seed=4)
    x, channels = g.conv(g.input, 3, 8, 3), 8
    for _ in range(2):
        y = g.conv(g.relu(g.bn(x, channels)), channels, 4, 3)
        x, channels = g.node("Concat", [x, y], axis=1), channels + 4
    x = g.avgpool(g.conv(g.relu(g.bn(x, channels)), channels, 8, 1, pad=0), 2, 2)
    return g.model([_head(g, x, 8)])


def lrn_cnn(batch: int | str = 1) -> Any:
    """AlexNet's and GoogLeNet's normalisations: LRN after ReLU (AlexNet's constants) and after
    a max pool (a larger alpha and a bias of 2, so the power is far from 1); 6 × 5 × 5 = 150
    elements per image, so Eigen's last two go through powf."""
    g = GraphBuilder("lrn", [batch, 3, 11, 11], opset=13, seed=5)
    x = g.node("LRN", [g.relu(g.conv(g.input, 3, 6, 3, stride=2, pad=0))], size=5,
               alpha=1e-4, beta=0.75, bias=1.0)  # fmt: skip
    x = g.maxpool(x, 3, 1, pad=1)
    x = g.node("LRN", [x], size=3, alpha=0.5, beta=0.75, bias=2.0)
    x = g.relu(g.conv(x, 6, 8, 3))
    return g.model([g.node("Softmax", [_head(g, x, 8)], axis=1)])


def check(path: Path, batch: int = 1) -> simulation.FunctionalResult:
    shapes = [f"input={batch}x3x11x11"] if batch > 1 else []
    model = load_model(str(path), input_shapes=shapes)
    return simulation.run_functional(model.network, ChipConfig(), batch, None, True, 0,
                                   model=model)  # fmt: skip


def _assert_bit_exact(result: simulation.FunctionalResult, layers: int) -> None:
    report = result.check
    assert report is not None and report.extra["replay_reproduces_session"] is True
    assert (report.mismatches, report.mismatched_elements) == (0, 0)
    assert len(result.qnet.network.layers) == layers


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_batchnorm_after_quantized_convs_is_bit_exact(config: QuantConfig,
                                                      tmp_path: Path) -> None:
    result = check(quantize(batchnorm_cnn(), config, tmp_path))
    # 3 convs, 3 BatchNormalizations, add, max pool, global pool, fc; QOperator keeps the two
    # ReLUs after BatchNormalization (the quantizer drops them in QDQ).
    layers = 12 if config.form == "qoperator" else 10
    _assert_bit_exact(result, layers)
    report = result.check
    assert report is not None
    norms = [layer.name for layer in result.qnet.network.layers if layer.kind == "batchnorm"]
    assert len(norms) == 3
    assert {report.extra["float_layers"][name] for name in norms} == {"BatchNormalization"}
    assert report.layers_checked == layers and report.extra["layers_not_compared"] == []


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_preactivation_batchnorm_is_bit_exact(config: QuantConfig, tmp_path: Path) -> None:
    result = check(quantize(preactivation_cnn(), config, tmp_path))
    kinds = [layer.kind for layer in result.qnet.network.layers]
    assert kinds.count("batchnorm") == 3
    # QOperator keeps the three ReLUs after BatchNormalization as float layers.
    _assert_bit_exact(result, 15 if config.form == "qoperator" else 12)
    report = result.check
    assert report is not None and report.layers_checked == len(kinds)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_lrn_is_bit_exact(config: QuantConfig, tmp_path: Path) -> None:
    result = check(quantize(lrn_cnn(), config, tmp_path))
    _assert_bit_exact(result, 8)
    report = result.check
    assert report is not None and report.layers_checked == 8
    lrns = [name for name, op in report.extra["float_layers"].items() if op == "LRN"]
    assert sorted(lrns) == ["lrn5", "lrn7"]


@pytest.mark.parametrize("config", [CONFIGS[1], CONFIGS[6]], ids=lambda c: c.label)
def test_lrn_of_a_batch_is_bit_exact(config: QuantConfig, tmp_path: Path) -> None:
    """Three images: Eigen's packets of four run across image boundaries (450 elements, the
    last two through powf), so the batch is computed as one tensor."""
    result = check(quantize(lrn_cnn("N"), config, tmp_path), batch=3)
    _assert_bit_exact(result, 8)
    report = result.check
    assert report is not None and report.layers_checked == 8


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[3], CONFIGS[4], CONFIGS[7]],
                         ids=lambda c: c.label)  # fmt: skip
def test_float_softmax_head_is_bit_exact(config: QuantConfig, tmp_path: Path) -> None:
    """A Softmax excluded from quantization: onnxruntime runs MLAS's float Softmax on the
    dequantized logits and the graph output is its float32 result."""
    model = lrn_cnn()
    softmax = next(node.name for node in model.graph.node if node.op_type == "Softmax")
    result = check(quantize(model, config, tmp_path, exclude=(softmax,)))
    _assert_bit_exact(result, 8)
    report = result.check
    assert report is not None
    assert report.extra["float_layers"][softmax] == "Softmax"
    assert report.extra["final_outputs_checked"] == [f"output:{softmax}"]


def test_resnet18_quantized_without_preprocessing_checks_bit_exact(tmp_path: Path) -> None:
    """quantize_static's default (QDQ, int8 activations, per channel) on accel's own ResNet-18
    export, no quant_pre_process: every BatchNormalization stays float32 in onnxruntime."""
    exported = tmp_path / "resnet18.onnx"
    done = run_accel("export", "-n", "resnet18?resolution=32", "--format", "onnx",
                     "--out", str(exported))  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = quantize(onnx.load(str(exported)), CONFIGS[6], tmp_path)
    done = run_accel("simulate-network", "-n", str(path), "--check", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    functional = json.loads((tmp_path / "summary.json").read_text())["functional"]
    assert (functional["layers_checked"], functional["mismatches"]) == (51, 0)
    assert "all bit-exact" in done.stdout


def float_add_relu_cnn() -> Any:
    """ResNet-50's and ShuffleNet's unfused tail as the old model-zoo files have it: a float
    BatchNormalization feeds a residual Add whose ReLU the importer fuses into it, and the next
    residual Add reads that ReLU's float result directly (the test leaves both Adds in float32,
    as the quantizer leaves those files' Sum nodes)."""
    g = GraphBuilder("add_relu", [1, 3, 10, 10], opset=13, seed=6)
    x = g.relu(g.conv(g.input, 3, 8, 3))
    y = g.bn(g.conv(x, 8, 8, 3, bias=False), 8)
    a = g.relu(g.node("Add", [y, x]))
    z = g.bn(g.conv(a, 8, 8, 3, bias=False), 8)
    s = g.relu(g.node("Add", [z, a]))
    return g.model([_head(g, s, 8)])


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_a_float_add_hands_its_relu_result_to_the_next_float_op(config: QuantConfig,
                                                                tmp_path: Path) -> None:
    model = float_add_relu_cnn()
    adds = tuple(node.name for node in model.graph.node if node.op_type == "Add")
    result = check(quantize(model, config, tmp_path, exclude=adds))
    report = result.check
    assert report is not None and report.extra["replay_reproduces_session"] is True
    assert report.mismatches == 0, report.as_dict()
    adds = [layer for layer in result.qnet.network.layers if layer.kind == "add"]
    assert len(adds) == 2 and all(layer.op.activation == "relu" for layer in adds)  # type: ignore[union-attr]
    assert report.layers_checked >= 8


def sum_pool_reshape_cnn() -> Any:
    """ResNet-50's tail as the old model-zoo file has it: a Sum (the quantizer leaves Sum in
    float32) → Relu → plain 7×7 stride-1 AveragePool → Reshape → Gemm. In QDQ form ORT moves the
    pool's QuantizeLinear above the Reshape and renames the pool after its output."""
    g = GraphBuilder("sum_pool", [1, 3, 14, 14], opset=13, seed=3)
    x = g.relu(g.conv(g.input, 3, 8, 3, stride=2))
    total = g.relu(g.node("Sum", [g.conv(x, 8, 8, 3), x]))
    shape = g.constant(np.array([1, -1], np.int64))
    flat = g.node("Reshape", [g.avgpool(total, 7, 1), shape])
    return g.model([g.gemm(flat, 8, 10)])


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_a_plain_average_pool_read_through_a_reshape_is_bit_exact(config: QuantConfig,
                                                                  tmp_path: Path) -> None:
    result = check(quantize(sum_pool_reshape_cnn(), config, tmp_path))
    report = result.check
    assert report is not None and (report.mismatches, report.layers_checked) == (0, 5)
    pools = {name: op for name, op in report.extra["float_layers"].items() if "pool" in name}
    # 8 channels take MLAS's NCHWc layout where its blocks are 8 channels (AVX2), not 16.
    kernel = "com.microsoft.nchwc.AveragePool" if nchwc_block_size() == 8 else "AveragePool"
    assert pools == ({"averagepool11": kernel} if config.form == "qdq" else {})


def squeeze_excite_cnn() -> Any:
    """MobileNetV3's squeeze-and-excite entry: conv → float BatchNormalization → ReLU whose
    result two layers read (the pool and the Mul), so the ReLU stays a layer of its own and the
    BatchNormalization's float result is the value before it."""
    g = GraphBuilder("squeeze_excite", [1, 3, 12, 12], opset=13, seed=5)
    x = g.relu(g.bn(g.conv(g.input, 3, 8, 3, bias=False), 8))
    gate = g.node("Sigmoid", [g.conv(g.node("GlobalAveragePool", [x]), 8, 8, 1, pad=0)])
    return g.model([_head(g, g.conv(g.node("Mul", [x, gate]), 8, 8, 1, pad=0), 8)])


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_a_batchnorm_before_a_relu_layer_is_compared_before_the_relu(config: QuantConfig,
                                                                     tmp_path: Path) -> None:
    result = check(quantize(squeeze_excite_cnn(), config, tmp_path))
    report = result.check
    assert report is not None and report.extra["replay_reproduces_session"] is True
    assert (report.mismatches, report.mismatched_elements) == (0, 0), report.as_dict()
    norm = next(layer.name for layer in result.qnet.network.layers if layer.kind == "batchnorm")
    # QOperator keeps the ReLU as a layer (QDQ drops it); the BatchNormalization's float32
    # output was once read from behind that ReLU (a false mismatch on every negative value).
    assert report.layers_checked == (10 if config.form == "qoperator" else 9)
    assert report.extra["float_layers"][norm] == "BatchNormalization"

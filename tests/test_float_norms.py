"""Float BatchNormalization and LRN against onnxruntime's single-node CPU kernels, bit for bit,
the Eigen power LRN raises to (packets of four, leftover elements through powf), and the
Conv + BatchNormalization fold onnxruntime makes at load time (and the importer copies)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from ort_helpers import run_node

from accel.functional.float_norms import batch_norm, lrn
from accel.functional.kernels.cpu import MODELLED_FLOAT_PATHS, float_path
from accel.functional.kernels.eigen_pow import c_powf, eigen_pow
from accel.io.sources import load_model
from accel.model.quantized import BatchNormConstants

ort = pytest.importorskip("onnxruntime")
# These compare with onnxruntime's float kernels on this CPU: only where accel models them.
ON_MODELLED_CPU = pytest.mark.skipif(
    float_path() not in MODELLED_FLOAT_PATHS,
    reason=f"this CPU's MLAS float path ({float_path()}) is not modelled by accel; its float "
    "islands are refused (tests/test_mlas_golden.py checks the modelled paths on every CPU)",
)
pytestmark = ON_MODELLED_CPU
F32 = np.float32


def _bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, F32).view(np.int32)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 2), st.integers(1, 40), st.integers(1, 9), st.integers(1, 9)),
    epsilon=st.sampled_from([1e-5, 1e-3, 0.0, 1e-12]),
    magnitude=st.floats(-3, 3),
)
def test_batch_norm_matches_onnxruntime(seed: int, shape: tuple[int, int, int, int],
                                        epsilon: float, magnitude: float) -> None:
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = (rng.standard_normal(shape) * 10**magnitude).astype(F32)
    scale, bias, mean = (rng.standard_normal(channels).astype(F32) for _ in range(3))
    variance = (rng.random(channels) * 10 ** rng.uniform(-4, 2) + 1e-6).astype(F32)
    expected = run_node("BatchNormalization", [x, scale, bias, mean, variance], F32,
                        attrs={"epsilon": epsilon})  # fmt: skip
    constants = BatchNormConstants(scale, bias, mean, variance, float(F32(epsilon)))
    np.testing.assert_array_equal(_bits(batch_norm(x, constants)), _bits(expected))


def test_batch_norm_folds_per_channel_in_float32() -> None:
    # inv_std = 1/sqrt(var + eps) and scale' = inv_std * scale, each rounded: folding in float64
    # (what a compiler folding BN into weights would do) gives another multiplier here.
    constants = BatchNormConstants(np.array([0.1], F32), np.array([0.0], F32),
                                   np.array([0.0], F32), np.array([3.0], F32), 0.0)  # fmt: skip
    multiplier, _ = constants.folded()
    assert multiplier[0] == F32(F32(1) / np.sqrt(F32(3.0))) * F32(0.1)
    assert multiplier[0] != F32(np.float64(F32(0.1)) / np.sqrt(3.0))


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 2), st.integers(1, 20), st.integers(1, 7), st.integers(1, 7)),
    size=st.sampled_from([1, 3, 5, 7]),
    alpha=st.sampled_from([1e-4, 2e-5, 0.1, 1.0]),
    beta=st.sampled_from([0.75, 0.5, 0.6, 1.0, 2.0, 3.0, 4.0, 5.0]),
    bias=st.sampled_from([1.0, 2.0, 0.5]),
    magnitude=st.floats(-1, 2),
)
def test_lrn_matches_onnxruntime(seed: int, shape: tuple[int, int, int, int], size: int,
                                 alpha: float, beta: float, bias: float,
                                 magnitude: float) -> None:
    x = (np.random.default_rng(seed).standard_normal(shape) * 10**magnitude).astype(F32)
    attrs = {"size": size, "alpha": alpha, "beta": beta, "bias": bias}
    expected = run_node("LRN", [x], F32, attrs=attrs)
    ours = lrn(x, size, float(F32(alpha)), float(F32(beta)), float(F32(bias)))
    np.testing.assert_array_equal(_bits(ours), _bits(expected))


def test_eigen_pow_packets_and_leftovers_differ_from_powf() -> None:
    # Eigen's packet pow is accurate to a few ulps, not correctly rounded: over 4,000 values
    # some packet results differ from powf; the three leftover elements are powf's.
    x = np.exp(np.random.default_rng(0).uniform(-5, 10, 4003)).astype(F32)
    ours, reference = eigen_pow(x, -0.75), c_powf(x, F32(-0.75))
    assert np.array_equal(ours[4000:], reference[4000:])
    assert 0 < np.count_nonzero(ours[:4000] != reference[:4000]) < 2000


def test_eigen_pow_small_integer_exponents_square_the_reciprocal() -> None:
    x = np.array([3.0, 7.0, 11.0, 1.1, 5.0], F32)
    ours = eigen_pow(x, -2.0)
    reciprocal = (F32(1) / x[:4]).astype(F32)
    np.testing.assert_array_equal(ours[:4], (reciprocal * reciprocal).astype(F32))
    assert ours[4] == c_powf(x[4:], F32(-2.0))[0]


def _conv_bn_model(seed: int, with_bias: bool, epsilon: float) -> tuple[Any, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out_channels, in_channels = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    arrays = {"w": rng.standard_normal((out_channels, in_channels, 3, 3)).astype(F32)}
    if with_bias:
        arrays["b"] = rng.standard_normal(out_channels).astype(F32)
    for name in ("scale", "shift", "mean"):
        arrays[name] = rng.standard_normal(out_channels).astype(F32)
    arrays["var"] = (rng.random(out_channels) * 10 ** rng.uniform(-3, 2) + 1e-4).astype(F32)
    nodes = [
        helper.make_node("Conv", ["x", "w", *(["b"] if with_bias else [])], ["c"], name="conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["y"],
                         name="bn", epsilon=epsilon),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes, "conv_bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                         [1, in_channels, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(array, name) for name, array in arrays.items()])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model, arrays


def _fused_by_onnxruntime(model: Any, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The weight and bias ConvBNFusion writes (ORT_ENABLE_EXTENDED: no NCHWc reordering)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(folder / "optimized.onnx")
    ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    optimized = onnx.load(str(folder / "optimized.onnx"))
    (conv,) = [node for node in optimized.graph.node if "Conv" in node.op_type]
    initializers = {t.name: numpy_helper.to_array(t) for t in optimized.graph.initializer}
    return initializers[conv.input[1]], initializers[conv.input[2]]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), with_bias=st.booleans(),
       epsilon=st.sampled_from([1e-5, 1e-3, 0.0]))  # fmt: skip
def test_conv_batch_norm_fold_matches_onnxruntime_fusion(seed: int, with_bias: bool,
                                                         epsilon: float) -> None:
    model, arrays = _conv_bn_model(seed, with_bias, epsilon)
    constants = BatchNormConstants(arrays["scale"], arrays["shift"], arrays["mean"],
                                   arrays["var"], float(F32(epsilon)))  # fmt: skip
    bias = arrays.get("b", np.zeros(arrays["w"].shape[0], F32))
    weight, folded_bias = constants.fold_into_conv(arrays["w"], bias)
    with tempfile.TemporaryDirectory() as folder:
        expected_weight, expected_bias = _fused_by_onnxruntime(model, Path(folder))
    np.testing.assert_array_equal(_bits(weight), _bits(expected_weight))
    np.testing.assert_array_equal(_bits(folded_bias), _bits(expected_bias))


def test_importer_folds_batch_norm_into_float_conv_as_onnxruntime(tmp_path: Path) -> None:
    model, _ = _conv_bn_model(7, False, 1e-5)
    onnx.save(model, str(tmp_path / "conv_bn.onnx"))
    imported = load_model(str(tmp_path / "conv_bn.onnx"))
    assert [layer.kind for layer in imported.network.layers] == ["conv"]
    weights = imported.float_weights["conv"]
    expected_weight, expected_bias = _fused_by_onnxruntime(model, tmp_path)
    np.testing.assert_array_equal(_bits(weights.weight), _bits(expected_weight))
    np.testing.assert_array_equal(_bits(weights.bias), _bits(expected_bias))

"""Lookup-table activations against onnxruntime, exhaustively over all 256 input codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import MS_DOMAIN, Node, make_model, run_model, run_node, scalar
from qstrategies import DTYPES, F32, codes, rng_for, scales, zero_points

from accel.functional import lookup as kn

# ------------------------------------------------------------------ lookup-table activations


def _all_codes(dtype: type) -> np.ndarray:
    return np.arange(256, dtype=np.uint8).view(dtype).reshape(1, 1, 16, 16)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(DTYPES), scales(-7, 0), scales(-10, -4), st.data())
def test_qlinear_sigmoid_exhaustive(dtype: type, xs: float, ys: float, data: st.DataObject) -> None:
    x = _all_codes(dtype)
    xz, yz = data.draw(zero_points(dtype)), data.draw(zero_points(dtype))
    inputs = [x, scalar(xs, F32), scalar(xz, dtype), scalar(ys, F32), scalar(yz, dtype)]
    ref = run_node("QLinearSigmoid", inputs, dtype, domain=MS_DOMAIN)
    np.testing.assert_array_equal(kn.qlinear_sigmoid_onnx(x, xs, xz, ys, yz), ref)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DTYPES), scales(-7, 0), scales(-7, 0), st.floats(0.0, 0.5), st.data())
def test_qlinear_leaky_relu_exhaustive(
    dtype: type, xs: float, ys: float, alpha: float, data: st.DataObject
) -> None:
    x = _all_codes(dtype)
    xz, yz = data.draw(zero_points(dtype)), data.draw(zero_points(dtype))
    inputs = [x, scalar(xs, F32), scalar(xz, dtype), scalar(ys, F32), scalar(yz, dtype)]
    ref = run_node("QLinearLeakyRelu", inputs, dtype, attrs={"alpha": alpha}, domain=MS_DOMAIN)
    np.testing.assert_array_equal(kn.qlinear_leaky_relu_onnx(x, xs, xz, ys, yz, alpha), ref)


@pytest.mark.parametrize(
    ("op", "fn"),
    [
        ("HardSwish", kn.hard_swish_onnx),
        ("HardSigmoid", kn.hard_sigmoid_onnx),
        ("Sigmoid", kn.qlinear_sigmoid_onnx),
    ],
)
@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from(DTYPES), xs=scales(-7, -1), ys=scales(-9, -2), data=st.data())
def test_dq_float_q_chain_exhaustive(
    op: str, fn: object, dtype: type, xs: float, ys: float, data: st.DataObject
) -> None:
    """DequantizeLinear -> float op -> QuantizeLinear, the export for ops without a QLinear form."""
    x = _all_codes(dtype)
    xz, yz = data.draw(zero_points(dtype)), data.draw(zero_points(dtype))
    attrs = {"alpha": 1.0 / 6.0, "beta": 0.5} if op == "HardSigmoid" else {}
    nodes = [
        Node("DequantizeLinear", ["x", "xs", "xz"], ["f"]),
        Node(op, ["f"], ["g"], attrs),
        Node("QuantizeLinear", ["g", "ys", "yz"], ["out"]),
    ]
    consts = {
        "xs": scalar(xs, F32),
        "xz": scalar(xz, dtype),
        "ys": scalar(ys, F32),
        "yz": scalar(yz, dtype),
    }
    ref = run_model(make_model(nodes, {"x": x}, consts, {"out": np.dtype(dtype)}), {"x": x})[0]
    np.testing.assert_array_equal(fn(x, xs, xz, ys, yz), ref)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("op", "fn"),
    [
        ("Sigmoid", kn.mlas_logistic),
        ("HardSwish", kn.hard_swish_f32),
        ("HardSigmoid", kn.hard_sigmoid_f32),
    ],
)
def test_float_activations_bit_exact(op: str, fn: object) -> None:
    """The float32 functions behind the tables match ORT on 200k inputs, not just on 256 codes."""
    rng = np.random.default_rng(11)
    x = np.concatenate(
        [rng.uniform(-20, 20, 100_000), rng.normal(0, 3, 100_000), np.linspace(-19, 19, 4001)]
    ).astype(F32)
    attrs = {"alpha": 1.0 / 6.0, "beta": 0.5} if op == "HardSigmoid" else {}
    ref = run_node(op, [x], F32, attrs=attrs)
    got = fn(x)  # type: ignore[operator]
    np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    channels=st.integers(1, 1100),
    positions=st.integers(1, 3),
    narrow=st.booleans(),
    xs=scales(-8, 0),
    ys=st.sampled_from([1 / 256, 1 / 255]) | scales(-9, -4),
    data=st.data(),
)
def test_qlinear_softmax_bit_exact(
    dtype: type,
    channels: int,
    positions: int,
    narrow: bool,
    xs: float,
    ys: float,
    data: st.DataObject,
) -> None:
    """Softmax over channels; a narrow input range leaves many near-equal exponentials."""
    rng = rng_for(data)
    x = codes(rng, dtype, (2, channels, positions, 1))
    if narrow:
        x = (x // 8).astype(dtype)
    yz = data.draw(zero_points(dtype))
    inputs = [x, scalar(xs, F32), scalar(0, dtype), scalar(ys, F32), scalar(yz, dtype)]
    ref = run_node(
        "QLinearSoftmax", inputs, dtype, attrs={"axis": 1, "opset": 13}, domain=MS_DOMAIN
    )
    np.testing.assert_array_equal(kn.softmax_onnx(x, xs, ys, yz, axis=1), ref)


@pytest.mark.parametrize(("dtype", "ys", "yz"), [(np.int8, 1 / 255, -128), (np.uint8, 1 / 255, 0),
                                                 (np.int8, 1 / 256, -128), (np.int8, 1 / 128, 0)])
def test_qlinear_softmax_of_one_element_rows(dtype: type, ys: float, yz: int) -> None:
    """t · floor(1/y_s) overflows float32 for a one-element row; ORT still gives floor(1/y_s)
    (254 for y_s = 1/255, whose float32 reciprocal is just below 255), saturated."""
    x = np.array([[[[-128 if dtype == np.int8 else 0]]], [[[5]]]], dtype)
    inputs = [x, scalar(1.0, F32), scalar(0, dtype), scalar(ys, F32), scalar(yz, dtype)]
    ref = run_node("QLinearSoftmax", inputs, dtype, attrs={"axis": 1, "opset": 13},
                   domain=MS_DOMAIN)
    np.testing.assert_array_equal(kn.softmax_onnx(x, 1.0, ys, yz, axis=1), ref)

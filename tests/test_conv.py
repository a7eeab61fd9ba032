"""The MAC array's exact accumulators (+ requantization) against onnxruntime's QLinearConv and
QLinearMatMul, bit for bit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import Node, make_model, run_model, run_node, scalar
from qstrategies import DTYPES, F32, codes, onnx_pads, rng_for, scales, zero_points

from accel.functional import conv as kn
from accel.functional import requant as rq

# ------------------------------------------------------------------------------------ conv


@dataclass
class ConvCase:
    dtype: type
    n: int
    groups: int
    cg: int
    mg: int
    hw: tuple[int, int]
    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[int, int, int, int]
    per_channel: bool
    with_bias: bool
    const_weights: bool


@st.composite
def conv_cases(draw: st.DrawFn) -> ConvCase:
    depthwise = draw(st.booleans())
    groups = draw(st.integers(1, 6)) if depthwise else draw(st.sampled_from([1, 1, 2, 3]))
    cg = 1 if depthwise else draw(st.integers(1, 5))
    mg = draw(st.sampled_from([1, 1, 2])) if depthwise else draw(st.integers(1, 5))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    eff = ((kernel[0] - 1) * dil[0] + 1, (kernel[1] - 1) * dil[1] + 1)
    hw = (
        draw(st.integers(max(1, eff[0] - pads[0] - pads[1]), 9)),
        draw(st.integers(max(1, eff[1] - pads[2] - pads[3]), 9)),
    )
    return ConvCase(
        dtype=draw(st.sampled_from(DTYPES)),
        n=draw(st.integers(1, 2)),
        groups=groups,
        cg=cg,
        mg=mg,
        hw=hw,
        kernel=kernel,
        strides=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        dilations=dil,
        pads=pads,  # type: ignore[arg-type]
        per_channel=draw(st.booleans()),
        with_bias=draw(st.booleans()),
        const_weights=draw(st.booleans()),
    )


def _run_qlinear_conv(
    case: ConvCase,
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    q: tuple[float, int, np.ndarray, float, int],
) -> np.ndarray:
    xs, xz, ws, ys, yz = q
    attrs = {
        "kernel_shape": list(case.kernel),
        "strides": list(case.strides),
        "dilations": list(case.dilations),
        "pads": onnx_pads(case.pads),
        "group": case.groups,
    }
    w_zp = np.zeros(ws.shape, np.int8)
    inputs = [
        x,
        scalar(xs, F32),
        scalar(xz, case.dtype),
        w,
        ws,
        w_zp,
        scalar(ys, F32),
        scalar(yz, case.dtype),
        bias,
    ]
    feeds = (0,) if case.const_weights else (0, 3)
    return run_node("QLinearConv", inputs, case.dtype, attrs=attrs, feed_indices=feeds)


@settings(max_examples=300, deadline=None)
@given(conv_cases(), scales(-9, -3), scales(-9, -4), scales(-6, 0), st.data())
def test_qlinear_conv_bit_exact(
    case: ConvCase, xs: float, w_base: float, ys: float, data: st.DataObject
) -> None:
    rng = rng_for(data)
    c, m = case.cg * case.groups, case.mg * case.groups
    x = codes(rng, case.dtype, (case.n, c, *case.hw))
    w = rng.integers(-128, 128, (m, case.cg, *case.kernel)).astype(np.int8)
    # Per-channel scales are powers of two times w_base so ties appear across channels.
    ws = (np.float32(w_base) * 2.0 ** rng.integers(-2, 3, m)).astype(F32)
    ws = ws if case.per_channel else np.asarray(ws[:1])
    bias = rng.integers(-20000, 20000, m).astype(np.int32) if case.with_bias else None
    xz, yz = data.draw(zero_points(case.dtype)), data.draw(zero_points(case.dtype))
    ref = _run_qlinear_conv(case, x, w, bias, (xs, xz, ws, ys, yz))

    acc = kn.conv2d_accumulate(
        x,
        xz,
        w,
        bias,
        strides=case.strides,
        pads=case.pads,
        dilations=case.dilations,
        groups=case.groups,
    )
    got = rq.requantize_onnx(acc, rq.onnx_requant_scale(xs, ws, ys), yz, case.dtype)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_qlinear_conv_deep_reduction(dtype: type) -> None:
    """K = 512 * 3 * 3 = 4608 > 4096: the float64 GEMM stays exact for long dot products."""
    rng = np.random.default_rng(3)
    case = ConvCase(
        dtype, 1, 1, 512, 8, (5, 5), (3, 3), (1, 1), (1, 1), (1, 0, 0, 1), True, True, True
    )
    x = codes(rng, dtype, (1, 512, 5, 5))
    w = rng.integers(-128, 128, (8, 512, 3, 3)).astype(np.int8)
    ws = np.full(8, 2.0**-10, F32)
    bias = rng.integers(-(2**20), 2**20, 8).astype(np.int32)
    xz, yz = (7, -3) if dtype == np.int8 else (131, 129)
    ref = _run_qlinear_conv(case, x, w, bias, (2.0**-4, xz, ws, 2.0**2, yz))
    acc = kn.conv2d_accumulate(x, xz, w, bias, pads=case.pads)
    assert np.abs(acc).max() > 2**20  # the accumulators really are wide
    got = rq.requantize_onnx(acc, rq.onnx_requant_scale(2.0**-4, ws, 2.0**2), yz, dtype)
    np.testing.assert_array_equal(got, ref)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(DTYPES), scales(-7, -4), st.data())
def test_fused_relu6_matches_conv_then_clip_chain(
    dtype: type, ys: float, data: st.DataObject
) -> None:
    """QLinearConv -> DequantizeLinear -> Clip(0, 6) -> QuantizeLinear == requant with ReLU6 bounds."""
    rng = rng_for(data)
    x = codes(rng, dtype, (1, 3, 6, 6))
    w = rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8)
    ws = np.full(4, 2.0**-7, F32)
    xz, yz = data.draw(zero_points(dtype)), data.draw(zero_points(dtype))
    nodes = [
        Node(
            "QLinearConv",
            ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"],
            ["q"],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
        ),
        Node("DequantizeLinear", ["q", "ys", "yz"], ["f"]),
        Node("Clip", ["f", "lo", "hi"], ["c"]),
        Node("QuantizeLinear", ["c", "ys", "yz"], ["out"]),
    ]
    consts = {
        "xs": scalar(2.0**-3, F32),
        "xz": scalar(xz, dtype),
        "w": w,
        "ws": ws,
        "wz": np.zeros(4, np.int8),
        "ys": scalar(ys, F32),
        "yz": scalar(yz, dtype),
        "lo": scalar(0.0, F32),
        "hi": scalar(6.0, F32),
    }
    ref = run_model(make_model(nodes, {"x": x}, consts, {"out": np.dtype(dtype)}), {"x": x})[0]
    acc = kn.conv2d_accumulate(x, xz, w, pads=(1, 1, 1, 1))
    lo, hi = rq.activation_bounds("relu6", ys, yz, dtype, "onnx")
    got = rq.requantize_onnx(
        acc, rq.onnx_requant_scale(2.0**-3, ws, ys), yz, dtype, act_min=lo, act_max=hi
    )
    np.testing.assert_array_equal(got, ref)


# ---------------------------------------------------------------------------------- matmul


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(DTYPES),
    st.integers(1, 9),
    st.sampled_from([1, 7, 64, 300, 5000]),
    st.integers(1, 9),
    st.booleans(),
    scales(-8, -3),
    scales(-5, 1),
    st.data(),
)
def test_qlinear_matmul_bit_exact(
    dtype: type,
    m: int,
    k: int,
    n: int,
    per_column: bool,
    xs: float,
    ys: float,
    data: st.DataObject,
) -> None:
    rng = rng_for(data)
    a = codes(rng, dtype, (m, k))
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    bs = (2.0 ** rng.integers(-10, -6, n if per_column else 1)).astype(F32)
    bs = bs if per_column else bs.reshape(())
    az, yz = data.draw(zero_points(dtype)), data.draw(zero_points(dtype))
    inputs = [
        a,
        scalar(xs, F32),
        scalar(az, dtype),
        b,
        bs,
        np.zeros(bs.shape, np.int8),
        scalar(ys, F32),
        scalar(yz, dtype),
    ]
    ref = run_node("QLinearMatMul", inputs, dtype)
    acc = kn.matmul_accumulate(a, az, b)
    got = rq.requantize_onnx(acc, rq.onnx_requant_scale(xs, bs, ys), yz, dtype, axis=-1)
    np.testing.assert_array_equal(got, ref)


# -------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: kn.conv2d_accumulate(
                np.zeros((1, 3, 4, 4), np.int8), 0, np.zeros((4, 2, 1, 1), np.int8), groups=2
            ),
            "groups must",
        ),
        (
            lambda: kn.conv2d_accumulate(
                np.zeros((1, 3, 4), np.int8), 0, np.zeros((4, 3, 1, 1), np.int8)
            ),
            "conv input must be",
        ),
        (
            lambda: kn.matmul_accumulate(np.zeros((2, 3), np.int8), 0, np.zeros((4, 2), np.int8)),
            "matmul shapes must",
        ),
    ],
)
def test_conv_errors_name_the_rule(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]

"""accel's integer kernels against onnxruntime's CPU QOperator kernels, bit for bit.

Each test builds a one-node ONNX graph, runs it in onnxruntime and compares every output byte.
Scales are drawn both at random and as powers of two: with power-of-two scales the products land
exactly on .5 more often, so the round-half-to-even and fused-multiply-add details are exercised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import MS_DOMAIN, Node, make_model, run_model, run_node, scalar

from accel.functional import kernels as kn
from accel.functional import requant as rq

F32 = np.float32
DTYPES = [np.int8, np.uint8]


def zero_points(dtype: type) -> st.SearchStrategy[int]:
    lo, hi = rq.dtype_bounds(dtype)
    return st.sampled_from([lo, lo + 1, hi - 1, hi, 0, 1, -1 if lo < 0 else 255]) | st.integers(
        lo, hi
    )


def scales(lo_exp: int, hi_exp: int) -> st.SearchStrategy[float]:
    """Random float32 scales, or exact powers of two (tie-prone)."""
    pow2 = st.integers(lo_exp, hi_exp).map(lambda e: float(2.0**e))
    rand = st.floats(2.0**lo_exp, 2.0**hi_exp).map(lambda v: float(np.float32(v)))
    return pow2 | rand


def rng_for(data: st.DataObject) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def codes(rng: np.random.Generator, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    lo, hi = rq.dtype_bounds(dtype)
    return rng.integers(lo, hi + 1, shape).astype(dtype)


def onnx_pads(pads: tuple[int, int, int, int]) -> list[int]:
    """accel's [top, bottom, left, right] -> ONNX's [top, left, bottom, right]."""
    return [pads[0], pads[2], pads[1], pads[3]]


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


# --------------------------------------------------------------------------------- pooling


@st.composite
def pool_geometry(draw: st.DrawFn, max_kernel: int = 4) -> dict[str, object]:
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    # ORT requires every pad to be smaller than the kernel.
    pads = (
        draw(st.integers(0, kernel[0] - 1)),
        draw(st.integers(0, kernel[0] - 1)),
        draw(st.integers(0, kernel[1] - 1)),
        draw(st.integers(0, kernel[1] - 1)),
    )
    hw = (draw(st.integers(kernel[0], 10)), draw(st.integers(kernel[1], 10)))
    return {
        "kernel": kernel,
        "pads": pads,
        "hw": hw,
        "ceil_mode": draw(st.booleans()),
        "strides": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
    }


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(DTYPES), pool_geometry(), st.integers(1, 2), st.integers(1, 2), st.data())
def test_maxpool_bit_exact(
    dtype: type, g: dict[str, object], dh: int, dw: int, data: st.DataObject
) -> None:
    kernel, pads, hw = g["kernel"], g["pads"], g["hw"]
    x = codes(rng_for(data), dtype, (2, 3, *hw))  # type: ignore[misc]
    attrs = {
        "kernel_shape": list(kernel),
        "strides": list(g["strides"]),  # type: ignore[call-overload]
        "dilations": [dh, dw],
        "pads": onnx_pads(pads),
        "ceil_mode": int(g["ceil_mode"]),
    }  # type: ignore[arg-type]
    eff = ((kernel[0] - 1) * dh + 1, (kernel[1] - 1) * dw + 1)  # type: ignore[index]
    if hw[0] + pads[0] + pads[1] < eff[0] or hw[1] + pads[2] + pads[3] < eff[1]:  # type: ignore[index]
        return
    ref = run_node("MaxPool", [x], dtype, attrs=attrs)
    got = kn.maxpool2d(
        x,
        kernel,
        strides=g["strides"],
        pads=pads,
        dilations=(dh, dw),  # type: ignore[arg-type]
        ceil_mode=bool(g["ceil_mode"]),
    )
    np.testing.assert_array_equal(got, ref)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(DTYPES), pool_geometry(), st.booleans(), scales(-8, 0), scales(-8, 0), st.data()
)
def test_qlinear_average_pool_bit_exact(
    dtype: type, g: dict[str, object], include_pad: bool, xs: float, ys: float, data: st.DataObject
) -> None:
    x = codes(rng_for(data), dtype, (1, 3, *g["hw"]))  # type: ignore[misc]
    xz, yz = data.draw(zero_points(dtype)), data.draw(zero_points(dtype))
    attrs = {
        "kernel_shape": list(g["kernel"]),
        "strides": list(g["strides"]),  # type: ignore[call-overload]
        "pads": onnx_pads(g["pads"]),
        "ceil_mode": int(g["ceil_mode"]),  # type: ignore[arg-type]
        "count_include_pad": int(include_pad),
        "channels_last": 0,
    }
    if g["kernel"] == g["hw"] and not any(g["pads"]):  # type: ignore[arg-type]
        ratio = F32(xs) / (F32(ys) * F32(g["hw"][0] * g["hw"][1]))  # type: ignore[index]
        if not 2.0**-32 <= ratio < 256.0:
            return  # ORT rejects these in its global-average fallback
    inputs = [x, scalar(xs, F32), scalar(xz, dtype), scalar(ys, F32), scalar(yz, dtype)]
    ref = run_node("QLinearAveragePool", inputs, dtype, attrs=attrs, domain=MS_DOMAIN)
    got = kn.avgpool2d_onnx(
        x,
        xs,
        xz,
        ys,
        yz,
        g["kernel"],
        strides=g["strides"],  # type: ignore[arg-type]
        pads=g["pads"],
        ceil_mode=bool(g["ceil_mode"]),  # type: ignore[arg-type]
        count_include_pad=include_pad,
    )
    np.testing.assert_array_equal(got, ref)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(DTYPES),
    st.integers(1, 12),
    st.integers(1, 12),
    scales(-8, 0),
    st.floats(0.02, 4.0),
    st.data(),
)
def test_qlinear_global_average_pool_bit_exact(
    dtype: type, h: int, w: int, xs: float, ratio: float, data: st.DataObject
) -> None:
    ys = float(F32(xs * ratio))
    x = codes(rng_for(data), dtype, (2, 5, h, w))
    xz, yz = data.draw(zero_points(dtype)), data.draw(zero_points(dtype))
    inputs = [x, scalar(xs, F32), scalar(xz, dtype), scalar(ys, F32), scalar(yz, dtype)]
    ref = run_node(
        "QLinearGlobalAveragePool", inputs, dtype, attrs={"channels_last": 0}, domain=MS_DOMAIN
    )
    np.testing.assert_array_equal(kn.global_avgpool_onnx(x, xs, xz, ys, yz), ref)


# ----------------------------------------------------------------------- element-wise binary


def _all_pairs(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Every (a, b) code pair, 65536 elements: exhaustive for one set of quantization params."""
    grid = np.arange(256, dtype=np.uint8).view(dtype)
    return np.repeat(grid, 256).reshape(1, 1, 256, 256), np.tile(grid, 256).reshape(1, 1, 256, 256)


@pytest.mark.parametrize(
    ("op", "fn"), [("QLinearAdd", kn.qlinear_add_onnx), ("QLinearMul", kn.qlinear_mul_onnx)]
)
@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    sa=scales(-8, 0),
    sb=scales(-8, 0),
    sy=scales(-8, 0),
    data=st.data(),
)
def test_qlinear_binary_exhaustive(
    op: str, fn: object, dtype: type, sa: float, sb: float, sy: float, data: st.DataObject
) -> None:
    a, b = _all_pairs(dtype)
    za, zb, zy = (data.draw(zero_points(dtype)) for _ in range(3))
    inputs = [
        a,
        scalar(sa, F32),
        scalar(za, dtype),
        b,
        scalar(sb, F32),
        scalar(zb, dtype),
        scalar(sy, F32),
        scalar(zy, dtype),
    ]
    ref = run_node(op, inputs, dtype, domain=MS_DOMAIN, feed_indices=(0, 3))
    np.testing.assert_array_equal(fn(a, sa, za, b, sb, zb, sy, zy), ref)  # type: ignore[operator]


# Parameter sets found by search where a plausible-but-wrong float formula differs from ORT:
# (a) `ra*a_zp + rb*b_zp` not contracted to an FMA, (b) no FMA in the main QLinearAdd path,
# (c) an FMA in QLinearMul. They pin the exact operation order.
HARD_CASES = [
    (
        "QLinearAdd",
        np.int8,
        0.35279375314712524,
        62,
        0.3277684152126312,
        -70,
        0.14785771071910858,
        15,
    ),
    (
        "QLinearAdd",
        np.uint8,
        0.013970926403999329,
        62,
        0.03050541877746582,
        160,
        0.024154581129550934,
        156,
    ),
    (
        "QLinearAdd",
        np.uint8,
        0.35275930166244507,
        45,
        0.6537269353866577,
        201,
        0.018105793744325638,
        209,
    ),
    (
        "QLinearAdd",
        np.int8,
        0.5430442094802856,
        -67,
        0.06716082245111465,
        83,
        0.015194750390946865,
        74,
    ),
    (
        "QLinearMul",
        np.uint8,
        0.15889853239059448,
        155,
        0.006099963095039129,
        20,
        0.015607394278049469,
        60,
    ),
    (
        "QLinearMul",
        np.int8,
        0.23307295143604279,
        26,
        0.03423891216516495,
        57,
        0.11627207696437836,
        -80,
    ),
]


@pytest.mark.parametrize(("op", "dtype", "sa", "za", "sb", "zb", "sy", "zy"), HARD_CASES)
def test_qlinear_binary_hard_cases(
    op: str, dtype: type, sa: float, za: int, sb: float, zb: int, sy: float, zy: int
) -> None:
    a, b = _all_pairs(dtype)
    inputs = [
        a,
        scalar(sa, F32),
        scalar(za, dtype),
        b,
        scalar(sb, F32),
        scalar(zb, dtype),
        scalar(sy, F32),
        scalar(zy, dtype),
    ]
    ref = run_node(op, inputs, dtype, domain=MS_DOMAIN, feed_indices=(0, 3))
    fn = kn.qlinear_add_onnx if op == "QLinearAdd" else kn.qlinear_mul_onnx
    np.testing.assert_array_equal(fn(a, sa, za, b, sb, zb, sy, zy), ref)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(DTYPES),
    st.integers(1, 70),
    scales(-8, 0),
    scales(-8, 0),
    scales(-8, 0),
    st.data(),
)
def test_qlinear_add_odd_lengths(
    dtype: type, length: int, sa: float, sb: float, sy: float, data: st.DataObject
) -> None:
    """Vector tails (lengths not a multiple of 32) take the same arithmetic."""
    rng = rng_for(data)
    a, b = codes(rng, dtype, (1, length)), codes(rng, dtype, (1, length))
    za, zb, zy = (data.draw(zero_points(dtype)) for _ in range(3))
    inputs = [
        a,
        scalar(sa, F32),
        scalar(za, dtype),
        b,
        scalar(sb, F32),
        scalar(zb, dtype),
        scalar(sy, F32),
        scalar(zy, dtype),
    ]
    ref = run_node("QLinearAdd", inputs, dtype, domain=MS_DOMAIN, feed_indices=(0, 3))
    np.testing.assert_array_equal(kn.qlinear_add_onnx(a, sa, za, b, sb, zb, sy, zy), ref)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DTYPES), st.lists(st.integers(1, 4), min_size=2, max_size=4), st.data())
def test_qlinear_concat_bit_exact(dtype: type, widths: list[int], data: st.DataObject) -> None:
    rng = rng_for(data)
    ys, yz = data.draw(scales(-6, 0)), data.draw(zero_points(dtype))
    parts = []
    for i, c in enumerate(widths):
        same = i == 0 or data.draw(st.booleans())
        s, z = (ys, yz) if same else (data.draw(scales(-6, 0)), data.draw(zero_points(dtype)))
        parts.append((codes(rng, dtype, (1, c, 3, 4)), s, z))
    inputs: list[np.ndarray | None] = [scalar(ys, F32), scalar(yz, dtype)]
    for q, s, z in parts:
        inputs += [q, scalar(s, F32), scalar(z, dtype)]
    feeds = tuple(2 + 3 * i for i in range(len(parts)))
    ref = run_node(
        "QLinearConcat", inputs, dtype, attrs={"axis": 1}, domain=MS_DOMAIN, feed_indices=feeds
    )
    np.testing.assert_array_equal(kn.concat_onnx(parts, ys, yz, axis=1), ref)


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
        (lambda: kn.maxpool2d(np.zeros((1, 1, 4, 4), np.int8), (2, 2), pads=(1, 1)), "pads must"),
        (lambda: kn.maxpool2d(np.zeros((1, 1, 4, 4), np.int8), (0, 2)), "kernel must"),
        (
            lambda: kn.matmul_accumulate(np.zeros((2, 3), np.int8), 0, np.zeros((4, 2), np.int8)),
            "matmul shapes must",
        ),
        (
            lambda: kn.global_avgpool_onnx(np.zeros((1, 1, 2, 2), np.int8), 1.0, 0, 1e-6, 0),
            r"x_scale / \(y_scale",
        ),
    ],
)
def test_kernel_errors_name_the_rule(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]

"""QLinearAdd / QLinearMul / QLinearConcat against onnxruntime, bit for bit (exhaustive over all
input pairs where feasible)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import MS_DOMAIN, run_node, scalar
from qstrategies import DTYPES, F32, codes, rng_for, scales, zero_points

from accel.functional import elementwise as kn
from accel.functional import lookup

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
    np.testing.assert_array_equal(lookup.concat_onnx(parts, ys, yz, axis=1), ref)

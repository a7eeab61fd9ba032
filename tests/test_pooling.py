"""Max, average and global-average pooling against onnxruntime, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import MS_DOMAIN, run_node, scalar
from qstrategies import DTYPES, F32, codes, onnx_pads, rng_for, scales, zero_points

from accel.functional import pooling as kn

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


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kn.maxpool2d(np.zeros((1, 1, 4, 4), np.int8), (2, 2), pads=(1, 1)), "pads must"),
        (lambda: kn.maxpool2d(np.zeros((1, 1, 4, 4), np.int8), (0, 2)), "kernel must"),
        (
            lambda: kn.global_avgpool_onnx(np.zeros((1, 1, 2, 2), np.int8), 1.0, 0, 1e-6, 0),
            r"x_scale / \(y_scale",
        ),
    ],
)
def test_pooling_errors_name_the_rule(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]

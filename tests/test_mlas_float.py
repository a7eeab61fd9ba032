"""accel's float32 Conv and Gemm against onnxruntime's (MLAS, one intra-op thread), bit for bit.

The weights are graph inputs, as behind a DequantizeLinear in a QDQ model, so onnxruntime runs
its plain MLAS kernels (constant weights would let it switch to the blocked NCHWc layout).
Values are multiples of a scale, like dequantized codes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from accel.functional.kernels.cpu import MODELLED_FLOAT_PATHS, float_path
from accel.functional.kernels.mlas_float import conv2d, gemm, sgemm, strides

ort = pytest.importorskip("onnxruntime")
# These compare with onnxruntime's float kernels on this CPU: only where accel models them.
ON_MODELLED_CPU = pytest.mark.skipif(
    float_path() not in MODELLED_FLOAT_PATHS,
    reason=f"this CPU's MLAS float path ({float_path()}) is not modelled by accel; its float "
    "islands are refused (tests/test_mlas_golden.py checks the modelled paths on every CPU)",
)
pytestmark = ON_MODELLED_CPU


def _run(node: object, feeds: dict[str, np.ndarray]) -> np.ndarray:
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape))
              for name, a in feeds.items()]  # fmt: skip
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([node], "g", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    result: np.ndarray = session.run(None, feeds)[0]
    return result


def _values(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    return (rng.integers(-128, 128, shape) * np.float32(scale)).astype(np.float32)


def test_strides_follow_mlas() -> None:
    assert strides(81, 576) == (128, 128)  # N not small enough to deepen K
    assert strides(41, 576) == (64, 256)
    assert strides(25, 288) == (32, 512)
    assert strides(1000, 9) == (1024, 16)  # a short K widens N


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["dense", "depthwise", "grouped"]),
    channels=st.sampled_from([1, 3, 8, 16, 48, 96]),
    kernel=st.sampled_from([1, 3, 5]),
    stride=st.sampled_from([1, 2]),
    dilation=st.sampled_from([1, 2]),
    size=st.integers(1, 12),
    batch=st.integers(1, 2),
)
def test_conv2d_matches_onnxruntime(seed: int, kind: str, channels: int, kernel: int,
                                    stride: int, dilation: int, size: int, batch: int) -> None:
    rng = np.random.default_rng(seed)
    groups = {"dense": 1, "depthwise": channels}.get(kind, 2 if channels % 2 == 0 else 1)
    out_channels = int(rng.choice([4, 8, 64, 200])) if kind == "dense" else groups * 2
    pad = int(rng.integers(0, kernel // 2 + 1))
    if size + 2 * pad < dilation * (kernel - 1) + 1:
        return
    x = _values(rng, (batch, channels, size, size), 0.0371)
    w = _values(rng, (out_channels, channels // groups, kernel, kernel), 0.0123)
    b = _values(rng, (out_channels,), 0.0004563)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[pad] * 4, group=groups,
                            strides=[stride] * 2, dilations=[dilation] * 2)  # fmt: skip
    expected = _run(node, {"x": x, "w": w, "b": b})
    got = conv2d(x, w, b, (stride, stride), (pad,) * 4, (dilation, dilation), groups,
                 expected.shape[2:])  # fmt: skip
    np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.sampled_from([1, 1, 2, 3]),
       depth=st.integers(1, 700), width=st.integers(1, 70), trans_b=st.booleans())
def test_gemm_matches_onnxruntime(seed: int, rows: int, depth: int, width: int,
                                  trans_b: bool) -> None:
    rng = np.random.default_rng(seed)
    x = _values(rng, (rows, depth), 0.0371)
    w = _values(rng, (width, depth), 0.0123)
    b = _values(rng, (width,), 0.0004563)
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=int(trans_b))
    expected = _run(node, {"x": x, "w": w if trans_b else np.ascontiguousarray(w.T), "b": b})
    np.testing.assert_array_equal(gemm(x, w, b, trans_b).view(np.int32),
                                  expected.view(np.int32))  # fmt: skip


def test_sgemm_adds_k_slices_in_order() -> None:
    """Not one FMA chain: with K = 300 and N = 200, K is cut 128 + 128 + 44 and the slices'
    sums are added (a single chain differs in the last bit somewhere)."""
    rng = np.random.default_rng(1)
    a, b = _values(rng, (3, 300), 0.0371), _values(rng, (300, 200), 0.0123)
    sliced = sgemm(a, b)
    chain = np.zeros((3, 200), np.float32)
    from accel.functional.elementwise import fma_f32

    for k in range(300):
        chain = fma_f32(a[:, k : k + 1], b[k : k + 1], chain)
    assert np.count_nonzero(sliced != chain) > 0

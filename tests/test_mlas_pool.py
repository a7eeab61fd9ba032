"""accel's float32 average pools and ReduceMean against onnxruntime's, bit for bit (one thread).

The kernel onnxruntime picks (NCHWc for channel counts its blocked layout takes, else MLAS's
global, vector or generic kernel; Eigen for ReduceMean) is read from its optimized graph, as
`accel.check.ort_graph` does for a model file.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from accel.functional.kernels.cpu import MODELLED_FLOAT_PATHS, float_path, nchwc_block_size
from accel.functional.kernels.mlas_pool import (
    average_pool,
    mean_eigen,
    reduce_mean,
    uses_vector_kernel,
)

ort = pytest.importorskip("onnxruntime")
# These compare with onnxruntime's float kernels on this CPU: only where accel models them.
ON_MODELLED_CPU = pytest.mark.skipif(
    float_path() not in MODELLED_FLOAT_PATHS,
    reason=f"this CPU's MLAS float path ({float_path()}) is not modelled by accel; its float "
    "islands are refused (tests/test_mlas_golden.py checks the modelled paths on every CPU)",
)
pytestmark = ON_MODELLED_CPU


def _run(op: str, x: np.ndarray, tmp_path: object, **attrs: object) -> tuple[np.ndarray, str]:
    """onnxruntime's output and the name of the kernel its optimized graph runs."""
    from pathlib import Path

    node = helper.make_node(op, ["x"], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    saved = Path(str(tmp_path)) / "optimized.onnx"
    options.optimized_model_filepath = str(saved)
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    pool = next(n for n in onnx.load(str(saved)).graph.node if n.op_type == op)
    prefix = "com.microsoft.nchwc." if pool.domain == "com.microsoft.nchwc" else ""
    return session.run(None, {"x": x})[0], prefix + op


def _values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.integers(-128, 128, shape) * np.float32(0.0371)).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), channels=st.sampled_from([3, 8, 16, 24, 32]),
       include_pad=st.booleans(), ceil_mode=st.booleans())
def test_average_pool_matches_onnxruntime(seed: int, channels: int, include_pad: bool,
                                          ceil_mode: bool,
                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(2, 15, 2))
    kernel = (int(rng.integers(1, min(height, 5) + 1)), int(rng.integers(1, min(width, 5) + 1)))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    top, left, bottom, right = (int(rng.integers(0, k)) for k in (*kernel, *kernel))
    x = _values(rng, (int(rng.integers(1, 3)), channels, height, width))
    expected, kernel_name = _run(
        "AveragePool", x, tmp_path_factory.mktemp("pool"), kernel_shape=list(kernel),
        strides=list(stride), pads=[top, left, bottom, right],
        count_include_pad=int(include_pad), ceil_mode=int(ceil_mode),
    )  # fmt: skip
    got = average_pool(x, kernel_name, kernel, stride, (top, bottom, left, right),
                       expected.shape[2:], include_pad, ceil_mode)  # fmt: skip
    np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))


@pytest.mark.parametrize(("channels", "size"), [(8, 7), (24, 5), (16, 7), (32, 14), (3, 1)])
def test_global_average_pool_matches_onnxruntime(channels: int, size: int,
                                                 tmp_path: object) -> None:
    x = _values(np.random.default_rng(size), (2, channels, size, size))
    expected, kernel_name = _run("GlobalAveragePool", x, tmp_path)
    # MLAS blocks channels by 16 on AVX-512F and by 8 on AVX2: the layout is the CPU's choice.
    assert kernel_name.startswith("com.microsoft.nchwc.") == (channels % nchwc_block_size() == 0)
    got = average_pool(x, kernel_name, (size, size), (1, 1), (0, 0, 0, 0), (1, 1), False)
    np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 2), channels=st.integers(1, 40),
       height=st.integers(1, 15), width=st.integers(1, 15))
def test_reduce_mean_matches_onnxruntime(seed: int, batch: int, channels: int, height: int,
                                         width: int,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    x = _values(np.random.default_rng(seed), (batch, channels, height, width))
    expected, _ = _run("ReduceMean", x, tmp_path_factory.mktemp("mean"), axes=[2, 3],
                       keepdims=1)  # fmt: skip
    np.testing.assert_array_equal(mean_eigen(x).view(np.int32), expected.view(np.int32))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.lists(st.sampled_from([1, 2, 3, 5, 8, 13, 40]),
       min_size=3, max_size=3), batch=st.integers(1, 2),
       axes=st.sets(st.sampled_from([1, 2, 3]), min_size=1))  # fmt: skip
def test_reduce_mean_over_any_axes_matches_onnxruntime(
    seed: int, shape: list[int], batch: int, axes: set[int],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every pattern of kept/reduced blocks: ORT's fast kernels (KR, R, RK, KRK) and its
    generic loop (channels and width without height: KRKR, RKR)."""
    x = _values(np.random.default_rng(seed), (batch, *shape))
    expected, _ = _run("ReduceMean", x, tmp_path_factory.mktemp("mean"), axes=sorted(axes),
                       keepdims=1)  # fmt: skip
    got = reduce_mean(x, tuple(sorted(axes)))
    np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 3), channels=st.integers(1, 70),
       height=st.integers(1, 9), width=st.integers(1, 70), keepdims=st.booleans())
def test_reduce_mean_over_channels_and_width_matches_onnxruntime(
    seed: int, batch: int, channels: int, height: int, width: int, keepdims: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """ORT's generic loop (NoTransposeReduce1Loop): per (batch, row), a float32 sum from 0
    of the C·W values in row-major order, ÷ C·W; size-1 dimensions are not squeezed (a
    height of 1 still takes this loop, not Eigen's sum). Gaussian values, so that a changed
    order moves the last bit."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((batch, channels, height, width)) * 37).astype(np.float32)
    expected, _ = _run("ReduceMean", x, tmp_path_factory.mktemp("mean"), axes=[1, 3],
                       keepdims=int(keepdims))  # fmt: skip
    got = reduce_mean(x, (1, 3))
    assert got.shape == (batch, 1, height, 1)
    np.testing.assert_array_equal(got.reshape(expected.shape).view(np.int32),
                                  expected.view(np.int32))  # fmt: skip


def test_generic_order_differs_from_eigen_s() -> None:
    """The order matters: Eigen's packet sum of the same C·W values (what ORT would run if it
    squeezed a height of 1 to KR) gives a different float32 for this input."""
    x = (np.random.default_rng(1).standard_normal((1, 64, 1, 57)) * 37).astype(np.float32)
    generic = reduce_mean(x, (1, 3))
    eigen = reduce_mean(x.reshape(1, 1, 1, 64 * 57), (3,))
    assert generic.ravel()[0] != eigen.ravel()[0]


def test_vector_kernel_choice() -> None:
    assert uses_vector_kernel((3, 3), (2, 2), (1, 1, 1, 1), 224)
    assert not uses_vector_kernel((3, 3), (3, 3), (1, 1, 1, 1), 224)  # column stride 3
    assert not uses_vector_kernel((33, 3), (1, 1), (0, 0, 0, 0), 64)  # kernel over 32
    assert not uses_vector_kernel((3, 3), (1, 1), (0, 0, 0, 0), 2046)  # buffer too small

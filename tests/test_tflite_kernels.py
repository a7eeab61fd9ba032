"""accel's `tflite` mode against TFLite's reference integer kernels, bit for bit.

One-op .tflite flatbuffers are built offline (accel.io.tflite_flatbuffer, on the schema bindings
that ship in ai-edge-litert) and run twice: in LiteRT with the reference op resolver (BUILTIN_REF)
and in tflite-micro, whose kernels are the reference ones. TFLite is NHWC with OHWI filters; accel is NCHW/OIHW, so inputs
and outputs are transposed at the boundary. Skipped when the packages are not installed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accel.functional import conv, elementwise, pooling
from accel.functional import requant as rq
from accel.io.tflite_flatbuffer import TfliteBuilder

schema = pytest.importorskip(
    "ai_edge_litert.schema_py_generated",
    reason="ai-edge-litert (TFLite reference kernels) is not installed",
)
litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert is not installed")

F32 = np.float32
ACTIVATIONS = {"none": 0, "relu": 1, "relu6": 3}  # TFLite ActivationFunctionType codes


def _tensor(
    name: str,
    shape: Sequence[int],
    ttype: int,
    scale: Sequence[float] | float,
    zp: Sequence[int] | int,
    qdim: int = 0,
) -> dict[str, object]:
    """A tensor description for `_model` (TensorType code, quantization on axis `qdim`)."""
    dtype = {schema.TensorType.INT8: "int8", schema.TensorType.INT32: "int32"}[ttype]
    return {"name": name, "shape": shape, "dtype": dtype, "scale": scale, "zero_point": zp,
            "axis": qdim}  # fmt: skip


def _model(
    op: int,
    options_type: int,
    options: object,
    tensors: list[dict[str, object]],
    consts: dict[int, np.ndarray],
    n_inputs: int,
) -> bytes:
    """One-operator model: tensors[:n_inputs] are fed, the last tensor is the output."""
    del options_type  # TfliteBuilder derives it from the options object
    builder = TfliteBuilder()
    ids = [builder.tensor(**spec, data=consts.get(i)) for i, spec in enumerate(tensors)]  # type: ignore[arg-type]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    builder.operator(names[op], ids[:-1], ids[-1:], options)
    return builder.finish(ids[:n_inputs], ids[-1:])


def _run_both(model: bytes, feeds: Sequence[np.ndarray], litert_too: bool = True) -> np.ndarray:
    """Run in LiteRT's reference kernels and, if installed, tflite-micro; they must agree.

    With `litert_too` false, tflite-micro alone is the reference (LiteRT 2.3's MUL computes its
    multiplier s_a·s_b/s_y in float32, tflite-micro in double; they differ by one step of the
    int32 multiplier and so, rarely, by one in the output).
    """
    interp = litert.Interpreter(
        model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    interp.allocate_tensors()
    for detail, x in zip(interp.get_input_details(), feeds, strict=True):
        interp.set_tensor(detail["index"], x)
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        return out
    arena = 4 * sum(x.nbytes for x in feeds) + (1 << 16)  # room for inputs, output, scratch
    micro = runtime.Interpreter.from_bytes(model, arena_size=arena)
    for i, x in enumerate(feeds):
        micro.set_input(x, i)
    micro.invoke()
    if litert_too:
        np.testing.assert_array_equal(micro.get_output(0), out)
    return np.asarray(micro.get_output(0))


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """TFLite SAME padding: out = ceil(size / stride), extra padding goes to the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return out, total // 2, total - total // 2


def _geometry(
    padding: str, hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int], d: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    if padding == "SAME":
        oh, top, bottom = _same_pads(hw[0], k[0], s[0], d[0])
        ow, left, right = _same_pads(hw[1], k[1], s[1], d[1])
        return (oh, ow), (top, bottom, left, right)
    oh = (hw[0] - (k[0] - 1) * d[0] - 1) // s[0] + 1
    ow = (hw[1] - (k[1] - 1) * d[1] - 1) // s[1] + 1
    return (oh, ow), (0, 0, 0, 0)


@st.composite
def conv_params(draw: st.DrawFn) -> dict[str, object]:
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    hw = (draw(st.integers((k[0] - 1) * d[0] + 1, 8)), draw(st.integers((k[1] - 1) * d[1] + 1, 8)))
    return {
        "k": k,
        "d": d,
        "hw": hw,
        "s": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        "padding": draw(st.sampled_from(["SAME", "VALID"])),
        "act": draw(st.sampled_from(list(ACTIVATIONS))),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "xz": draw(st.sampled_from([-128, 127, 0, -1]) | st.integers(-128, 127)),
        "yz": draw(st.integers(-128, 127)),
        "xs": draw(st.sampled_from([2.0**-4, 0.0478]) | st.floats(0.005, 0.2)),
        "ys": draw(st.sampled_from([2.0**-2, 0.31]) | st.floats(0.02, 2.0)),
    }


def _conv_like(p: dict[str, object], depthwise: bool, mult: int = 1) -> None:
    rng = np.random.default_rng(p["seed"])  # type: ignore[arg-type]
    c = 4 if depthwise else 3
    m = c * mult if depthwise else 5
    k, s, d, hw = p["k"], p["s"], p["d"], p["hw"]
    xs, ys = float(F32(p["xs"])), float(F32(p["ys"]))  # type: ignore[arg-type]
    x = rng.integers(-128, 128, (1, *hw, c)).astype(np.int8)  # type: ignore[misc]
    ws = (2.0 ** rng.uniform(-9, -5, m)).astype(F32)
    bias = rng.integers(-3000, 3000, m).astype(np.int32)
    (oh, ow), pads = _geometry(p["padding"], hw, k, s, d)  # type: ignore[arg-type]
    tt = schema.TensorType
    if depthwise:  # filter [1, KH, KW, C*mult], per-channel along dim 3
        w_nhwc = rng.integers(-127, 128, (1, *k, m)).astype(np.int8)  # type: ignore[misc]
        w_oihw = w_nhwc.transpose(3, 0, 1, 2)
        w_t = _tensor("w", w_nhwc.shape, tt.INT8, ws, [0] * m, qdim=3)
        opts = schema.DepthwiseConv2DOptionsT()
        opts.depthMultiplier = mult
        op, opt_type = (
            schema.BuiltinOperator.DEPTHWISE_CONV_2D,
            schema.BuiltinOptions.DepthwiseConv2DOptions,
        )
    else:  # filter OHWI, per-channel along dim 0
        w_nhwc = rng.integers(-127, 128, (m, *k, c)).astype(np.int8)  # type: ignore[misc]
        w_oihw = w_nhwc.transpose(0, 3, 1, 2)
        w_t = _tensor("w", w_nhwc.shape, tt.INT8, ws, [0] * m, qdim=0)
        opts = schema.Conv2DOptionsT()
        op, opt_type = schema.BuiltinOperator.CONV_2D, schema.BuiltinOptions.Conv2DOptions
    opts.padding = schema.Padding.SAME if p["padding"] == "SAME" else schema.Padding.VALID
    opts.strideH, opts.strideW = s  # type: ignore[misc]
    opts.dilationHFactor, opts.dilationWFactor = d  # type: ignore[misc]
    opts.fusedActivationFunction = ACTIVATIONS[p["act"]]  # type: ignore[index]
    bias_scale = (np.float64(xs) * ws.astype(np.float64)).astype(F32)
    tensors = [
        _tensor("x", x.shape, tt.INT8, xs, p["xz"]),
        w_t,  # type: ignore[arg-type]
        _tensor("b", [m], tt.INT32, bias_scale, [0] * m),
        _tensor("y", [1, oh, ow, m], tt.INT8, ys, p["yz"]),
    ]  # type: ignore[arg-type]
    ref = _run_both(_model(op, opt_type, opts, tensors, {1: w_nhwc, 2: bias}, 1), [x])

    acc = conv.conv2d_accumulate(
        x.transpose(0, 3, 1, 2),
        p["xz"],
        w_oihw,
        bias,
        strides=s,  # type: ignore[arg-type]
        pads=pads,
        dilations=d,
        groups=c if depthwise else 1,
    )  # type: ignore[arg-type]
    mult_q, shift = rq.tflite_conv_multipliers(xs, ws, ys)
    lo, hi = rq.activation_bounds(p["act"], ys, p["yz"], np.int8, "tflite")  # type: ignore[arg-type]
    got = rq.requantize_tflite(acc, mult_q, shift, p["yz"], np.int8, act_min=lo, act_max=hi)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got.transpose(0, 2, 3, 1), ref)


@settings(max_examples=40, deadline=None)
@given(conv_params())
def test_tflite_conv2d_per_channel(p: dict[str, object]) -> None:
    _conv_like(p, depthwise=False)


@settings(max_examples=40, deadline=None)
@given(conv_params(), st.sampled_from([1, 2]))
def test_tflite_depthwise_conv2d(p: dict[str, object], mult: int) -> None:
    _conv_like(p, depthwise=True, mult=mult)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 300),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
    st.integers(-128, 127),
    st.integers(-128, 127),
    st.sampled_from(list(ACTIVATIONS)),
)
def test_tflite_fully_connected(
    n: int, k: int, m: int, seed: int, xz: int, yz: int, act: str
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (n, k)).astype(np.int8)
    w = rng.integers(-127, 128, (m, k)).astype(np.int8)
    bias = rng.integers(-5000, 5000, m).astype(np.int32)
    xs, ws, ys = (
        float(F32(rng.uniform(0.01, 0.1))),
        float(F32(2.0**-7)),
        float(F32(rng.uniform(0.05, 1))),
    )
    tt = schema.TensorType
    opts = schema.FullyConnectedOptionsT()
    opts.fusedActivationFunction = ACTIVATIONS[act]
    tensors = [
        _tensor("x", x.shape, tt.INT8, xs, xz),
        _tensor("w", w.shape, tt.INT8, ws, 0),
        _tensor("b", [m], tt.INT32, float(F32(np.float64(xs) * ws)), 0),
        _tensor("y", [n, m], tt.INT8, ys, yz),
    ]
    model = _model(
        schema.BuiltinOperator.FULLY_CONNECTED,
        schema.BuiltinOptions.FullyConnectedOptions,
        opts,
        tensors,
        {1: w, 2: bias},
        1,
    )
    ref = _run_both(model, [x])
    acc = conv.matmul_accumulate(x, xz, w.T, bias=bias)
    mq, sh = rq.tflite_conv_multipliers(xs, ws, ys)
    lo, hi = rq.activation_bounds(act, ys, yz, np.int8, "tflite")  # type: ignore[arg-type]
    got = rq.requantize_tflite(acc, mq, sh, yz, np.int8, axis=-1, act_min=lo, act_max=hi)
    np.testing.assert_array_equal(got, ref)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from(["SAME", "VALID"]),
    st.integers(0, 2**32 - 1),
    st.integers(-128, 127),
    st.sampled_from(list(ACTIVATIONS)),
)
def test_tflite_average_pool(
    kh: int, kw: int, sh: int, sw: int, padding: str, seed: int, zp: int, act: str
) -> None:
    rng = np.random.default_rng(seed)
    hw = (int(rng.integers(kh, 9)), int(rng.integers(kw, 9)))
    x = rng.integers(-128, 128, (1, *hw, 3)).astype(np.int8)
    scale = float(F32(rng.uniform(0.01, 0.5)))
    (oh, ow), pads = _geometry(padding, hw, (kh, kw), (sh, sw), (1, 1))
    opts = schema.Pool2DOptionsT()
    opts.padding = schema.Padding.SAME if padding == "SAME" else schema.Padding.VALID
    opts.strideH, opts.strideW, opts.filterHeight, opts.filterWidth = sh, sw, kh, kw
    opts.fusedActivationFunction = ACTIVATIONS[act]
    tt = schema.TensorType
    tensors = [
        _tensor("x", x.shape, tt.INT8, scale, zp),
        _tensor("y", [1, oh, ow, 3], tt.INT8, scale, zp),
    ]
    model = _model(
        schema.BuiltinOperator.AVERAGE_POOL_2D,
        schema.BuiltinOptions.Pool2DOptions,
        opts,
        tensors,
        {},
        1,
    )
    ref = _run_both(model, [x])
    lo, hi = rq.activation_bounds(act, scale, zp, np.int8, "tflite")  # type: ignore[arg-type]
    got = pooling.avgpool2d_tflite(
        x.transpose(0, 3, 1, 2), (kh, kw), strides=(sh, sw), pads=pads, act_min=lo, act_max=hi
    )
    np.testing.assert_array_equal(got.transpose(0, 2, 3, 1), ref)


@pytest.mark.parametrize("op", ["ADD", "MUL"])
@settings(max_examples=30, deadline=None)
@given(
    sa=st.floats(0.005, 0.5),
    sb=st.floats(0.005, 0.5),
    sy=st.floats(0.005, 1.0),
    zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127), st.integers(-128, 127)),
    act=st.sampled_from(list(ACTIVATIONS)),
)
@example(sa=0.13527546755136655, sb=0.008532410607101488, sy=0.5, zps=(0, 25, 0),
         act="none")  # LiteRT and tflite-micro disagree here; accel follows tflite-micro
def test_tflite_add_mul_exhaustive(
    op: str, sa: float, sb: float, sy: float, zps: tuple[int, int, int], act: str
) -> None:
    sa, sb, sy = float(F32(sa)), float(F32(sb)), float(F32(sy))
    grid = np.arange(-128, 128, dtype=np.int8)
    a = np.repeat(grid, 256).reshape(1, 256, 256, 1)
    b = np.tile(grid, 256).reshape(1, 256, 256, 1)
    tt = schema.TensorType
    opts = schema.AddOptionsT() if op == "ADD" else schema.MulOptionsT()
    opts.fusedActivationFunction = ACTIVATIONS[act]
    tensors = [
        _tensor("a", a.shape, tt.INT8, sa, zps[0]),
        _tensor("b", b.shape, tt.INT8, sb, zps[1]),
        _tensor("y", a.shape, tt.INT8, sy, zps[2]),
    ]
    code = getattr(schema.BuiltinOperator, op)
    opt_type = schema.BuiltinOptions.AddOptions if op == "ADD" else schema.BuiltinOptions.MulOptions
    ref = _run_both(_model(code, opt_type, opts, tensors, {}, 2), [a, b], litert_too=op == "ADD")
    lo, hi = rq.activation_bounds(act, sy, zps[2], np.int8, "tflite")  # type: ignore[arg-type]
    fn = elementwise.add_tflite if op == "ADD" else elementwise.mul_tflite
    got = fn(a, sa, zps[0], b, sb, zps[1], sy, zps[2], act_min=lo, act_max=hi)
    np.testing.assert_array_equal(got, ref)

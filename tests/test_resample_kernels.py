"""accel's resize, PReLU, tanh, hard-sigmoid and depth/space kernels against the references, bit
for bit: onnxruntime (nearest Resize on int8 codes in every coordinate and nearest mode, with
scales or sizes; linear Resize on int8 / uint8 codes, NCHW and NHWC, and on float32 values; DequantizeLinear → PRelu / Tanh / HardSigmoid → QuantizeLinear as quantize_static
leaves them; DepthToSpace / SpaceToDepth on codes) and tflite-micro plus LiteRT's reference
kernels (RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR with align_corners / half_pixel_centers,
PRELU per channel or shared, TANH), over random shapes, scales and zero points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qstrategies import rng_for, scales, zero_points

from accel.functional import lookup, prelu_tanh, resample
from accel.model.quantized import QuantParams
from accel.model.resample_ops import DepthToSpace, Resize, SpaceToDepth

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

COORDINATES = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
               "tf_half_pixel_for_nn"]  # fmt: skip
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


ELEMENT = {np.dtype(np.int8): TensorProto.INT8, np.dtype(np.uint8): TensorProto.UINT8,
           np.dtype(np.float32): TensorProto.FLOAT}


def _ort(nodes: list[Any], inits: dict[str, np.ndarray], x: np.ndarray,
         y_type: int = TensorProto.INT8) -> np.ndarray:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", ELEMENT[x.dtype], list(x.shape))],
        [helper.make_tensor_value_info("y", y_type, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.log_severity_level = 1, 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    return np.asarray(session.run(None, {"x": x})[0])


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from(COORDINATES), st.sampled_from(NEAREST), st.booleans())
def test_nearest_resize_equals_onnxruntime(data: st.DataObject, coordinate: str, nearest: str,
                                           by_size: bool) -> None:
    rng = rng_for(data)
    c, h, w = (data.draw(st.integers(1, n)) for n in (3, 7, 7))
    x = rng.integers(-128, 128, (1, c, h, w)).astype(np.int8)
    if by_size:
        size = (data.draw(st.integers(1, 15)), data.draw(st.integers(1, 15)))
        op = Resize(size=size, coordinate_mode=coordinate, nearest_mode=nearest)
        inits, args = {"sizes": np.array([1, c, *size], np.int64)}, ["x", "", "", "sizes"]
    else:
        pick = st.sampled_from([0.5, 0.75, 1.3, 1.5, 2.0, 2.5, 3.0])
        scale = (data.draw(pick), data.draw(pick))
        op = Resize(scale=scale, coordinate_mode=coordinate, nearest_mode=nearest)
        inits, args = {"scales": np.array([1, 1, *scale], np.float32)}, ["x", "", "scales"]
    node = helper.make_node("Resize", args, ["y"], mode="nearest",
                            coordinate_transformation_mode=coordinate, nearest_mode=nearest)
    np.testing.assert_array_equal(resample.resize_nearest(x, op, "onnx"), _ort([node], inits, x))


def _resize_case(data: st.DataObject, n: int, c: int, coordinate: str, mode: str,
                 by_size: bool) -> tuple[Resize, dict[str, np.ndarray], list[str]]:
    """A Resize op and the ONNX node's inputs for it, by sizes or by scales (up or down)."""
    if by_size:
        size = (data.draw(st.integers(1, 15)), data.draw(st.integers(1, 15)))
        return (Resize(size=size, mode=mode, coordinate_mode=coordinate),
                {"sizes": np.array([n, c, *size], np.int64)}, ["x", "", "", "sizes"])  # fmt: skip
    pick = st.sampled_from([0.5, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0])
    scale = (data.draw(pick), data.draw(pick))
    return (Resize(scale=scale, mode=mode, coordinate_mode=coordinate),
            {"scales": np.array([1, 1, *scale], np.float32)}, ["x", "", "scales"])  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.data(), st.sampled_from(COORDINATES), st.sampled_from(["int8", "uint8", "float32"]),
       st.booleans(), st.booleans())
def test_bilinear_resize_equals_onnxruntime(data: st.DataObject, coordinate: str, dtype: str,
                                            by_size: bool, nhwc: bool) -> None:
    """Linear Resize on int8 / uint8 codes (truncated float32 sums; channels-last, the integer
    kernel) and on float32 values (the float island of DequantizeLinear → Resize →
    QuantizeLinear), every coordinate mode, by sizes or scales."""
    rng = rng_for(data)
    n, c, h, w = (data.draw(st.integers(1, k)) for k in (2, 3, 7, 7))
    if dtype == "float32":
        x = (rng.standard_normal((n, c, h, w)) * 40).astype(np.float32)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, (n, c, h, w)).astype(dtype)
    op, inits, args = _resize_case(data, n, c, coordinate, "bilinear", by_size)
    nhwc = nhwc and dtype != "float32"  # ORT moves only 8-bit Resizes channels-last
    feed = x
    if nhwc:  # the same resize on a channels-last tensor: scales or sizes on axes 1 and 2
        feed = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        key = args[-1]
        inits = {key: inits[key][[0, 2, 3, 1]]}
    node = helper.make_node("Resize", args, ["y"], mode="linear",
                            coordinate_transformation_mode=coordinate)
    expected = _ort([node], inits, feed, ELEMENT[x.dtype])
    if nhwc:
        expected = np.ascontiguousarray(expected.transpose(0, 3, 1, 2))
    ours = resample.resize_bilinear_onnx(x, op, nhwc=nhwc)
    assert ours.dtype == expected.dtype
    np.testing.assert_array_equal(ours.view(np.uint8), expected.view(np.uint8))  # bit for bit


def test_the_two_integer_bilinear_kernels_differ() -> None:
    """ORT's NCHW kernel (float32 weights) and its NHWC one (10-bit weights) give different
    codes for one input, so each check follows the layout ORT runs."""
    x = np.array([[[[-128, 127, -101, 77, 0, 5], [3, -7, 127, 127, -128, 60]]]], np.int8)
    op = Resize(size=(3, 13), mode="bilinear", coordinate_mode="half_pixel")
    nchw, nhwc = resample.resize_bilinear_onnx(x, op), resample.resize_bilinear_onnx(x, op, True)
    assert int(np.sum(nchw != nhwc)) == 4  # of 39 outputs


def test_bilinear_resize_truncates_toward_zero() -> None:
    """ORT's int8 linear Resize casts the float32 sum to the code type: -1.5 becomes -1, 1.5
    becomes 1 (rounding would give -2 and 2)."""
    x = np.array([[[[-1, -2, 1, 2]]]], np.int8)
    op = Resize(size=(1, 7), mode="bilinear", coordinate_mode="align_corners")
    ours = resample.resize_bilinear_onnx(x, op)
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                            coordinate_transformation_mode="align_corners")
    expected = _ort([node], {"sizes": np.array([1, 1, 1, 7], np.int64)}, x)
    np.testing.assert_array_equal(ours, expected)
    assert ours.reshape(-1).tolist() == [-1, -1, -2, 0, 1, 1, 2]


def _qdq(kind: str, x: np.ndarray, xq: QuantParams, yq: QuantParams,
         extra_inputs: dict[str, np.ndarray], **attrs: Any) -> np.ndarray:
    inits = {"xs": np.array(xq.scale, np.float32), "xz": np.array(xq.zero_point, np.int8),
             "ys": np.array(yq.scale, np.float32), "yz": np.array(yq.zero_point, np.int8),
             **extra_inputs}  # fmt: skip
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["d"]),
             helper.make_node(kind, ["d", *extra_inputs], ["f"], **attrs),
             helper.make_node("QuantizeLinear", ["f", "ys", "yz"], ["y"])]  # fmt: skip
    return _ort(nodes, inits, x)


@settings(max_examples=40, deadline=None)
@given(st.data(), scales(-8, 0), zero_points(np.int8), scales(-8, 0), zero_points(np.int8))
def test_float_islands_equal_onnxruntime(data: st.DataObject, x_s: float, x_zp: int,
                                         y_s: float, y_zp: int) -> None:
    rng = rng_for(data)
    channels = data.draw(st.integers(1, 6))
    x = rng.integers(-128, 128, (2, channels, 3, 4)).astype(np.int8)
    xq, yq = QuantParams(x_s, x_zp), QuantParams(y_s, y_zp)
    slopes = (rng.random(channels) - 0.3).astype(np.float32)
    expected = _qdq("PRelu", x, xq, yq, {"slope": slopes.reshape(channels, 1, 1)})
    np.testing.assert_array_equal(prelu_tanh.prelu_onnx(x, xq, yq, slopes), expected)
    alpha = float(np.float32(data.draw(st.sampled_from([0.2, 1 / 6, 0.1, 0.25]))))
    for kind, function, attrs in (
        ("Tanh", prelu_tanh.mlas_tanh, {}),
        ("HardSigmoid", lambda v: lookup.hard_sigmoid_f32(v, alpha, 0.5),
         {"alpha": alpha, "beta": 0.5}),
    ):
        table = lookup.build_lookup_table(function, x_s, x_zp, y_s, y_zp, "int8")
        np.testing.assert_array_equal(lookup.apply_lookup_table(x, table),
                                      _qdq(kind, x, xq, yq, {}, **attrs))


def test_mlas_tanh_equals_onnxruntime_on_a_sweep_of_floats() -> None:
    x = np.linspace(-10, 10, 200_001, dtype=np.float32)
    graph = helper.make_graph([helper.make_node("Tanh", ["x"], ["y"])], "t",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 9
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})[0]
    np.testing.assert_array_equal(prelu_tanh.mlas_tanh(x).view(np.int32), expected.view(np.int32))


@pytest.mark.parametrize("order", ["DCR", "CRD"])
def test_block_moves_equal_onnxruntime(order: str) -> None:
    x = np.random.default_rng(3).integers(-128, 128, (2, 8, 3, 2)).astype(np.int8)
    node = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode=order)
    moved = resample.depth_to_space(x, DepthToSpace(block=2, order=order))
    np.testing.assert_array_equal(moved, _ort([node], {}, x))
    back = helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2)
    if order == "DCR":  # SpaceToDepth is DCR's inverse
        np.testing.assert_array_equal(resample.space_to_depth(moved, SpaceToDepth(block=2)), x)
    y = np.ascontiguousarray(moved)
    np.testing.assert_array_equal(resample.space_to_depth(y, SpaceToDepth(block=2)),
                                  _ort([back], {}, y))


# --- TFLite -------------------------------------------------------------------------------


def _tflite_both(model: bytes, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    micro = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
    runner = micro.Interpreter.from_bytes(model, arena_size=1 << 20)
    runner.set_input(x, 0)
    runner.invoke()
    interp = litert.Interpreter(model_content=model,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return runner.get_output(0), interp.get_tensor(interp.get_output_details()[0]["index"])


def _nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"]),
       st.sampled_from(["none", "align_corners", "half_pixel_centers"]))
def test_tflite_resize_equals_tflite_micro_and_litert(data: st.DataObject, kind: str,
                                                      flag: str) -> None:
    builders = pytest.importorskip("tflite_builders")
    rng = rng_for(data)
    c, h, w = (data.draw(st.integers(1, n)) for n in (3, 7, 7))
    size = (data.draw(st.integers(1, 13)), data.draw(st.integers(1, 13)))
    x = rng.integers(-128, 128, (1, c, h, w)).astype(np.int8)
    flags = {flag: True} if flag != "none" else {}
    model = builders.int8_unary(kind, [1, h, w, c], (0.05, 3), size=size, **flags)
    bilinear = kind == "RESIZE_BILINEAR"
    coordinate = {"none": "asymmetric", "align_corners": "align_corners",
                  "half_pixel_centers": "half_pixel" if bilinear else "tf_half_pixel_for_nn"}
    op = Resize(size=size, mode="bilinear" if bilinear else "nearest",
                coordinate_mode=coordinate[flag],  # type: ignore[arg-type]
                nearest_mode="round_prefer_ceil" if flag == "align_corners" else "floor")
    ours = (resample.resize_bilinear_tflite(x, op) if bilinear
            else resample.resize_nearest(x, op, "tflite"))  # fmt: skip
    micro, litert = _tflite_both(model, _nhwc(x))
    np.testing.assert_array_equal(_nhwc(ours), micro)
    np.testing.assert_array_equal(_nhwc(ours), litert)


@settings(max_examples=40, deadline=None)
@given(st.data(), scales(-8, 0), zero_points(np.int8), scales(-8, 0), zero_points(np.int8),
       st.booleans())
def test_tflite_prelu_equals_tflite_micro(tmp_path_factory: Any, data: st.DataObject, x_s: float,
                                          x_zp: int, y_s: float, y_zp: int,
                                          per_channel: bool) -> None:
    builders = pytest.importorskip("tflite_builders")
    pytest.importorskip("tflite")
    from accel.io.tflite_import import import_tflite

    rng = rng_for(data)
    c = data.draw(st.integers(1, 5))
    x = rng.integers(-128, 128, (1, c, 3, 4)).astype(np.int8)
    model = builders.int8_unary("PRELU", [1, 3, 4, c], (x_s, x_zp), (y_s, y_zp),
                                seed=data.draw(st.integers(0, 99)), per_channel=per_channel)
    path = Path(tmp_path_factory.mktemp("prelu")) / "p.tflite"
    path.write_bytes(model)
    imported = import_tflite(path)
    assert imported.quantized is not None
    attributes = imported.quantized.attributes[imported.network.layers[-1].name]
    ours = prelu_tanh.prelu_tflite(x, QuantParams(x_s, x_zp), QuantParams(y_s, y_zp),
                                 attributes["slope_codes"], attributes["slope_quant"])
    micro, _ = _tflite_both(model, _nhwc(x))
    np.testing.assert_array_equal(_nhwc(ours), micro)


@settings(max_examples=30, deadline=None)
@given(scales(-10, 0), zero_points(np.int8))
def test_tflite_tanh_equals_tflite_micro_on_every_code(x_s: float, x_zp: int) -> None:
    builders = pytest.importorskip("tflite_builders")
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 16, 16)
    model = builders.int8_unary("TANH", [1, 16, 16, 1], (x_s, x_zp), (1 / 128, 0))
    micro, litert = _tflite_both(model, _nhwc(x))
    ours = _nhwc(prelu_tanh.tanh_tflite(x, x_s, x_zp))
    np.testing.assert_array_equal(ours, micro)
    # LiteRT 2.3's int8 TANH reads a table of std::tanh rounded in float; it differs from
    # tflite-micro's fixed-point tanh by one code next to ties (tanh(2^-8)·128 just below 0.5).
    agree = micro == litert
    np.testing.assert_array_equal(ours[agree], litert[agree])
    assert np.abs(ours.astype(int) - litert).max() <= 1


def test_tflite_tanh_litert_rounds_a_near_tie_apart() -> None:
    builders = pytest.importorskip("tflite_builders")
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 16, 16)
    model = builders.int8_unary("TANH", [1, 16, 16, 1], (2**-8, -128), (1 / 128, 0))
    micro, litert = _tflite_both(model, _nhwc(x))
    ours = _nhwc(prelu_tanh.tanh_tflite(x, 2**-8, -128)).reshape(-1)
    assert np.array_equal(ours, micro.reshape(-1))
    assert (ours[1], litert.reshape(-1)[1]) == (1, 0)  # code -127: tanh(2^-8)·128 ≈ 0.49999


AXES = [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from(AXES), scales(-8, 0), zero_points(np.int8), scales(-8, 0),
       zero_points(np.int8), st.booleans())
def test_tflite_mean_equals_tflite_micro_and_litert(
    data: st.DataObject, axes: tuple[int, ...], x_s: float, x_zp: int, y_s: float, y_zp: int,
    same: bool,
) -> None:
    """A reduce_mean over any axes as accel's one-layer MEAN export (keep_dims) in both
    references, against `mean_tflite` (QuantizedMeanOrSum: 1/count folded into the
    multiplier), at one quantization or two."""
    from dataclasses import replace

    from accel.check.tflite_check import run_reference
    from accel.functional.calibrate import quantize_network
    from accel.functional.tflite_rescale import mean_tflite
    from accel.io.tflite_export import layer_model
    from accel.io.workload_yaml import parse_workload

    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("tflite_micro")
    rng = rng_for(data)
    n, c, h, w = (data.draw(st.integers(1, k)) for k in (2, 9, 9, 9))
    network = parse_workload({"name": "m", "input": {"channels": c, "height": h, "width": w},
                              "layers": [{"name": "m", "kind": "reduce_mean",
                                          "axes": list(axes)}]}, "m.yaml", {})  # fmt: skip
    layer = network.layers[0]
    xq = QuantParams(x_s, x_zp, "int8")
    yq = xq if same else QuantParams(y_s, y_zp, "int8")
    qnet = quantize_network(network)
    qnet = replace(qnet, activations={**qnet.activations, layer.inputs[0]: xq, "m": yq})
    model = layer_model(qnet, layer, n)
    assert model is not None
    x = rng.integers(-128, 128, (n, c, h, w)).astype(np.int8)
    ours = mean_tflite(x, xq.scale, xq.zero_point, yq.scale, yq.zero_point,
                       tuple(axis + 1 for axis in axes))  # fmt: skip
    outputs = run_reference(model, [_nhwc(x)])
    assert set(outputs) == {"tflite-micro", "litert-reference"}
    for output in outputs.values():
        np.testing.assert_array_equal(_nhwc(ours), output)

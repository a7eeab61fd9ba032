"""Resize, depth/space moves, PReLU, tanh, general hard-sigmoid and reduce-mean: the IR's shapes,
parameters and vector work, the workload YAML, and both importers (with their one-line refusals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_builders import GraphBuilder
from onnx_macs import count_macs

from accel.errors import InputError
from accel.io.workload_yaml import network_to_yaml, parse_workload
from accel.model.network import LayerEntry, Network
from accel.model.ops import Activation, Shape, Softmax
from accel.model.resample_ops import DepthToSpace, PRelu, ReduceMean, Resize, SpaceToDepth

onnx = pytest.importorskip("onnx")


def _shape(op: Any, shape: Shape) -> Shape:
    return op.output_shape((shape,))  # type: ignore[no-any-return]


def test_resize_output_sizes() -> None:
    x = Shape(8, 5, 7)
    assert _shape(Resize(scale=2), x) == Shape(8, 10, 14)
    assert _shape(Resize(scale=(1.5, 0.5)), x) == Shape(8, 7, 3)  # floor(in · scale)
    assert _shape(Resize(size=(9, 4), mode="bilinear"), x) == Shape(8, 9, 4)
    assert Resize(size=(10, 14)).axis_scales(5, 7) == (2.0, 2.0)


def test_resize_vector_work_is_one_copy_or_four_taps_per_output() -> None:
    x, y = Shape(4, 3, 3), Shape(4, 6, 6)
    assert Resize(scale=2).vector_ops((x,), y) == 144
    assert Resize(scale=2, mode="bilinear").vector_ops((x,), y) == 4 * 144


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "exactly one of scale or size"),
    ({"scale": 2, "size": 4}, "exactly one of scale or size"),
    ({"scale": 0}, "scale must be a positive number"),
    ({"scale": float("nan")}, "scale must be a positive number"),
    ({"size": [3, 0]}, "size must be a positive integer"),
    ({"scale": 2, "mode": "cubic"}, "mode"),
])
def test_resize_validation(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Resize(**fields)


def test_block_moves() -> None:
    assert _shape(DepthToSpace(block=2), Shape(12, 3, 4)) == Shape(3, 6, 8)
    assert _shape(SpaceToDepth(block=2), Shape(3, 6, 8)) == Shape(12, 3, 4)
    assert DepthToSpace.moves_values and SpaceToDepth.keeps_quantization
    with pytest.raises(ValueError, match="channels divisible by 4, not 6"):
        _shape(DepthToSpace(block=2), Shape(6, 3, 3))
    with pytest.raises(ValueError, match="must divide height and width, not 5x4"):
        _shape(SpaceToDepth(block=2), Shape(3, 5, 4))


def test_prelu_params_are_its_slopes() -> None:
    x = Shape(16, 8, 8)
    assert PRelu().params((x,)) == 16 and PRelu(shared_slope=True).params((x,)) == 1
    assert PRelu().vector_ops((x,), x) == x.elements


def test_reduce_mean_axes() -> None:
    x = Shape(16, 8, 6)
    assert _shape(ReduceMean(axes=(0,)), x) == Shape(1, 8, 6)
    assert _shape(ReduceMean(axes=(2, 0)), x) == Shape(1, 8, 1)
    assert ReduceMean(axes=(0,)).vector_ops((x,), Shape(1, 8, 6)) == x.elements
    with pytest.raises(ValueError, match="axes must be distinct values among 0, 1, 2"):
        ReduceMean(axes=(3,))


YAML = {
    "name": "heads",
    "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [
        {"name": "c1", "kind": "conv", "out_channels": 16, "kernel": 3, "padding": "same"},
        {"name": "p1", "kind": "prelu"},
        {"name": "up", "kind": "resize", "scale": 2, "mode": "bilinear",
         "coordinate_mode": "half_pixel"},
        {"name": "d2s", "kind": "depth_to_space", "block": 2, "order": "CRD"},
        {"name": "s2d", "kind": "space_to_depth", "block": 4},
        {"name": "t", "kind": "activation", "function": "tanh"},
        {"name": "hs", "kind": "activation", "function": "hard_sigmoid", "alpha": 0.2},
        {"name": "m", "kind": "reduce_mean", "axes": [0]},
    ],
}


def test_workload_yaml_round_trip() -> None:
    network = parse_workload(YAML, "heads.yaml", {})
    shapes = {layer.name: str(layer.output_shape) for layer in network}
    assert shapes == {"c1": "16x8x8", "p1": "16x8x8", "up": "16x16x16", "d2s": "4x32x32",
                      "s2d": "64x8x8", "t": "64x8x8", "hs": "64x8x8", "m": "1x8x8"}
    assert network.layer("p1").params == 16
    import yaml

    again = parse_workload(yaml.safe_load(network_to_yaml(network)), "again.yaml", {})
    assert [layer.op for layer in again] == [layer.op for layer in network]


def test_workload_yaml_refuses_a_bad_resize_in_one_line() -> None:
    bad = {**YAML, "layers": [{"name": "up", "kind": "resize", "scale": 2, "size": 3}]}
    with pytest.raises(InputError, match=r"heads.yaml: layer 'up'.*exactly one of scale or size"
                       ) as info:
        parse_workload(bad, "heads.yaml", {})
    assert "\n" not in str(info.value)


def _import(model: Any, tmp_path: Path, **kwargs: Any) -> Network:
    from accel.io.onnx_import import import_onnx

    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return import_onnx(path, **kwargs).network


def _one(network: Network, kind: str, index: int = 0) -> Any:
    return [layer for layer in network if layer.kind == kind][index]


def _head(opset: int = 13) -> tuple[GraphBuilder, str]:
    g = GraphBuilder("head", [1, 3, 8, 8], opset=opset)
    return g, g.conv(g.input, 3, 8, 3)


def _model(g: GraphBuilder, out: str) -> Any:
    model = g.model([out])
    return model


@pytest.mark.parametrize(("attrs", "expected"), [
    ({"mode": "nearest"}, ("nearest", "half_pixel", "round_prefer_floor")),
    ({"mode": "linear", "coordinate_transformation_mode": "align_corners"},
     ("bilinear", "align_corners", "round_prefer_floor")),
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
      "nearest_mode": "floor"}, ("nearest", "asymmetric", "floor")),
    ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
     ("bilinear", "pytorch_half_pixel", "round_prefer_floor")),
])
def test_onnx_resize_with_scales(tmp_path: Path, attrs: dict[str, Any],
                                 expected: tuple[str, str, str]) -> None:
    g, x = _head()
    scales = g.constant(np.array([1, 1, 2, 2], np.float32))
    y = g.node("Resize", [x, "", scales], **attrs)
    model = _model(g, g.conv(y, 8, 4, 3))
    network = _import(model, tmp_path)
    layer = _one(network, "resize")
    op = layer.op
    assert isinstance(op, Resize) and (op.mode, op.coordinate_mode, op.nearest_mode) == expected
    assert str(layer.output_shape) == "8x16x16"
    assert network.macs == count_macs(model, {"input": [1, 3, 8, 8]})


def test_onnx_resize_with_sizes_and_upsample(tmp_path: Path) -> None:
    g, x = _head()
    sizes = g.constant(np.array([1, 8, 12, 20], np.int64))
    y = g.node("Resize", [x, "", "", sizes], mode="linear")
    network = _import(_model(g, y), tmp_path)
    assert _one(network, "resize").op == Resize(size=(12, 20), mode="bilinear",
                                                 coordinate_mode="half_pixel",
                                                 nearest_mode="round_prefer_floor")
    g9, x9 = _head(opset=9)
    up = g9.node("Upsample", [x9, g9.constant(np.array([1, 1, 2, 3], np.float32))])
    network = _import(_model(g9, up), tmp_path)
    assert _one(network, "resize").op == Resize(scale=(2.0, 3.0))
    assert str(_one(network, "resize").output_shape) == "8x16x24"


@pytest.mark.parametrize(("attrs", "scales", "message"), [
    ({"mode": "cubic"}, [1, 1, 2, 2], r"mode='cubic'; only nearest and linear"),
    ({"coordinate_transformation_mode": "tf_crop_and_resize"}, [1, 1, 2, 2],
     r"coordinate_transformation_mode='tf_crop_and_resize'"),
    ({"mode": "linear", "antialias": 1}, [1, 1, 2, 2], r"antialias=1"),
    ({}, [1, 2, 2, 2], r"scales=\[1.0, 2.0, 2.0, 2.0\]; only height and width"),
])
def test_onnx_resize_refusals_name_node_and_attribute(
        tmp_path: Path, attrs: dict[str, Any], scales: list[float], message: str) -> None:
    g, x = _head(opset=18)
    y = g.node("Resize", [x, "", g.constant(np.array(scales, np.float32))], **attrs)
    with pytest.raises(InputError, match=r"node 'resize\d+' \(op Resize\) is not supported \("
                       + message) as info:  # fmt: skip
        _import(_model(g, y), tmp_path)
    assert "\n" not in str(info.value)


def test_onnx_prelu_hard_sigmoid_tanh(tmp_path: Path) -> None:
    g, x = _head()
    slope = g.constant(np.linspace(0.1, 0.8, 8, dtype=np.float32).reshape(1, 8, 1, 1))
    p = g.node("PRelu", [x, slope])
    h = g.node("HardSigmoid", [p], alpha=0.2, beta=0.5)
    k = g.node("HardSigmoid", [h], alpha=1 / 6, beta=0.5)
    t = g.node("Tanh", [k])
    from accel.io.onnx_import import import_onnx

    path = tmp_path / "m.onnx"
    path.write_bytes(_model(g, t).SerializeToString())
    imported = import_onnx(path)
    network = imported.network
    assert _one(network, "prelu").op == PRelu() and _one(network, "prelu").params == 8
    np.testing.assert_array_equal(imported.float_weights[_one(network, "prelu").name].weight,
                                  np.linspace(0.1, 0.8, 8, dtype=np.float32))
    assert _one(network, "activation").op == Activation(function="hard_sigmoid",
                                                          alpha=np.float32(0.2), beta=0.5)
    assert _one(network, "activation", 1).op == Activation(function="hsigmoid")
    assert _one(network, "activation", 2).op == Activation(function="tanh")


def test_onnx_prelu_per_pixel_slope_is_refused(tmp_path: Path) -> None:
    g, x = _head()
    y = g.node("PRelu", [x, g.constant(np.full((8, 8, 8), 0.1, np.float32))])
    with pytest.raises(InputError, match=r"node 'prelu\d+' \(op PRelu\) is not supported \(slope of "
                       r"dims \[8, 8, 8\]; only one slope per channel or one for all\)"):
        _import(_model(g, y), tmp_path)


@pytest.mark.parametrize(("axes", "keepdims", "kinds", "shape"), [
    ([1], 1, ["reduce_mean"], "1x8x8"),
    ([1], 0, ["reduce_mean", "reshape"], "8x8x1"),
    ([-1], 1, ["reduce_mean"], "8x8x1"),
    ([2, 3], 0, ["global_avgpool"], "8x1x1"),
    ([1, 2, 3], 1, ["reduce_mean"], "1x1x1"),
])
def test_onnx_reduce_mean_over_any_axes(tmp_path: Path, axes: list[int], keepdims: int,
                                        kinds: list[str], shape: str) -> None:
    g, x = _head()
    y = g.node("ReduceMean", [x], axes=axes, keepdims=keepdims)
    network = _import(_model(g, y), tmp_path)
    assert [layer.kind for layer in network.layers[1:]] == kinds
    assert str(network.layers[-1].output_shape) == shape


def test_onnx_reduce_mean_over_the_batch_is_refused(tmp_path: Path) -> None:
    g, x = _head()
    y = g.node("ReduceMean", [x], axes=[0, 1])
    with pytest.raises(InputError, match=r"\(op ReduceMean\) is not supported \(axes=\[0, 1\]; "
                       r"the batch axis cannot be reduced\)"):
        _import(_model(g, y), tmp_path)


def test_onnx_depth_to_space_and_back(tmp_path: Path) -> None:
    g, x = _head()
    d = g.node("DepthToSpace", [x], blocksize=2, mode="CRD")
    s = g.node("SpaceToDepth", [d], blocksize=2)
    network = _import(_model(g, s), tmp_path)
    assert _one(network, "depth_to_space").op == DepthToSpace(block=2, order="CRD")
    assert [str(layer.output_shape) for layer in network.layers[1:]] == ["2x16x16", "8x8x8"]


def test_onnx_softmax_over_the_last_axis(tmp_path: Path) -> None:
    # MTCNN's P-Net: a Transpose to NHWC, then a Softmax over axis 3 (its channels).
    g, x = _head()
    t = g.node("Transpose", [x], perm=[0, 2, 3, 1])
    y = g.node("Softmax", [t], axis=3)
    network = _import(_model(g, y), tmp_path)
    assert network.layers[-1].op == Softmax(axis=2)


def _tflite(data: bytes, tmp_path: Path) -> Network:
    from accel.io.tflite_import import import_tflite

    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    return import_tflite(path).network


@pytest.mark.parametrize(("kind", "options", "expected"), [
    ("RESIZE_BILINEAR", {}, Resize(size=(8, 10), mode="bilinear")),
    ("RESIZE_BILINEAR", {"half_pixel_centers": True},
     Resize(size=(8, 10), mode="bilinear", coordinate_mode="half_pixel")),
    ("RESIZE_BILINEAR", {"align_corners": True},
     Resize(size=(8, 10), mode="bilinear", coordinate_mode="align_corners")),
    ("RESIZE_NEAREST_NEIGHBOR", {}, Resize(size=(8, 10))),
    ("RESIZE_NEAREST_NEIGHBOR", {"align_corners": True},
     Resize(size=(8, 10), coordinate_mode="align_corners", nearest_mode="round_prefer_ceil")),
    ("RESIZE_NEAREST_NEIGHBOR", {"half_pixel_centers": True},
     Resize(size=(8, 10), coordinate_mode="tf_half_pixel_for_nn")),
    ("DEPTH_TO_SPACE", {"block": 2}, DepthToSpace(block=2)),
    ("SPACE_TO_DEPTH", {"block": 1}, SpaceToDepth(block=1)),
    ("PRELU", {}, PRelu()),
    ("PRELU", {"per_channel": False}, PRelu(shared_slope=True)),
    ("TANH", {}, Activation(function="tanh")),
    ("MEAN", {"axes": [3]}, ReduceMean(axes=(0,))),
])
def test_tflite_operators(tmp_path: Path, kind: str, options: dict[str, Any],
                          expected: Any) -> None:
    tflite_builders = pytest.importorskip("tflite_builders")
    pytest.importorskip("tflite")
    size = (8, 10) if kind.startswith("RESIZE") else None
    extra = {"size": size} if size else {}
    data = tflite_builders.int8_unary(kind, [1, 4, 5, 8], (0.05, 3), **options, **extra)
    network = _tflite(data, tmp_path)
    assert network.layers[-1].op == expected


def test_tflite_resize_with_both_flags_is_refused(tmp_path: Path) -> None:
    tflite_builders = pytest.importorskip("tflite_builders")
    pytest.importorskip("tflite")
    data = tflite_builders.int8_unary("RESIZE_BILINEAR", [1, 4, 4, 2], (0.05, 3),
                                      align_corners=True, half_pixel_centers=True)
    with pytest.raises(InputError, match=r"operator 'y' \(RESIZE_BILINEAR\) is not supported "
                       r"\(align_corners and half_pixel_centers both set\)"):
        _tflite(data, tmp_path)


def test_network_with_new_kinds_builds() -> None:
    entries = [LayerEntry("up", Resize(scale=2)), LayerEntry("p", PRelu())]
    network = Network.build("n", Shape(3, 4, 4), entries)
    assert network.params == 3 and network.macs == 0


def _quantized_heads(bilinear: bool) -> Any:
    from accel.functional.calibrate import quantize_network

    layers = [dict(layer) for layer in YAML["layers"]]  # type: ignore[union-attr]
    if not bilinear:
        layers[2] = {"name": "up", "kind": "resize", "scale": 2}
    layers = [entry for entry in layers if entry["name"] not in ("hs", "m")]
    return quantize_network(parse_workload({**YAML, "layers": layers}, "heads.yaml", {}))


@pytest.mark.parametrize("mode", ["onnx", "tflite"])
def test_engine_runs_each_new_layer_with_its_kernel(mode: str) -> None:
    from accel.config import ChipConfig
    from accel.functional import prelu_tanh, resample
    from accel.functional.engine import execute
    from accel.functional.inputs import normal_images
    from accel.functional.requant import quantize_linear

    qnet = _quantized_heads(bilinear=mode == "tflite")
    assert qnet.activations["t"] == prelu_tanh.TFLITE_TANH_OUTPUT  # TFLite's only tanh output
    xq = qnet.activations["input"]
    images = normal_images(qnet.network, 2, 0, stream=1)["input"]
    chip = ChipConfig.model_validate({"array": {"requantization": mode}})
    run = execute(qnet, {"input": quantize_linear(images, xq.scale, xq.zero_point, xq.dtype)},
                  chip).outputs
    p1, up = qnet.network.layer("p1"), qnet.network.layer("up")
    q = qnet.activations
    slopes = qnet.attributes["p1"]
    if mode == "onnx":
        expected = prelu_tanh.prelu_onnx(run["c1"], q["c1"], q["p1"], slopes["slopes"])
        resized = resample.resize_nearest(run["p1"], up.op, "onnx")  # type: ignore[arg-type]
    else:
        expected = prelu_tanh.prelu_tflite(run["c1"], q["c1"], q["p1"], slopes["slope_codes"],
                                         slopes["slope_quant"])  # fmt: skip
        resized = resample.resize_bilinear_tflite(run["p1"], up.op)  # type: ignore[arg-type]
    np.testing.assert_array_equal(run["p1"], expected)
    np.testing.assert_array_equal(run["up"], resized)
    assert p1.params == 16 and q["up"] == q["p1"]  # a resize keeps its input's quantization
    crd = DepthToSpace(block=2, order="CRD")
    np.testing.assert_array_equal(run["d2s"], resample.depth_to_space(run["up"], crd))
    assert run["t"].shape == (2, 64, 8, 8)


def test_check_refuses_what_it_cannot_compare_in_one_line(tmp_path: Path) -> None:
    import yaml
    from conftest import run_accel

    path = tmp_path / "heads.yaml"
    path.write_text(yaml.safe_dump(YAML))
    checked = run_accel("simulate-network", "-n", str(path), "--check", "-q", "--out",
                        str(tmp_path / "o"))  # fmt: skip
    assert checked.returncode == 0, checked.stderr  # onnx mode has every kernel, bilinear too
    assert "checked 8 layers against onnxruntime: all bit-exact" in checked.stdout
    chip = tmp_path / "tflite.yaml"
    chip.write_text("array: {requantization: tflite}\n")
    refused = run_accel("simulate-network", "-n", str(path), "--chip", str(chip), "--check",
                        "-q", "--out", str(tmp_path / "t"))  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "layer 'hs': tflite mode has no hard_sigmoid kernel" in refused.stderr


def test_costs_of_the_new_layers(tmp_path: Path) -> None:
    """Vector-unit cycles from each layer's operations, tensors streamed once (DRAM reads =
    input + slopes, writes = output), and the block moves as one copy per element."""
    import accel
    from accel.config import ChipConfig
    from accel.perf.timing import vector_cycles

    network = parse_workload(YAML, "heads.yaml", {})
    result = accel.simulate(network)
    rows = {row["layer"]: row for row in result.rows()}
    unit = ChipConfig().vector_unit
    expected_ops = {"p1": 1024, "up": 4 * 4096, "d2s": 4096, "s2d": 4096, "t": 4096,
                    "hs": 4096, "m": 4096}
    for name, ops in expected_ops.items():
        layer = network.layer(name)
        assert layer.vector_ops == ops
        assert rows[name]["unit"] == "vector"
        assert rows[name]["compute_cycles"] == vector_cycles(layer.ofmap_elements, ops, unit)
        reads = rows[name]["dram_ifmap_bytes"] + rows[name]["dram_weight_bytes"]
        assert reads == layer.ifmap_bytes + layer.weight_bytes
        assert rows[name]["dram_ofmap_write_bytes"] == layer.ofmap_bytes
        assert rows[name]["energy_pj"] > 0
    assert rows["p1"]["dram_weight_bytes"] == 16  # one int8 slope per channel

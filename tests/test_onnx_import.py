"""ONNX import: every zoo family's graph, fusions, weights, shapes and clean failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_builders import FAMILIES, GraphBuilder, efficientnet_lite, resnet, shufflenet
from onnx_macs import count_macs

from accel.errors import InputError
from accel.io.onnx_import import import_onnx
from accel.model.ops import BatchNorm, ChannelShuffle, Conv

# Layer kinds each family's import must contain: the operators that make the family what it is.
FAMILY_KINDS = {
    "alexnet": {"lrn", "fc", "softmax"},
    "vgg": {"conv", "maxpool", "flatten", "fc"},
    "resnet": {"add", "global_avgpool"},
    "googlenet": {"concat", "lrn", "avgpool", "softmax"},
    "densenet": {"batchnorm", "concat", "avgpool"},
    "squeezenet": {"concat", "global_avgpool", "softmax"},
    "shufflenet": {"channel_shuffle", "concat", "add"},
    "mobilenet_v2_opset9": {"add", "fc"},
    "mobilenet_v2_opset13": {"add", "fc"},
    "efficientnet_lite": {"global_avgpool", "fc", "softmax"},
    "mobilenet_v3": {"activation", "mul", "add"},
}


def save(model: Any, tmp_path: Path, name: str = "model.onnx") -> Path:
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_imports_with_independent_mac_count(family: str, tmp_path: Path) -> None:
    model = FAMILIES[family]()
    shapes = ["data=1x3x64x64"] if family == "resnet" else []
    imported = import_onnx(save(model, tmp_path), shapes)
    network = imported.network
    assert network.macs == count_macs(model, {"data": [1, 3, 64, 64]})
    assert FAMILY_KINDS[family] <= {layer.kind for layer in network.layers}
    assert set(imported.float_weights) == {layer.name for layer in network.layers if layer.uses_array}
    assert imported.quantized is None and imported.unsupported == ()


def test_batchnorm_and_relu_fold_into_the_conv(tmp_path: Path) -> None:
    model = resnet()
    imported = import_onnx(save(model, tmp_path), ["1x3x64x64"])
    first = imported.network.layers[0]
    assert isinstance(first.op, Conv)
    assert (first.op.batchnorm, first.op.activation, first.op.bias) == (True, "relu", False)
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    gamma, beta, mean, var = (init[name] for name in bn.input[1:])
    scale = gamma / np.sqrt(var + 1e-5)
    weights = imported.float_weights[first.name]
    conv_w = init[model.graph.node[0].input[1]]
    np.testing.assert_allclose(weights.weight, conv_w * scale[:, None, None, None], rtol=1e-6)
    np.testing.assert_allclose(weights.bias, beta - mean * scale, rtol=1e-5, atol=1e-7)


def test_a_folded_conv_s_weights_are_folded_when_first_read(tmp_path: Path) -> None:
    """The BatchNorm fold waits for the weights to be read (a run costing the network never
    reads them), then gives onnxruntime's rounding bit for bit, read or pickled."""
    import copy
    import pickle

    from accel.model.quantized import BatchNormConstants, FloatWeights, FoldedWeights

    model = resnet()
    imported = import_onnx(save(model, tmp_path), ["1x3x64x64"])
    first = imported.network.layers[0].name
    weights = imported.float_weights[first]
    assert isinstance(weights, FoldedWeights) and "_pair" not in vars(weights)
    constants, unfolded = weights._unfolded
    assert isinstance(constants, BatchNormConstants)
    eager = constants.fold_into_conv(unfolded.weight, unfolded.bias)
    for read in (weights, pickle.loads(pickle.dumps(weights)), copy.deepcopy(weights)):
        assert isinstance(read, FloatWeights)
        assert read.weight.tobytes() == eager[0].tobytes()
        assert read.bias.tobytes() == eager[1].tobytes()
    assert not np.array_equal(unfolded.weight, eager[0])  # the fold changes the weights


def test_densenet_keeps_pre_activation_batchnorm_standalone(tmp_path: Path) -> None:
    network = import_onnx(save(FAMILIES["densenet"](), tmp_path)).network
    standalone = [layer for layer in network.layers if isinstance(layer.op, BatchNorm)]
    # after the stem: 2 blocks × 2 layers × 1 (the BN after a concat) + transition + final
    assert len(standalone) == 6
    assert all(network.layer(layer.inputs[0]).kind in ("concat", "conv", "avgpool")
               for layer in standalone)
    assert standalone[0].params == 2 * standalone[0].output_shape.channels


def test_shufflenet_reshape_transpose_reshape_is_one_channel_shuffle(tmp_path: Path) -> None:
    network = import_onnx(save(shufflenet(), tmp_path)).network
    shuffles = [layer for layer in network.layers if isinstance(layer.op, ChannelShuffle)]
    assert [layer.op.groups for layer in shuffles] == [3, 2]
    assert [layer.vector_ops for layer in shuffles] == [0, 0]


def test_nhwc_input_with_leading_transpose_becomes_nchw(tmp_path: Path) -> None:
    network = import_onnx(save(efficientnet_lite(), tmp_path)).network
    assert network.inputs[0][0] == "images:0"
    assert str(network.input_shape) == "3x32x32"
    convs = [layer for layer in network.layers if isinstance(layer.op, Conv)]
    assert convs[0].op.padding == "same_upper" and convs[0].output_shape.height == 16
    # the explicit Pad before the stride-2 depthwise conv became that conv's padding
    depthwise = [layer for layer in convs if layer.is_depthwise][1]
    assert depthwise.op.padding == (0, 1, 0, 1) and depthwise.output_shape.height == 8
    assert "pad" not in {layer.kind for layer in network.layers}


@pytest.mark.parametrize("opset", [9, 13])
def test_clip_as_attributes_or_inputs_is_relu6(opset: int, tmp_path: Path) -> None:
    network = import_onnx(save(FAMILIES[f"mobilenet_v2_opset{opset}"](), tmp_path)).network
    activations = [layer.op.activation for layer in network.layers if isinstance(layer.op, Conv)]
    assert activations.count("relu6") == 8 and "activation" not in {layer.kind for layer in network}


def test_opset_4_reshape_takes_its_shape_from_the_attribute(tmp_path: Path) -> None:
    weights = [numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w"),
               numpy_helper.from_array(np.ones((10, 288), np.float32), "f")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("Reshape", ["c"], ["flat"], shape=[1, -1]),
             helper.make_node("Gemm", ["flat", "f"], ["y"], transB=1)]
    graph = helper.make_graph(
        nodes, "old", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 4)])
    model.ir_version = 3
    network = import_onnx(save(model, tmp_path)).network
    assert [layer.kind for layer in network] == ["conv", "flatten", "fc"]
    assert network.macs == 8 * 27 * 36 + 288 * 10


def test_gemm_weights_are_out_by_in_whatever_trans_b(tmp_path: Path) -> None:
    for trans_b in (0, 1):
        g = GraphBuilder("fc", [1, 6])
        out = g.gemm(g.input, 6, 4, trans_b=trans_b)
        model = g.model([out])
        imported = import_onnx(save(model, tmp_path, f"fc{trans_b}.onnx"))
        weights = imported.float_weights[out]
        assert weights.weight.shape == (4, 6)
        init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        b = init[model.graph.node[0].input[1]]
        np.testing.assert_array_equal(weights.weight, b if trans_b else b.T)


def test_dynamic_dimension_without_override_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input 'data' has a dynamic dimension N; give "
                       r"--input-shape data=1x3x64x64$"):
        import_onnx(save(resnet(), tmp_path))


def test_dynamic_spatial_dimensions_need_an_override(tmp_path: Path) -> None:
    g = GraphBuilder("free", [1, 3, "height", "width"])
    path = save(g.model([g.relu(g.conv(g.input, 3, 4, 3))]), tmp_path)
    with pytest.raises(InputError, match=r"dynamic dimension height; give --input-shape "
                       r"input=1x3x<height>x<width>"):
        import_onnx(path)
    assert import_onnx(path, ["input=1x3x20x30"]).network.layers[0].output_shape.width == 30


def test_input_shape_override_must_fit_the_declared_dims(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--input-shape for 'data' must fit its declared shape "
                       r"Nx3x64x64, not 1x4x64x64"):
        import_onnx(save(resnet(), tmp_path), ["1x4x64x64"])


@pytest.mark.parametrize("text", ["1x3x0x4", "1,3,4,4", "data=", "axb"])
def test_input_shape_text_must_be_positive_sizes(text: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--input-shape must be positive sizes like"):
        import_onnx(save(resnet(), tmp_path), [text])


def test_input_shape_must_name_an_existing_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--input-shape names input 'image', but the model's "
                       r"inputs are data"):
        import_onnx(save(resnet(), tmp_path), ["image=1x3x64x64"])


def test_corrupt_file_is_not_a_valid_onnx_model(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07\x12\x04junk\xff\xff\xff")
    with pytest.raises(InputError, match=r"broken.onnx: not a valid ONNX model \("):
        import_onnx(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"model file '.*nothing.onnx' does not exist"):
        import_onnx(tmp_path / "nothing.onnx")


def erf_model() -> Any:
    g = GraphBuilder("erf", [1, 3, 8, 8])
    x = g.node("Erf", [g.conv(g.input, 3, 4, 3)])
    return g.model([g.conv(x, 4, 4, 3)])


def test_unsupported_op_is_one_line_naming_node_and_supported_ops(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"node 'erf4' \(op Erf\) is not supported; supported "
                       r"ops: .*Conv.*com\.microsoft\.QLinearAdd") as info:
        import_onnx(save(erf_model(), tmp_path))
    assert "\n" not in str(info.value)


def test_allow_unsupported_keeps_a_zero_cost_placeholder(tmp_path: Path) -> None:
    imported = import_onnx(save(erf_model(), tmp_path), allow_unsupported=True)
    placeholder = imported.network.layer("erf4")
    assert (placeholder.kind, placeholder.vector_ops, placeholder.macs) == ("unsupported", 0, 0)
    assert str(placeholder.output_shape) == "4x8x8"
    assert imported.unsupported == (("erf4", "Erf"),)
    assert imported.network.layers[-1].inputs == ("erf4",)


def test_matmul_of_two_activations_is_unsupported_with_a_reason(tmp_path: Path) -> None:
    g = GraphBuilder("mm", [1, 4])
    out = g.node("MatMul", [g.relu(g.input), g.relu(g.input)])
    with pytest.raises(InputError, match=r"\(op MatMul\) is not supported \(only activation × "
                       r"constant 2-D weights\)"):
        import_onnx(save(g.model([out]), tmp_path))


def test_concat_along_height_is_unsupported(tmp_path: Path) -> None:
    g = GraphBuilder("cat", [1, 3, 4, 4])
    out = g.node("Concat", [g.relu(g.input), g.relu(g.input)], axis=2)
    with pytest.raises(InputError, match=r"concatenation along axis 2; only channels"):
        import_onnx(save(g.model([out]), tmp_path))


def test_without_the_onnx_package_only_the_steps_left_to_it_say_how_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """accel decodes the file itself; a placeholder's shape comes from onnx's shape inference."""
    plain, odd = save(resnet(), tmp_path, "resnet.onnx"), save(erf_model(), tmp_path, "erf.onnx")
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    assert import_onnx(plain, ["1x3x64x64"]).network.macs == count_macs(
        resnet(), {"data": [1, 3, 64, 64]})
    with pytest.raises(InputError, match=r'pip install "accel-simulator\[onnx\]"'):
        import_onnx(odd, allow_unsupported=True)


def test_standalone_ops_lrn_pad_clip_transpose(tmp_path: Path) -> None:
    g = GraphBuilder("misc", [1, 4, 6, 6], opset=13)
    x = g.node("LRN", [g.input], size=3)
    x = g.node("Pad", [x, g.constant(np.array([0, 1, 1, 0, 0, 1, 1, 0], np.int64))],
               mode="reflect")
    x = g.node("Clip", [x, g.constant(np.array(-1.0, np.float32)),
                        g.constant(np.array(1.0, np.float32))])
    x = g.node("Transpose", [x], perm=[0, 2, 3, 1])
    network = import_onnx(save(g.model([x]), tmp_path)).network
    assert [layer.kind for layer in network] == ["lrn", "pad", "clip", "transpose"]
    assert [str(layer.output_shape) for layer in network] == ["4x6x6", "6x8x6", "6x8x6", "8x6x6"]
    assert network.layers[0].vector_ops == 4 * 36 * (3 + 3)


def test_graph_with_external_weights_imports_dims_only(tmp_path: Path) -> None:
    model = resnet()
    onnx.save(model, str(tmp_path / "ext.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="ext.data", size_threshold=256)
    (tmp_path / "ext.data").unlink()
    imported = import_onnx(tmp_path / "ext.onnx", ["1x3x64x64"])
    assert imported.network.macs == count_macs(model, {"data": [1, 3, 64, 64]})
    assert imported.float_weights == {}  # the data file is gone: dims only


def test_dynamic_quantization_integer_ops(tmp_path: Path) -> None:
    g = GraphBuilder("dynamic", [1, 3, 8, 8])
    x, scale, zero = (g.node("DynamicQuantizeLinear", [g.input], outputs=3),
                      "dynamicquantizelinear1_out1", "dynamicquantizelinear1_out2")
    w = g.constant(np.ones((4, 3, 3, 3), np.int8))
    acc = g.node("ConvInteger", [x, w, zero], pads=[1, 1, 1, 1])
    real = g.node("Mul", [g.node("Cast", [acc], to=TensorProto.FLOAT),
                          g.node("Mul", [scale, g.constant(np.array(0.5, np.float32))])])
    model = g.model([g.relu(real)])
    network = import_onnx(save(model, tmp_path)).network
    assert [layer.kind for layer in network] == ["conv"]  # rescale and relu fold into it
    assert network.layers[0].op.activation == "relu" and network.macs == 64 * 4 * 27


def test_node_names_become_unique_layer_names(tmp_path: Path) -> None:
    g = GraphBuilder("names", [1, 3, 4, 4])
    a = g.relu(g.input)
    b = g.node("Sigmoid", [a])
    model = g.model([b])
    for node in model.graph.node:
        node.name = "same"
    network = import_onnx(save(model, tmp_path)).network
    assert [layer.name for layer in network] == ["same", "same_2"]


def test_bad_graph_input_reference_is_named(tmp_path: Path) -> None:
    g = GraphBuilder("dangling", [1, 3, 4, 4])
    out = g.relu(g.input)
    model = g.model([out])
    model.graph.node[0].input[0] = "ghost"
    with pytest.raises(InputError, match=r"reads tensor 'ghost', which no node or input produces"):
        import_onnx(save(model, tmp_path))


def test_initializer_listed_as_input_is_not_a_graph_input(tmp_path: Path) -> None:
    model = FAMILIES["vgg"]()
    first = model.graph.initializer[0]
    model.graph.input.append(helper.make_tensor_value_info(first.name, TensorProto.FLOAT,
                                                           list(first.dims)))
    network = import_onnx(save(model, tmp_path)).network
    assert [name for name, _ in network.inputs] == ["input"]


def test_cli_simulates_an_onnx_model_and_fails_cleanly(tmp_path: Path) -> None:
    import csv
    import json

    from conftest import run_accel

    path = save(resnet(), tmp_path)
    ok = run_accel("simulate-network", "-n", str(path), "--input-shape", "data=1x3x64x64",
                   "--out", str(tmp_path / "out"), "-q")
    assert ok.returncode == 0, ok.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["macs"] == count_macs(resnet(), {"data": [1, 3, 64, 64]})
    assert "unsupported_ops" not in summary
    dynamic = run_accel("simulate-network", "-n", str(path), "-q", "--out", str(tmp_path / "x"))
    assert dynamic.returncode == 2
    assert dynamic.stderr.startswith("error: ") and dynamic.stderr.count("\n") == 1
    assert "give --input-shape data=1x3x64x64" in dynamic.stderr
    tanh = save(erf_model(), tmp_path, "erf.onnx")
    refused = run_accel("simulate-network", "-n", str(tanh), "-q", "--out", str(tmp_path / "y"))
    assert refused.returncode == 2 and "(op Erf) is not supported" in refused.stderr
    allowed = run_accel("simulate-network", "-n", str(tanh), "-q", "--allow-unsupported",
                        "--out", str(tmp_path / "z"))
    assert allowed.returncode == 0, allowed.stderr
    summary = json.loads((tmp_path / "z" / "summary.json").read_text())
    assert summary["unsupported_ops"] == [{"layer": "erf4", "op": "Erf"}]
    with (tmp_path / "z" / "layers.csv").open() as handle:
        kinds = {row["layer"]: row["kind"] for row in csv.DictReader(handle)}
    assert kinds["erf4"] == "unsupported"
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\xff\xfe not protobuf")
    bad = run_accel("simulate-network", "-n", str(corrupt), "-q", "--out", str(tmp_path / "w"))
    assert bad.returncode == 2 and "not a valid ONNX model" in bad.stderr


def test_input_shape_is_only_for_model_files() -> None:
    from accel.io.sources import load_network

    with pytest.raises(InputError, match=r"--input-shape applies to .onnx and .tflite models, "
                       r"not to 'lenet5'"):
        load_network("lenet5", input_shapes=["1x1x32x32"])


def test_a_declared_rank_0_input_is_static_not_dynamic(tmp_path: Path) -> None:
    """silero-vad's `sr`: a scalar input declared with an empty shape is not a dynamic one."""
    from onnx import TensorProto, helper

    g = GraphBuilder("scalar", [1, 3, 8, 8])
    model = g.model([g.relu(g.conv(g.input, 3, 4, 3))])
    model.graph.input.append(helper.make_tensor_value_info("sr", TensorProto.INT64, []))
    imported = import_onnx(save(model, tmp_path))
    assert [layer.kind for layer in imported.network.layers] == ["conv"]
    undeclared = helper.make_tensor_value_info("sr", TensorProto.INT64, None)
    model.graph.input[-1].CopyFrom(undeclared)  # no shape at all: that one is unknown
    with pytest.raises(InputError, match=r"input 'sr' has a dynamic dimension \(no shape\)"):
        import_onnx(save(model, tmp_path, "unknown.onnx"))


def test_a_split_of_the_channels_is_one_channel_slice_per_output(tmp_path: Path) -> None:
    g = GraphBuilder("split", [1, 6, 4, 4], opset=13)
    sizes = g.constant(np.array([2, 4], np.int64))
    first = g.node("Split", [g.relu(g.input), sizes], outputs=2, axis=1)
    second = f"{first}_out1"
    out = g.node("Concat", [g.relu(second), g.relu(first)], axis=1)
    network = import_onnx(save(g.model([out]), tmp_path)).network
    slices = [layer for layer in network.layers if layer.kind == "channel_slice"]
    assert [(s.op.start, s.op.end) for s in slices] == [(0, 2), (2, 6)]
    assert [s.name for s in slices] == ["split3", "split3_1"]
    assert network.layers[-1].output_shape.channels == 6

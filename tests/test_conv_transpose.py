"""Transposed convolution end to end: the IR and its output size, MAC counts, the numpy reference
against onnxruntime, both array mappings (values, PE-level cycles, sub-pixel beating zero
insertion), the importers and exporters, and the int8 outputs against onnxruntime and TFLite."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from qstrategies import codes, scales, zero_points

from accel.config import ChipConfig
from accel.errors import InputError
from accel.functional import requant as rq
from accel.functional.accumulate import Accumulator
from accel.functional.conv_layer import prepare_array_layer, run_array_layer
from accel.functional.kernels.mlas_conv_transpose import conv_transpose as mlas_conv_transpose
from accel.functional.reference import conv_transpose, forward
from accel.io.export import export_network
from accel.io.onnx_import import import_onnx
from accel.io.tflite_flatbuffer import TfliteBuilder, schema
from accel.io.tflite_import import import_tflite
from accel.io.workload_yaml import parse_workload
from accel.mapping.conv_transpose import lower
from accel.mapping.im2col import gemm_operands, ofmap_from_gemm
from accel.mapping.mapper import map_layer
from accel.model.conv_transpose import ConvTranspose
from accel.model.network import LayerEntry, Network
from accel.model.ops import Shape
from accel.model.quantized import QuantizedNetwork, QuantizedWeights, QuantParams
from accel.oracles.systolic import simulate_gemm
from accel.perf.timing import time_layer
from accel.simulation import run_functional, simulate_layer

FORMS = ("zero_insertion", "sub_pixel")


def _network(op: ConvTranspose, shape: Shape) -> Network:
    return Network.build("single", {"input": shape}, [LayerEntry("layer", op, ("input",))])


@st.composite
def transposed(draw: st.DrawFn, dilation: bool = True, groups: bool = True,
               max_size: int = 5) -> tuple[ConvTranspose, Shape]:  # fmt: skip
    """A small transposed conv (any stride, asymmetric padding, output padding below the
    stride, dilation and groups) and an input shape it fits."""
    group = draw(st.sampled_from([1, 1, 2, 3])) if groups else 1
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    op = ConvTranspose(
        out_channels=group * draw(st.integers(1, 3)), kernel=kernel, stride=stride,
        padding=[draw(st.integers(0, 3)) for _ in range(4)],
        output_padding=(draw(st.integers(0, stride[0] - 1)), draw(st.integers(0, stride[1] - 1))),
        dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1),
        groups=group, bias=draw(st.booleans()),
    )  # fmt: skip
    shape = Shape(group * draw(st.integers(1, 3)), draw(st.integers(1, max_size)),
                  draw(st.integers(1, max_size)))  # fmt: skip
    try:
        op.output_shape((shape,))
    except ValueError:
        assume(False)  # the padding crops everything
    return op, shape


# ---------------------------------------------------------------- the IR


def test_output_size_is_the_formula_of_the_course_worked_example() -> None:
    # (in − 1)·s − 2p + d(k − 1) + output_padding + 1, for a 5×5 input:
    # k = 4, s = 2, p = 1: 4·2 − 2 + 3 + 0 + 1 = 10 (the DCGAN / U-Net ×2 upsampling);
    # k = 3, s = 2, p = 1, output_padding = 1: 8 − 2 + 2 + 1 + 1 = 10 (PyTorch's usual pair);
    # k = 3, s = 1, d = 2, p = 0: 4 − 0 + 4 + 0 + 1 = 9.
    five = (Shape(4, 5, 5),)
    assert ConvTranspose(out_channels=2, kernel=4, stride=2, padding=1).output_shape(
        five) == Shape(2, 10, 10)
    assert ConvTranspose(out_channels=2, kernel=3, stride=2, padding=1,
                         output_padding=1).output_shape(five) == Shape(2, 10, 10)
    assert ConvTranspose(out_channels=2, kernel=3, dilation=2).output_shape(five) == Shape(2, 9, 9)
    # asymmetric: 2 rows cropped at the top, none at the bottom
    assert ConvTranspose(out_channels=2, kernel=4, stride=2, padding=[2, 0, 0, 1]).output_shape(
        five) == Shape(2, 10, 11)


@pytest.mark.parametrize(("fields", "message"), [
    ({"output_padding": 2, "stride": 2}, "output_padding must be smaller than the stride"),
    ({"output_padding": -1}, "output_padding must be an integer >= 0"),
    ({"padding": [1, -1]}, "padding must be an integer >= 0"),
    ({"padding": [1, 2, 3]}, "padding must be an integer >= 0"),
    ({"stride": 0}, "stride must be > 0"),
])  # fmt: skip
def test_invalid_fields_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConvTranspose(out_channels=2, kernel=3, **fields)


def test_shape_errors_name_the_layer() -> None:
    data = {"input": {"channels": 3, "height": 4, "width": 4}, "layers": [
        {"name": "up", "kind": "conv_transpose", "out_channels": 4, "kernel": 2, "groups": 2}]}
    with pytest.raises(InputError, match=r"layer 'up' .*groups must divide in_channels 3"):
        parse_workload(data, "w.yaml", {})
    data["layers"] = [{"name": "up", "kind": "conv_transpose", "out_channels": 4, "kernel": 2,
                       "padding": 5}]  # fmt: skip
    with pytest.raises(InputError, match=r"layer 'up' .*must leave a non-empty output"):
        parse_workload(data, "w.yaml", {})


@settings(max_examples=40, deadline=None)
@given(transposed())
def test_macs_and_params_equal_a_count_of_the_scatter(case: tuple[ConvTranspose, Shape]) -> None:
    """Useful MACs counted by walking the definition (every input pixel × tap × input channel
    × output channel of its group, whether or not it lands in the output), and weights."""
    op, shape = case
    layer = _network(op, shape).layer("layer")
    per_group_in, per_group_out = shape.channels // op.groups, op.out_channels // op.groups
    count = 0
    for channel, _row, _col in itertools.product(range(shape.channels), range(shape.height),
                                                 range(shape.width)):  # fmt: skip
        group = channel // per_group_in
        outputs = range(group * per_group_out, (group + 1) * per_group_out)
        count += len(outputs) * op.kernel[0] * op.kernel[1]
    assert layer.macs == count
    weights = op.out_channels * per_group_in * op.kernel[0] * op.kernel[1]
    assert layer.params == weights + op.out_channels * op.bias


# ---------------------------------------------------------------- values


def _onnx_weight(w: np.ndarray, groups: int) -> np.ndarray:
    out_channels, per_group, kh, kw = w.shape
    grouped = w.reshape(groups, out_channels // groups, per_group, kh, kw).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(grouped.reshape(groups * per_group, out_channels // groups, kh, kw))


def _ort_conv_transpose(x: np.ndarray, w_onnx: np.ndarray, op: ConvTranspose,
                        **attrs: Any) -> np.ndarray:  # fmt: skip
    top, bottom, left, right = op.padding
    fields = {"strides": list(op.stride), "dilations": list(op.dilation), "group": op.groups,
              "output_padding": list(op.output_padding), "pads": [top, left, bottom, right],
              **attrs}  # fmt: skip
    node = helper.make_node("ConvTranspose", ["x", "W"], ["y"], **fields)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w_onnx.astype(np.float32), "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    result: np.ndarray = session.run(None, {"x": x.astype(np.float32)})[0]
    return result


@settings(max_examples=40, deadline=None)
@given(transposed(), st.integers(0, 2**32 - 1))
def test_reference_equals_onnxruntime(case: tuple[ConvTranspose, Shape], seed: int) -> None:
    op, shape = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, shape.channels, shape.height, shape.width))
    w = rng.normal(size=(op.out_channels, shape.channels // op.groups, *op.kernel))
    ours = conv_transpose(x, w, op)
    theirs = _ort_conv_transpose(x, _onnx_weight(w, op.groups), op)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(transposed(), st.sampled_from(FORMS), st.integers(0, 2**32 - 1))
def test_both_lowerings_compute_the_transposed_conv(
    case: tuple[ConvTranspose, Shape], form: str, seed: int
) -> None:
    """The dense conv of each mapping, fed its rearranged ifmap and weights (im2col GEMM, as
    the array multiplies), gives the reference's values after its ofmap rearrangement."""
    op, shape = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-20, 20, (2, shape.channels, shape.height, shape.width)).astype(np.int64)
    w = rng.integers(-20, 20, (op.out_channels, shape.channels // op.groups, *op.kernel))
    lowering = lower(_network(op, shape).layer("layer"), form)  # type: ignore[arg-type]
    a, b = gemm_operands(lowering.conv, lowering.ifmap(x), lowering.weight(w))
    out = ofmap_from_gemm(lowering.conv, np.matmul(a, b), 2)
    expected = conv_transpose(x.astype(np.float64), w.astype(np.float64), op)
    np.testing.assert_array_equal(lowering.ofmap(out), expected.astype(np.int64))


# ---------------------------------------------------------------- the array


def _chip(form: str, rows: int = 4, cols: int = 4, dataflow: str = "ws",
          overlap: bool = True) -> ChipConfig:  # fmt: skip
    return ChipConfig().with_values({
        "array.conv_transpose": form, "array.rows": rows, "array.cols": cols,
        "array.dataflow": dataflow, "array.fold_overlap": overlap})  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(transposed(max_size=4), st.sampled_from(FORMS), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(["os", "ws", "is"]), st.booleans(), st.integers(0, 2**32 - 1))
def test_pe_level_array_agrees_with_the_timing_model_and_the_reference(
    case: tuple[ConvTranspose, Shape], form: str, rows: int, cols: int, dataflow: str,
    overlap: bool, seed: int,
) -> None:  # fmt: skip
    op, shape = case
    layer = _network(op, shape).layer("layer")
    chip = _chip(form, rows, cols, dataflow, overlap)
    mapping = map_layer(layer, chip)
    lowering = lower(layer, form)  # type: ignore[arg-type]
    assert mapping.lowered == lowering.conv
    rng = np.random.default_rng(seed)
    x = rng.integers(-8, 8, (1, shape.channels, shape.height, shape.width)).astype(np.int64)
    w = rng.integers(-8, 8, (op.out_channels, shape.channels // op.groups, *op.kernel))
    a, b = gemm_operands(lowering.conv, lowering.ifmap(x), lowering.weight(w))
    run = simulate_gemm(a, b, rows, cols, dataflow, overlap)  # type: ignore[arg-type]
    timing = time_layer(mapping, chip)
    assert run.cycles == timing.compute_cycles
    assert (run.ifmap_reads, run.weight_reads, run.ofmap_writes, run.ofmap_reads) == (
        timing.sram_ifmap_reads, timing.sram_weight_reads, timing.sram_ofmap_writes,
        timing.sram_ofmap_reads)  # fmt: skip
    values = lowering.ofmap(ofmap_from_gemm(lowering.conv, run.output.astype(np.int64), 1))
    expected = conv_transpose(x.astype(np.float64), w.astype(np.float64), op)
    np.testing.assert_array_equal(values, expected.astype(np.int64))
    assert mapping.issued_macs == lowering.issued_macs == a.shape[0] * a.shape[1] * a.shape[
        2] * b.shape[2]


def test_sub_pixel_is_faster_than_zero_insertion_at_stride_2() -> None:
    """U-Net's ×2 up-convolution (k = 2, s = 2) and DCGAN's (k = 4, s = 2, p = 1) and PyTorch's
    k = 3, s = 2, p = 1, output_padding = 1: on the PE-level array and in the timing model."""
    cases = [
        (ConvTranspose(out_channels=4, kernel=2, stride=2), Shape(4, 4, 4)),
        (ConvTranspose(out_channels=4, kernel=4, stride=2, padding=1), Shape(4, 4, 4)),
        (ConvTranspose(out_channels=4, kernel=3, stride=2, padding=1, output_padding=1),
         Shape(4, 4, 4)),
    ]  # fmt: skip
    for op, shape in cases:
        layer = _network(op, shape).layer("layer")
        cycles = {}
        for form in FORMS:
            lowering = lower(layer, form)  # type: ignore[arg-type]
            x = np.ones((1, shape.channels, shape.height, shape.width), np.int64)
            w = np.ones((op.out_channels, shape.channels, *op.kernel), np.int64)
            a, b = gemm_operands(lowering.conv, lowering.ifmap(x), lowering.weight(w))
            run = simulate_gemm(a, b, 4, 4, "ws", True)
            chip = _chip(form)
            assert run.cycles == time_layer(map_layer(layer, chip), chip).compute_cycles
            cycles[form] = run.cycles
        assert cycles["sub_pixel"] < cycles["zero_insertion"], (op, cycles)
    # on the default chip, with memory, for a realistic decoder layer
    op, shape = ConvTranspose(out_channels=64, kernel=4, stride=2, padding=1), Shape(128, 28, 28)
    layer = _network(op, shape).layer("layer")
    results = {form: simulate_layer(layer, ChipConfig().with_values(
        {"array.conv_transpose": form})) for form in FORMS}  # fmt: skip
    assert results["sub_pixel"].total_cycles * 3 < results["zero_insertion"].total_cycles
    assert results["sub_pixel"].macs == results["zero_insertion"].macs == layer.macs
    assert results["zero_insertion"].mapping.issued_macs == 4 * layer.macs


def test_issued_macs_of_each_mapping() -> None:
    """k = 4, s = 2, p = 1 on 8×8: zero insertion multiplies every tap of a 16×16 output
    (16·16 · 16 taps · C_in · C_out, 4× the useful 8·8 · 16 · C_in · C_out); sub-pixel runs 4
    phases of 2×2 taps over a 9×9 grid (one border row and column per phase dropped)."""
    op, shape = ConvTranspose(out_channels=3, kernel=4, stride=2, padding=1), Shape(2, 8, 8)
    layer = _network(op, shape).layer("layer")
    assert layer.macs == 8 * 8 * 16 * 2 * 3
    zero = map_layer(layer, _chip("zero_insertion"))
    sub = map_layer(layer, _chip("sub_pixel"))
    assert zero.issued_macs == 16 * 16 * 16 * 2 * 3 == 4 * layer.macs
    assert sub.issued_macs == 9 * 9 * 4 * 2 * (4 * 3)
    assert (sub.array.m, sub.array.k, sub.array.n) == (81, 8, 12)  # type: ignore[union-attr]
    assert (zero.array.m, zero.array.k, zero.array.n) == (256, 32, 3)  # type: ignore[union-attr]
    row = simulate_layer(layer, _chip("sub_pixel")).row()
    assert (row["macs"], row["issued_macs"]) == (layer.macs, sub.issued_macs)


# ---------------------------------------------------------------- import and export


def _float_model(op: ConvTranspose, shape: Shape, w: np.ndarray, b: np.ndarray | None,
                 explicit_pads: bool = True, **attrs: Any) -> Any:  # fmt: skip
    top, bottom, left, right = op.padding
    fields = {"strides": list(op.stride), "dilations": list(op.dilation), "group": op.groups,
              "output_padding": list(op.output_padding), **attrs}  # fmt: skip
    if explicit_pads:
        fields["pads"] = [top, left, bottom, right]
    inits = [numpy_helper.from_array(_onnx_weight(w, op.groups).astype(np.float32), "W")]
    inputs = ["x", "W"]
    if b is not None:
        inits.append(numpy_helper.from_array(b.astype(np.float32), "B"))
        inputs.append("B")
    node = helper.make_node("ConvTranspose", inputs, ["y"], name="up", **fields)
    dims = [1, shape.channels, shape.height, shape.width]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, dims)], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], inits)  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_onnx_import_keeps_geometry_and_weights(tmp_path: Path) -> None:
    op = ConvTranspose(out_channels=6, kernel=(3, 2), stride=(2, 3), padding=[1, 0, 2, 1],
                       output_padding=(1, 2), dilation=(1, 2), groups=2)  # fmt: skip
    shape = Shape(4, 5, 6)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 2, 3, 2)).astype(np.float32)
    b = rng.normal(size=6).astype(np.float32)
    path = tmp_path / "up.onnx"
    onnx.save(_float_model(op, shape, w, b), path)
    model = import_onnx(path)
    (layer,) = model.network.layers
    assert layer.op == op.model_copy(update={"bias": True})
    np.testing.assert_array_equal(model.float_weights[layer.name].weight, w)
    np.testing.assert_array_equal(model.float_weights[layer.name].bias, b)
    # exporting the imported network gives the same graph back
    again = tmp_path / "again.onnx"
    again.write_bytes(export_network(model.network, "onnx"))
    assert import_onnx(again).network.layers[0].op == layer.op


@pytest.mark.parametrize("attrs", [
    {"auto_pad": "SAME_UPPER"}, {"auto_pad": "SAME_LOWER"}, {"auto_pad": "VALID"},
    {"output_shape": [9, 10]}, {"output_shape": [9, 10], "auto_pad": "SAME_UPPER"},
])  # fmt: skip
def test_onnx_padding_modes_give_onnxruntimes_output(tmp_path: Path, attrs: dict[str, Any]) -> None:
    """auto_pad and output_shape: the imported padding reproduces onnxruntime's output."""
    rng = np.random.default_rng(1)
    for kernel, stride in ((3, 2), (4, 2), (5, 2), (3, 3)):
        op = ConvTranspose(out_channels=3, kernel=kernel, stride=stride, bias=False)
        shape = Shape(2, 5, 5)
        w = rng.normal(size=(3, 2, kernel, kernel)).astype(np.float32)
        model = _float_model(op, shape, w, None, explicit_pads=False, **attrs)
        path = tmp_path / "m.onnx"
        onnx.save(model, path)
        (layer,) = import_onnx(path).network.layers
        x = rng.normal(size=(1, 2, 5, 5)).astype(np.float32)
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])  # fmt: skip
        theirs = session.run(None, {"x": x})[0]
        assert isinstance(layer.op, ConvTranspose)
        ours = conv_transpose(x, w, layer.op)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def _quantize_static(float_model: Any, folder: Path, shape: Shape, per_channel: bool) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    rng = np.random.default_rng(2)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.data = iter([{"x": rng.normal(size=(1, shape.channels, shape.height,
                                                       shape.width)).astype(np.float32)}
                              for _ in range(4)])  # fmt: skip

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.data, None)

    source, target = folder / "float.onnx", folder / "qdq.onnx"
    onnx.save(float_model, source)
    quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel)  # fmt: skip
    return target


@pytest.mark.parametrize("per_channel", [True, False])
def test_quantize_static_qdq_model_is_checked_bit_exact(tmp_path: Path, per_channel: bool) -> None:
    """onnxruntime runs a QDQ ConvTranspose as DequantizeLinear → float ConvTranspose →
    QuantizeLinear; the engine reproduces that float island bit for bit (weights quantized
    per output channel along axis 1, as quantize_static does; its quantizer fails on grouped
    per-channel ConvTranspose, onnxruntime 1.32)."""
    op = ConvTranspose(out_channels=6, kernel=4, stride=2, padding=[1, 2, 0, 1],
                       output_padding=(1, 0))  # fmt: skip
    shape = Shape(150, 5, 6)  # K = 150 input channels: two K slices of MLAS's GEMM
    rng = np.random.default_rng(3)
    w = rng.normal(size=(6, 150, 4, 4)).astype(np.float32) * 0.1
    path = _quantize_static(_float_model(op, shape, w, rng.normal(size=6)), tmp_path, shape,
                            per_channel)  # fmt: skip
    model = import_onnx(path)
    assert model.quantized is not None
    (layer,) = model.network.layers
    assert layer.kind == "conv_transpose"
    result = run_functional(model.network, ChipConfig(), batch=1, check=True, model=model, seed=4)
    assert result.check is not None
    report = result.check.as_dict()
    assert report["float_layers"] == {layer.name: "ConvTranspose"}
    assert (report["layers_checked"], report["mismatches"]) == (1, 0)


@pytest.mark.parametrize("groups", [1, 2])
def test_quantize_static_qoperator_model_is_checked_bit_exact(tmp_path: Path, groups: int) -> None:
    """quantize_static's QOperator form leaves a ConvTranspose in float32 with float weights
    (there is no QLinearConvTranspose); onnxruntime's optimizer then quantizes those weights to
    int8 and the bias to int32 (WeightBiasQuantization) and runs the float op on their
    DequantizeLinear. The engine takes those weights from the optimized graph: bit-exact."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    rng = np.random.default_rng(5)
    inits = [numpy_helper.from_array(a.astype(np.float32), name) for name, a in (
        ("w1", rng.normal(size=(4, 8, 3, 3)) * 0.2), ("wt", rng.normal(size=(4, 6 // groups, 3, 3)) * 0.2),
        ("bt", rng.normal(size=6) * 0.1), ("w2", rng.normal(size=(5, 6, 1, 1)) * 0.3))]  # fmt: skip
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("ConvTranspose", ["c", "wt", "bt"], ["t"], strides=[2, 2],
                              pads=[1, 1, 1, 1], output_padding=[1, 1], group=groups),
             helper.make_node("Relu", ["t"], ["r"]),
             helper.make_node("Conv", ["r", "w2"], ["y"])]  # fmt: skip
    graph = helper.make_graph(
        nodes, "qop", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5, 12, 12])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    source, target = tmp_path / "float.onnx", tmp_path / "qop.onnx"
    onnx.save(model, source)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.data = iter([{"x": rng.normal(size=(1, 8, 6, 6)).astype(np.float32)}
                              for _ in range(4)])  # fmt: skip

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.data, None)

    quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QOperator)
    assert "ConvTranspose" in [node.op_type for node in onnx.load(target).graph.node]
    imported = import_onnx(target)
    assert imported.quantized is not None
    layer = next(layer for layer in imported.network.layers if layer.kind == "conv_transpose")
    assert layer.name not in imported.quantized.weights  # the file holds float weights only
    result = run_functional(imported.network, ChipConfig(), batch=1, check=True, model=imported,
                            seed=6)  # fmt: skip
    assert result.check is not None
    report = result.check.as_dict()
    assert report["float_layers"].get(layer.name) == "ConvTranspose"
    assert (report["layers_checked"], report["mismatches"]) == (3, 0)


@settings(max_examples=30, deadline=None)
@given(transposed(), st.integers(0, 2**32 - 1), st.sampled_from([1, 3, 150]))
def test_mlas_float_conv_transpose_is_onnxruntimes_to_the_bit(
    case: tuple[ConvTranspose, Shape], seed: int, channels: int
) -> None:
    """The float ConvTranspose of an unfused QDQ group (weights from a DequantizeLinear, so not
    pre-packed), bit for bit, including K above MLAS's 128 slice and 1×1 inputs."""
    op, shape = case
    shape = Shape(op.groups * channels, shape.height, shape.width)
    rng = np.random.default_rng(seed)
    per_group = channels
    q = rng.integers(-127, 128, (per_group * op.groups, op.out_channels // op.groups, *op.kernel))
    scale = (rng.random(op.out_channels // op.groups) * 0.05 + 0.001).astype(np.float32)
    x = rng.normal(size=(2, shape.channels, shape.height, shape.width)).astype(np.float32)
    b = rng.normal(size=op.out_channels).astype(np.float32)
    top, bottom, left, right = op.padding
    nodes = [helper.make_node("DequantizeLinear", ["Wq", "Ws"], ["W"], axis=1),
             helper.make_node("ConvTranspose", ["x", "W", "B"], ["y"], strides=list(op.stride),
                              pads=[top, left, bottom, right], dilations=list(op.dilation),
                              group=op.groups, output_padding=list(op.output_padding))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, x.shape)], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], [numpy_helper.from_array(q.astype(np.int8), "Wq"),
        numpy_helper.from_array(scale, "Ws"), numpy_helper.from_array(b, "B")])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    theirs = session.run(None, {"x": x})[0]
    real = (q.astype(np.float32) * scale.reshape(1, -1, 1, 1)).astype(np.float32)
    groups, out_per_group = op.groups, op.out_channels // op.groups
    w = real.reshape(groups, per_group, out_per_group, *op.kernel).transpose(0, 2, 1, 3, 4)
    out = op.output_shape((shape,))
    ours = mlas_conv_transpose(x, np.ascontiguousarray(w.reshape(op.out_channels, per_group,
                                                                 *op.kernel)), b, op,
                               (out.height, out.width))  # fmt: skip
    np.testing.assert_array_equal(ours.view(np.int32), theirs.view(np.int32))


def _transpose_conv_tflite(shape: Shape, out: Shape, kernel: int, stride: int, same: bool,
                           bias: bool, activation: int, seed: int) -> bytes:  # fmt: skip
    """A one-operator int8 TRANSPOSE_CONV model (OHWI per-channel weights)."""
    rng = np.random.default_rng(seed)
    b = TfliteBuilder()
    x = b.tensor("x", (1, shape.height, shape.width, shape.channels), "int8", 0.05, 3)
    w = rng.integers(-127, 128, (out.channels, kernel, kernel, shape.channels)).astype(np.int8)
    w_scale = (rng.random(out.channels) * 0.01 + 0.002).astype(np.float32)
    filt = b.tensor("w", w.shape, "int8", w_scale, None, axis=0, data=w)
    dims = b.tensor("shape", (4,), "int32",
                    data=np.array([1, out.height, out.width, out.channels], np.int32))
    y = b.tensor("y", (1, out.height, out.width, out.channels), "int8", 0.08, -5)
    inputs = [dims, filt, x]
    if bias:
        values = rng.integers(-3000, 3000, out.channels).astype(np.int32)
        inputs.append(b.tensor("b", (out.channels,), "int32", w_scale * np.float32(0.05), None,
                               data=values))  # fmt: skip
    options = schema().TransposeConvOptionsT()
    options.padding = schema().Padding.SAME if same else schema().Padding.VALID
    options.strideH = options.strideW = stride
    options.fusedActivationFunction = activation
    b.operator("TRANSPOSE_CONV", inputs, [y], options)
    return b.finish([x], [y])


@pytest.mark.parametrize(("kernel", "stride", "out_size", "same", "bias", "activation"), [
    (4, 2, 10, True, True, 0),    # SAME: the top pad is 1
    (3, 2, 10, True, False, 1),   # SAME, odd total: top 0, one row of output padding; ReLU
    (3, 2, 11, False, True, 0),   # VALID: the full scatter
    (2, 2, 10, True, True, 3),    # U-Net's 2×2 up-convolution, ReLU6
    (5, 3, 15, True, True, 0),
])  # fmt: skip
def test_tflite_transpose_conv_file_is_checked_bit_exact(
    tmp_path: Path, kernel: int, stride: int, out_size: int, same: bool, bias: bool,
    activation: int,
) -> None:  # fmt: skip
    """TRANSPOSE_CONV files: imported (its output_shape input, SAME/VALID padding, the optional
    bias of newer schemas), run by the engine in both mappings, checked against LiteRT's and
    tflite-micro's reference kernels."""
    shape, out = Shape(3, 5, 5), Shape(4, out_size, out_size)
    path = tmp_path / "t.tflite"
    path.write_bytes(_transpose_conv_tflite(shape, out, kernel, stride, same, bias, activation,
                                            seed=kernel))  # fmt: skip
    model = import_tflite(path)
    (layer,) = model.network.layers
    assert layer.output_shape == out and layer.kind == "conv_transpose"
    for form in FORMS:
        chip = ChipConfig().with_values({"array.conv_transpose": form})
        result = run_functional(model.network, chip, batch=1, check=True, model=model, seed=1)
        assert result.check is not None
        assert (result.check.layers_checked, result.check.mismatches) == (1, 0), form


def _mediapipe_transpose_conv_bias(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int,
                                   pad: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """mediapipe's float kernel, NHWC: every input pixel scatters `x · w[o, ky, kx, :]` to
    (y·stride − pad_top + ky, x·stride − pad_left + kx), taps outside the output dropped,
    onto the bias."""
    out = np.broadcast_to(b.astype(np.float64), (1, *out_hw, w.shape[0])).copy()
    for iy, ix, ky, kx in itertools.product(range(x.shape[1]), range(x.shape[2]),
                                            range(w.shape[1]), range(w.shape[2])):
        oy, ox = iy * stride - pad[0] + ky, ix * stride - pad[1] + kx
        if 0 <= oy < out_hw[0] and 0 <= ox < out_hw[1]:
            out[0, oy, ox] += w[:, ky, kx, :].astype(np.float64) @ x[0, iy, ix]
    return out


@pytest.mark.parametrize(("in_hw", "kernel", "stride", "padding", "pads", "out_hw"), [
    ((8, 8), 2, 2, 1, (0, 0), (16, 16)),  # selfie segmentation's last layer: total 0
    ((5, 6), 4, 2, 1, (1, 1), (9, 12)),   # SAME, total 3 (H): 1 on top, 2 at the bottom; 2 (W)
    ((4, 4), 3, 2, 2, (0, 0), (9, 9)),    # VALID: the full scatter
    ((4, 5), 3, 3, 1, (1, 0), (10, 14)),  # SAME, total 2 (H, (in-1)%s = 0) / 1 (W)
    ((3, 3), 3, 1, 0, (0, 0), (5, 5)),    # padding 0 (kTfLitePaddingUnknown): no crop
])  # fmt: skip
def test_mediapipe_transpose_conv_bias_imports_as_a_conv_transpose(
    tmp_path: Path, in_hw: tuple[int, int], kernel: int, stride: int, padding: int,
    pads: tuple[int, int], out_hw: tuple[int, int],
) -> None:  # fmt: skip
    """mediapipe's custom Convolution2DTransposeBias (struct options: padding, stride_width,
    stride_height; input, OHWI weights, bias): a conv_transpose with mediapipe's crop, MACs
    `in_h·in_w·C_in·C_out·k²`, and the float reference equals mediapipe's kernel loop."""
    from tflite_builders import transpose_conv_bias

    path = tmp_path / "segment.tflite"
    path.write_bytes(transpose_conv_bias(in_hw, 3, 2, kernel, stride, padding, out_hw, seed=5))
    model = import_tflite(path)
    (layer,) = model.network.layers
    op = layer.op
    assert isinstance(op, ConvTranspose)
    assert op.stride == (stride, stride) and op.bias and op.output_padding == (0, 0)
    assert (op.padding[0], op.padding[2]) == pads
    assert str(layer.output_shape) == f"2x{out_hw[0]}x{out_hw[1]}"
    assert layer.macs == in_hw[0] * in_hw[1] * 3 * 2 * kernel * kernel
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, *in_hw, 3)).astype(np.float32)
    weights = model.float_weights[layer.name]
    ours = forward(model.network, model.float_weights, {"x": x.transpose(0, 3, 1, 2)})
    w_ohwi = weights.weight.transpose(0, 2, 3, 1)  # back to the file's OHWI
    theirs = _mediapipe_transpose_conv_bias(x, w_ohwi, weights.bias, stride, pads, out_hw)
    np.testing.assert_allclose(ours[layer.name].transpose(0, 2, 3, 1), theirs, rtol=1e-5,
                               atol=1e-5)  # fmt: skip


def test_mediapipe_transpose_conv_bias_bad_options_are_one_line(tmp_path: Path) -> None:
    from tflite_builders import transpose_conv_bias

    path = tmp_path / "bad.tflite"
    path.write_bytes(transpose_conv_bias((4, 4), 3, 2, 2, 2, 1, (8, 8), options=b"\x01\0\0\0"))
    with pytest.raises(InputError, match=r"operator 'segment' \(CUSTOM:Convolution2DTranspose"
                       r"Bias\) is not supported \(3 inputs and 4 bytes of custom options"):
        import_tflite(path)
    bad = np.array([7, 2, 2], "<i4").tobytes()
    path.write_bytes(transpose_conv_bias((4, 4), 3, 2, 2, 2, 1, (8, 8), options=bad))
    with pytest.raises(InputError, match=r"padding must be 0, 1 \(SAME\) or 2 \(VALID\) and "
                       r"strides >= 1, not padding 7") as error:
        import_tflite(path)
    assert "\n" not in str(error.value)
    (layer,) = import_tflite(path, allow_unsupported=True).network.layers
    assert layer.kind == "unsupported"
    wrong = np.array([1, 2, 2], "<i4").tobytes()  # the file says 9x9, the kernel gives 8x8
    path.write_bytes(transpose_conv_bias((4, 4), 3, 2, 2, 2, 1, (9, 9), options=wrong))
    with pytest.raises(InputError, match="accel computes 2x8x8, but the file says 1x9x9x2"):
        import_tflite(path)


def test_workload_yaml_round_trip_and_scalesim_refusal(tmp_path: Path) -> None:
    data = {"name": "up", "input": {"channels": 4, "height": 6, "width": 6}, "layers": [
        {"name": "up", "kind": "conv_transpose", "out_channels": 2, "kernel": 3, "stride": 2,
         "padding": [1, 0, 1, 1], "output_padding": 1, "activation": "relu"}]}  # fmt: skip
    network = parse_workload(data, "up.yaml", {})
    text = export_network(network, "yaml").decode()
    import yaml

    assert parse_workload(yaml.safe_load(text), "again.yaml", {}).layers == network.layers
    with pytest.raises(InputError, match="cannot be exported to a SCALE-Sim topology"):
        export_network(network, "scalesim-csv")


# ---------------------------------------------------------------- int8 datapath


@st.composite
def quantized_layers(draw: st.DrawFn) -> tuple[QuantizedNetwork, np.ndarray]:
    op, shape = draw(transposed(max_size=4))
    dtype = draw(st.sampled_from([np.int8, np.uint8]))
    name = "int8" if dtype == np.int8 else "uint8"
    x = QuantParams(draw(scales(-8, -2)), draw(zero_points(dtype)), name)  # type: ignore[arg-type]
    y = QuantParams(draw(scales(-4, 2)), draw(zero_points(dtype)), name)  # type: ignore[arg-type]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.integers(-127, 128, (op.out_channels, shape.channels // op.groups, *op.kernel))
    weights = QuantizedWeights(
        w.astype(np.int8), (rng.random(op.out_channels) * 0.02 + 0.001).astype(np.float32),
        rng.integers(-5000, 5000, op.out_channels).astype(np.int32))  # fmt: skip
    op = op.model_copy(update={"activation": draw(st.sampled_from([None, "relu", "relu6"]))})
    network = _network(op, shape)
    qnet = QuantizedNetwork(network, {"input": x, "layer": y}, {"layer": weights})
    batch = draw(st.integers(1, 2))
    return qnet, codes(rng, dtype, (batch, shape.channels, shape.height, shape.width))


@settings(max_examples=60, deadline=None)
@given(quantized_layers(), st.sampled_from(FORMS), st.sampled_from(["onnx", "tflite"]))
def test_engine_requantizes_the_exact_accumulators(
    case: tuple[QuantizedNetwork, np.ndarray], form: str, mode: str
) -> None:
    """Both lowerings on the array give the exact accumulators `Σ (x − x_zp)·w + bias` of the
    reference, requantized per output channel as each mode's reference kernel does."""
    qnet, x = case
    layer = qnet.network.layer("layer")
    op = layer.op
    assert isinstance(op, ConvTranspose)
    weights, xq, yq = qnet.weights["layer"], qnet.activations["input"], qnet.activations["layer"]
    prepared = prepare_array_layer(layer, qnet, mode, form)  # type: ignore[arg-type]
    ours, _ = run_array_layer(prepared, x, xq, None, Accumulator())
    acc = conv_transpose(x.astype(np.float64) - xq.zero_point,
                         weights.weight.astype(np.float64), op).astype(np.int64)
    acc += weights.bias.astype(np.int64).reshape(1, -1, 1, 1)
    activation = op.activation or "none"
    low, high = rq.activation_bounds(activation, yq.scale, yq.zero_point, yq.dtype, mode)
    if mode == "onnx":
        scale = rq.onnx_requant_scale(xq.scale, weights.weight_scales, yq.scale)
        expected = rq.requantize_onnx(acc, scale, yq.zero_point, yq.dtype, axis=1,
                                      act_min=low, act_max=high)  # fmt: skip
    else:
        multiplier, shift = rq.tflite_conv_multipliers(xq.scale, weights.weight_scales, yq.scale)
        expected = rq.requantize_tflite(acc, multiplier, shift, yq.zero_point, yq.dtype, axis=1,
                                        act_min=low, act_max=high)  # fmt: skip
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("mode", ["onnx", "tflite"])
def test_calibrated_decoder_is_checked_bit_exact(form: str, mode: str) -> None:
    """A conv → up-conv → up-conv decoder (k 4 s 2 p 1 with ReLU; k 3 s 2 p 1 output padding
    1), calibrated and checked with --check: against onnxruntime (onnx mode) and LiteRT and
    tflite-micro (tflite mode), in each mapping."""
    data = {"name": "decoder", "input": {"channels": 8, "height": 6, "width": 6}, "layers": [
        {"name": "conv", "kind": "conv", "out_channels": 16, "kernel": 3, "padding": 1,
         "activation": "relu"},
        {"name": "up1", "kind": "conv_transpose", "out_channels": 8, "kernel": 4, "stride": 2,
         "padding": 1, "activation": "relu"},
        {"name": "up2", "kind": "conv_transpose", "out_channels": 4, "kernel": 3, "stride": 2,
         "padding": 1, "output_padding": 1},
    ]}  # fmt: skip
    network = parse_workload(data, "decoder.yaml", {})
    chip = ChipConfig().with_values({"array.conv_transpose": form, "array.requantization": mode})
    result = run_functional(network, chip, batch=2, check=True, seed=5)
    assert result.check is not None
    assert (result.check.layers_checked, result.check.mismatches) == (3, 0)
    assert "inexact_reference_layers" not in result.check.extra


def test_results_digest_drops_only_the_excluded_column() -> None:
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "results_digest.py"
    spec = importlib.util.spec_from_file_location("results_digest", path)
    assert spec is not None and spec.loader is not None
    digest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digest)
    text = 'layer,macs,issued_macs,x\r\nconv,"1,2",7,3\r\nup,4,16,5\r\n'
    assert digest.without(text, ("absent",)) == text.encode()
    assert digest.without(text, ("issued_macs",)) == b'layer,macs,x\r\nconv,"1,2",3\r\nup,4,5\r\n'


def test_imported_macs_equal_an_independent_count_of_the_onnx_graph(tmp_path: Path) -> None:
    """A conv → ConvTranspose → ConvTranspose decoder: accel's MACs equal `onnx_macs`, which
    reads only onnx shape inference and the weight dims."""
    from onnx_macs import count_macs

    rng = np.random.default_rng(6)
    inits = [numpy_helper.from_array(rng.normal(size=s).astype(np.float32), name) for name, s in
             (("w1", (16, 8, 3, 3)), ("w2", (16, 8, 4, 4)), ("w3", (8, 2, 3, 3)))]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("ConvTranspose", ["c", "w2"], ["u"], strides=[2, 2],
                              pads=[1, 1, 1, 1]),
             helper.make_node("ConvTranspose", ["u", "w3"], ["y"], strides=[2, 3], group=2,
                              pads=[1, 0, 0, 1], output_padding=[1, 2])]  # fmt: skip
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 8, 7, 9])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], inits)  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "decoder.onnx"
    onnx.save(model, path)
    network = import_onnx(path).network
    expected = 7 * 9 * 16 * 8 * 9 + 7 * 9 * 16 * 8 * 16 + 14 * 18 * 8 * 2 * 9
    assert network.macs == count_macs(model) == expected
    # PaddlePaddle's exporter holds the weights in Constant nodes; the counter reads those too,
    # with the shapes from running the graph (PP-OCR's detector is counted so)
    constants = [helper.make_node("Constant", [], [t.name], value=t) for t in inits]
    graph = helper.make_graph(constants + nodes, "g", list(graph.input), list(graph.output))
    paddle = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(paddle, path)
    assert import_onnx(path).network.macs == count_macs(paddle, run=True) == expected

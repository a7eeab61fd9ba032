"""accel's own ONNX decoder (accel.io.onnx_wire, accel.io.onnx_proto) against onnx's parser:
every field the importer reads, on onnx's shipped test models, accel's own exports, hand-built
wire encodings protobuf accepts (unpacked numbers, merged messages, unknown fields), and
truncated or mutated files, which must end in one line naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx_builders import FAMILIES, GraphBuilder
from onnx_equality import assert_same_model, assert_same_tensor

from accel.errors import InputError
from accel.io import onnx_wire
from accel.io.export import export_network
from accel.io.onnx_graph import read_model, tensor_array
from accel.io.onnx_proto import TensorData, attribute_value, parse_model
from accel.io.onnx_wire import MAX_DEPTH, WireError, decode, packed_varints
from accel.io.sources import load_network

ONNX_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
SHIPPED = sorted(ONNX_DATA.glob("*/*/*.onnx"))
SHIPPED_TENSORS = sorted(ONNX_DATA.glob("*/*/test_data_set_*/*.pb"))
REPO_MODELS = sorted((Path(__file__).parent / "data" / "onnx").glob("*.onnx"))


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        assert isinstance(payload, int)
        return key + _varint(payload)
    assert isinstance(payload, bytes)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def _same_as_onnx(data: bytes) -> None:
    assert_same_model(parse_model(data), onnx.ModelProto.FromString(data))


@pytest.mark.skipif(not SHIPPED, reason="onnx ships no backend test models here")
def test_every_shipped_onnx_test_model_decodes_as_onnx_parses_it() -> None:
    for path in SHIPPED:
        _same_as_onnx(path.read_bytes())
    assert len(SHIPPED) >= 100


@pytest.mark.skipif(not SHIPPED_TENSORS, reason="onnx ships no backend test data here")
def test_every_shipped_test_tensor_decodes_as_onnx_parses_it() -> None:
    for path in SHIPPED_TENSORS:
        data = path.read_bytes()
        assert_same_tensor(decode(TensorData, data), TensorProto.FromString(data), str(path))


@pytest.mark.parametrize("path", REPO_MODELS, ids=lambda p: p.stem)
def test_the_repositorys_real_graphs_decode_as_onnx_parses_them(path: Path) -> None:
    _same_as_onnx(path.read_bytes())


def test_every_family_and_accels_own_exports_decode_as_onnx_parses_them() -> None:
    for build in FAMILIES.values():
        _same_as_onnx(build().SerializeToString())
    for network in ("lenet5", "mobilenet_v2"):
        for quantized in (False, True):
            _same_as_onnx(export_network(load_network(network), "onnx", quantized=quantized))


# One array of every element type numpy holds, stored in each typed field (raw=False) and raw.
ARRAYS = [np.array([[1.5, -2.25], [np.inf, np.nan]], np.float32),
          np.array([0, 255, 7], np.uint8), np.array([-128, 127, 0], np.int8),
          np.array([0, 65535], np.uint16), np.array([-32768, 5], np.int16),
          np.array([-(2**31), 2**31 - 1], np.int32), np.array([-(2**63), 2**63 - 1], np.int64),
          np.array([True, False, True]), np.array([1.5, -0.0, 65504], np.float16),
          np.array([1e300, -1e-300], np.float64), np.array([0, 2**32 - 1], np.uint32),
          np.array([0, 2**64 - 1], np.uint64), np.array([1 + 2j, -3.5j], np.complex64),
          np.array([1 + 2j], np.complex128), np.array([], np.float32).reshape(0, 3),
          np.array(3.25, np.float32)]  # fmt: skip


@pytest.mark.parametrize("raw", [False, True])
def test_tensors_of_every_numpy_type_read_as_numpy_helper_reads_them(raw: bool) -> None:
    for array in ARRAYS:
        proto = helper.make_tensor("t", helper.np_dtype_to_tensor_dtype(array.dtype),
                                   array.shape, array.tobytes() if raw else array.reshape(-1),
                                   raw=raw)  # fmt: skip
        data = proto.SerializeToString()
        assert_same_tensor(decode(TensorData, data), TensorProto.FromString(data), str(array))
        values = tensor_array(decode(TensorData, data))
        assert values is not None and values.dtype == array.dtype
        assert values.tobytes() == array.tobytes()
    strings = helper.make_tensor("s", TensorProto.STRING, [2], [b"ab", "é".encode()])
    array = tensor_array(decode(TensorData, strings.SerializeToString()))
    assert array is not None and array.tolist() == ["ab", "é"]


def test_attributes_of_every_type_read_as_onnx_helper_reads_them() -> None:
    sub = helper.make_graph([helper.make_node("Relu", ["a"], ["b"])], "body",
                            [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 2])],
                            [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)])
    tensor = numpy_helper.from_array(np.arange(6, dtype=np.int64).reshape(2, 3), "w")
    sparse = helper.make_sparse_tensor(numpy_helper.from_array(np.array([1.0], np.float32)),
                                       numpy_helper.from_array(np.array([2], np.int64)), [4])
    values = {"f": 0.1, "i": -(2**40), "s": "text", "t": tensor, "g": sub, "floats": [1.5, -2.0],
              "ints": [-1, 0, 2**62], "strings": [b"a", b""], "tensors": [tensor, tensor],
              "graphs": [sub], "sparse": sparse, "sparses": [sparse, sparse],
              "tp": helper.make_tensor_type_proto(TensorProto.INT8, [3, "k"]),
              "tps": [helper.make_sequence_type_proto(
                  helper.make_tensor_type_proto(TensorProto.FLOAT, None))]}  # fmt: skip
    node = helper.make_node("Custom", ["x", "", "y"], ["z"], name="n", domain="my.domain",
                            **values)  # fmt: skip
    node.attribute.append(helper.make_attribute_ref("ref", onnx.AttributeProto.INT))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [1])],
                              [helper.make_tensor_value_info("z", 1, [])], [tensor],
                              sparse_initializer=[sparse])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("my.domain", 3)])
    _same_as_onnx(model.SerializeToString())
    ours = parse_model(model.SerializeToString())
    assert ours.graph is not None
    decoded = {a.name: a for a in ours.graph.node[0].attribute}
    for attribute in model.graph.node[0].attribute:
        if attribute.name == "ref":
            with pytest.raises(ValueError, match="refers to a function's attribute"):
                attribute_value(decoded["ref"])
            continue
        expected = helper.get_attribute_value(attribute)
        mine = attribute_value(decoded[attribute.name])
        messages = expected if isinstance(expected, list) else [expected]
        if hasattr(messages[0], "SerializeToString"):  # compared field by field above
            mine = mine if isinstance(mine, list) else [mine]
            assert [bytes(m.message) for m in mine] == [m.SerializeToString() for m in messages]
        else:
            assert mine == expected, attribute.name


def test_wire_encodings_protobuf_accepts_decode_alike() -> None:
    """Repeated numbers not packed, a packed run in two pieces, a singular message given twice
    (protobuf merges them), unknown fields of every wire type and a group, a closed enum's
    unknown value, a later oneof member replacing an earlier one, negative int32s."""
    dims = _field(1, 0, 2) + _field(1, 2, _varint(3) + _varint(4))  # dims 2, 3, 4
    tensor = (dims + _field(2, 0, 7) + _field(8, 2, b"t") + _field(14, 0, 9)
              + _field(99, 5, b"\0\0\0\0") + _field(98, 1, bytes(8)) + _field(97, 0, 1)
              + _varint(96 << 3 | 3) + _field(1, 0, 5) + _varint(96 << 3 | 4))  # fmt: skip
    ints = _field(8, 0, 24) + _field(8, 0, 1)
    data = _field(7, 0, (-5) & (2**64 - 1)) + _field(7, 2, _varint(7) + _varint(2**63 + 1))
    tensor_two = _field(1, 0, 3) + _field(2, 0, 7) + data + _field(8, 2, b"u")
    neg = _field(1, 0, 2) + _field(2, 0, 6) + _field(5, 0, (-3) & (2**64 - 1)) + _field(5, 0, 4)
    dim = _field(1, 0, 5) + _field(2, 2, b"N")  # dim_param after dim_value: the oneof keeps N
    shape = _field(1, 2, dim) + _field(1, 2, _field(1, 0, 7))
    tensor_type = _field(1, 0, 1) + _field(2, 2, shape)
    value = _field(1, 2, b"x") + _field(2, 2, _field(1, 2, tensor_type))
    node = (_field(1, 2, b"x") + _field(2, 2, b"y") + _field(4, 2, b"Op")
            + _field(5, 2, _field(1, 2, b"a") + _field(20, 0, 7) + ints))  # fmt: skip
    graph_one = _field(1, 2, node) + _field(5, 2, tensor) + _field(11, 2, value)
    graph_two = _field(2, 2, b"g") + _field(5, 2, tensor_two) + _field(5, 2, neg)
    model = (_field(1, 0, 8) + _field(7, 2, graph_one) + _field(8, 2, _field(2, 0, 13))
             + _field(7, 2, graph_two))  # fmt: skip
    _same_as_onnx(model)
    decoded = parse_model(model)
    assert decoded.graph is not None and decoded.graph.name == "g"
    assert [t.name for t in decoded.graph.initializer] == ["t", "u", ""]
    assert decoded.graph.initializer[0].dims == (2, 3, 4)
    assert decoded.graph.initializer[0].data_location == 0  # 9 is not a DataLocation
    assert decoded.graph.initializer[1].int64_data.tolist() == [-5, 7, -(2**63) + 1]
    assert decoded.graph.initializer[2].int32_data.tolist() == [-3, 4]
    assert decoded.graph.node[0].attribute[0].ints == (24, 1)


def test_a_name_that_is_not_utf8_is_read_as_onnx_reads_it() -> None:
    """protobuf does not check a proto2 string (onnx gives bytes); accel escapes the bytes."""
    model = _field(7, 2, _field(2, 2, b"a\xff\xfeb") + _field(1, 2, _field(4, 2, b"Relu")))
    _same_as_onnx(model)
    graph = parse_model(model).graph
    assert graph is not None and graph.name == "a\\xff\\xfeb"


@pytest.mark.parametrize("window", [16, 1 << 20])
def test_packed_varints_decode_as_one_at_a_time(window: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Also across the windows the decoder works in (numbers straddle a 16-byte window)."""
    monkeypatch.setattr(onnx_wire, "_WINDOW", window)
    rng = np.random.default_rng(0)
    values = [int(v) for v in rng.integers(-(2**63), 2**63 - 1, 200, dtype=np.int64)]
    values += [0, 1, 127, 128, 2**31, -1, -(2**31)]
    data = b"".join(_varint(v) for v in values)
    assert packed_varints(memoryview(data), "int64").tolist() == values
    assert packed_varints(memoryview(data), "int32").tolist() == [
        (v & 0xFFFFFFFF) - (2**32 if v & 0x80000000 else 0) for v in values]
    with pytest.raises(WireError, match="runs past the end"):
        packed_varints(memoryview(data[:-1]), "int64")
    with pytest.raises(WireError, match="longer than 10 bytes"):
        packed_varints(memoryview(b"\xff" * 10 + b"\x01"), "int64")


def _resnet_bytes() -> bytes:
    g = GraphBuilder("fuzz", [1, 3, 8, 8], opset=13, seed=1)
    x = g.maxpool(g.relu(g.conv(g.input, 3, 4, 3, stride=2)), 2, 2)
    return bytes(g.model([g.gemm(g.node("Flatten", [x]), 4, 3)]).SerializeToString())


def _outcome(path: Path) -> str:
    """'ok', or the one-line message, which must name the file."""
    try:
        read_model(path)
    except InputError as err:
        message = str(err)
        assert "\n" not in message and str(path) in message, message
        return message
    return "ok"


def test_every_truncation_of_a_model_is_refused_in_one_line(tmp_path: Path) -> None:
    data = _resnet_bytes()
    path = tmp_path / "cut.onnx"
    refused = 0
    for end in range(len(data)):
        path.write_bytes(data[:end])
        outcome = _outcome(path)
        try:
            onnx.ModelProto.FromString(data[:end])
            onnx_accepts = True
        except Exception:
            onnx_accepts = False
        if outcome == "ok":  # a cut between two top-level fields is a shorter valid message
            assert onnx_accepts, end
            _same_as_onnx(data[:end])
        refused += outcome != "ok"
    assert refused > len(data) * 0.9


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 8))
def test_mutated_models_decode_as_onnx_does_or_are_refused_in_one_line(
        seed: int, flips: int) -> None:  # fmt: skip
    data = bytearray(_resnet_bytes())
    rng = np.random.default_rng(seed)
    for position in rng.integers(0, len(data), flips):
        data[position] = int(rng.integers(0, 256))
    try:
        ours = parse_model(bytes(data))
    except WireError as err:
        assert "\n" not in str(err)
        return
    try:
        theirs = onnx.ModelProto.FromString(bytes(data))
    except Exception:
        return  # protobuf also checks the fields accel skips (doc strings, metadata)
    assert_same_model(ours, theirs)


def test_a_length_larger_than_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.onnx"
    path.write_bytes(_field(1, 0, 8) + _varint(7 << 3 | 2) + _varint(2**62) + b"\0" * 10)
    with pytest.raises(InputError, match=r"huge\.onnx: not a valid ONNX model \(field 7 of "
                       r"Model claims 4,611,686,018,427,387,904 bytes, but only 10 remain\)"):
        read_model(path)


def test_nesting_deeper_than_protobufs_limit_is_refused(tmp_path: Path) -> None:
    graph = b""
    for _ in range(MAX_DEPTH):  # a graph attribute holding a graph holding ...
        attribute = _field(1, 2, b"body") + _field(20, 0, 5) + _field(6, 2, graph)
        graph = _field(1, 2, _field(4, 2, b"If") + _field(5, 2, attribute))
    path = tmp_path / "deep.onnx"
    path.write_bytes(_field(7, 2, graph))
    with pytest.raises(InputError, match=r"deep\.onnx: .*nest deeper than 100 levels"):
        read_model(path)


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "its graph has no nodes"),
    (b"\x80" * 11, "a number is longer than 10 bytes"),
    (b"\x3a\x05ab", "field 7 of Model claims 5 bytes, but only 2 remain"),
    (b"\x3e", "wire type 6 (field 7 of Model) is not valid"),
    (b"\x00\x01", "field number 0 is not valid in Model"),
])  # fmt: skip
def test_malformed_bytes_name_the_file_and_the_problem(data: bytes, reason: str,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    assert _outcome(path) == f"{path}: not a valid ONNX model ({reason})"


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_model(tmp_path)

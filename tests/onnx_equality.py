"""Field-by-field equality of accel's decoded ONNX model (accel.io.onnx_proto) and onnx's own
parse of the same bytes: every field the importer reads, and each initializer's values as
`tensor_array` and onnx's `numpy_helper.to_array` give them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from onnx import numpy_helper

from accel.io.onnx_graph import tensor_array
from accel.io.onnx_proto import Attribute, Graph, Model, TensorData, TypeInfo, ValueInfo


def _text(value: Any) -> Any:
    """A protobuf string as accel reads it: onnx gives bytes where it is not UTF-8."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return [_text(item) for item in value] if not isinstance(value, str) else value


def _pairs(ours: Sequence[Any], theirs: Sequence[Any], where: str) -> Iterator[tuple[Any, Any]]:
    """Our repeated field and onnx's, item by item, once their lengths are equal."""
    assert len(ours) == len(theirs), where
    return zip(ours, theirs, strict=True)


def assert_same_model(ours: Model, theirs: Any) -> None:
    assert ours.ir_version == theirs.ir_version
    assert [(o.domain, o.version) for o in ours.opset_import] == [
        (_text(o.domain), o.version) for o in theirs.opset_import]
    assert (ours.graph is not None) == theirs.HasField("graph")
    if ours.graph is not None:
        assert_same_graph(ours.graph, theirs.graph, "graph")


def assert_same_graph(ours: Graph, theirs: Any, where: str) -> None:
    assert ours.name == _text(theirs.name), where
    for index, (node, proto) in enumerate(_pairs(ours.node, theirs.node, where)):
        at = f"{where}.node[{index}]"
        assert (list(node.input), list(node.output)) == (_text(proto.input),
                                                         _text(proto.output)), at
        assert (node.name, node.op_type, node.domain) == (_text(proto.name), _text(proto.op_type),
                                                         _text(proto.domain)), at
        for attribute, attribute_proto in _pairs(node.attribute, proto.attribute, at):
            assert_same_attribute(attribute, attribute_proto, at)
    for tensor, proto in _pairs(ours.initializer, theirs.initializer, where):
        assert_same_tensor(tensor, proto, f"{where}.initializer[{tensor.name}]")
    for sparse, proto in _pairs(ours.sparse_initializer, theirs.sparse_initializer, where):
        assert_same_sparse(sparse, proto, f"{where}.sparse_initializer")
    for kind in ("input", "output", "value_info"):
        values, protos = getattr(ours, kind), getattr(theirs, kind)
        for value, proto in _pairs(values, protos, f"{where}.{kind}"):
            assert_same_value_info(value, proto, f"{where}.{kind}[{value.name}]")


def assert_same_value_info(ours: ValueInfo, theirs: Any, where: str) -> None:
    assert ours.name == _text(theirs.name), where
    assert (ours.type is not None) == theirs.HasField("type"), where
    if ours.type is not None:
        assert_same_type(ours.type, theirs.type, where)


def assert_same_type(ours: TypeInfo, theirs: Any, where: str) -> None:
    member = theirs.WhichOneof("value")
    set_here = [name for name in ("tensor_type", "sequence_type", "map_type", "opaque_type",
                                  "sparse_tensor_type", "optional_type")
                if getattr(ours, name) is not None]  # fmt: skip
    assert set_here == ([member] if member else []), where
    if member != "tensor_type":
        return
    tensor_type, proto = ours.tensor_type, theirs.tensor_type
    assert tensor_type is not None
    assert tensor_type.elem_type == proto.elem_type, where
    assert (tensor_type.shape is not None) == proto.HasField("shape"), where
    if tensor_type.shape is None:
        return
    dims = [(d.dim_value, d.dim_param) for d in tensor_type.shape.dim]
    expected = [(d.dim_value if d.HasField("dim_value") else None,
                 _text(d.dim_param) if d.HasField("dim_param") else "")
                for d in proto.shape.dim]  # fmt: skip
    assert dims == expected, where


def assert_same_attribute(ours: Attribute, theirs: Any, where: str) -> None:
    where = f"{where}.{ours.name}"
    assert (ours.name, ours.ref_attr_name, ours.type) == (
        _text(theirs.name), _text(theirs.ref_attr_name), theirs.type), where
    assert (ours.i, bytes(ours.s)) == (theirs.i, theirs.s), where
    assert ours.f == theirs.f or (np.isnan(ours.f) and np.isnan(theirs.f)), where
    assert np.array_equal(np.array(ours.floats, np.float32), np.array(theirs.floats, np.float32),
                          equal_nan=True), where  # fmt: skip
    assert list(ours.ints) == list(theirs.ints), where
    assert [bytes(s) for s in ours.strings] == list(theirs.strings), where
    for name in ("t", "g", "sparse_tensor", "tp"):
        assert (getattr(ours, name) is not None) == theirs.HasField(name), f"{where}.{name}"
    if ours.t is not None:
        assert_same_tensor(ours.t, theirs.t, f"{where}.t")
    if ours.g is not None:
        assert_same_graph(ours.g, theirs.g, f"{where}.g")
    if ours.sparse_tensor is not None:
        assert_same_sparse(ours.sparse_tensor, theirs.sparse_tensor, f"{where}.sparse_tensor")
    if ours.tp is not None:
        assert_same_type(ours.tp, theirs.tp, f"{where}.tp")
    for tensor, proto in _pairs(ours.tensors, theirs.tensors, where):
        assert_same_tensor(tensor, proto, f"{where}.tensors")
    for graph, proto in _pairs(ours.graphs, theirs.graphs, where):
        assert_same_graph(graph, proto, f"{where}.graphs")
    for sparse, proto in _pairs(ours.sparse_tensors, theirs.sparse_tensors, where):
        assert_same_sparse(sparse, proto, f"{where}.sparse_tensors")
    for type_info, proto in _pairs(ours.type_protos, theirs.type_protos, where):
        assert_same_type(type_info, proto, f"{where}.type_protos")


def assert_same_sparse(ours: Any, theirs: Any, where: str) -> None:
    assert list(ours.dims) == list(theirs.dims), where
    for name in ("values", "indices"):
        assert (getattr(ours, name) is not None) == theirs.HasField(name), f"{where}.{name}"
        if getattr(ours, name) is not None:
            assert_same_tensor(getattr(ours, name), getattr(theirs, name), f"{where}.{name}")


def assert_same_tensor(ours: TensorData, theirs: Any, where: str) -> None:
    assert (ours.name, list(ours.dims), ours.data_type, ours.data_location) == (
        _text(theirs.name), list(theirs.dims), theirs.data_type, theirs.data_location), where
    assert [(e.key, e.value) for e in ours.external_data] == [
        (_text(e.key), _text(e.value)) for e in theirs.external_data], where
    assert (ours.segment is not None) == theirs.HasField("segment"), where
    assert (ours.raw_data is not None) == theirs.HasField("raw_data"), where
    if ours.raw_data is not None:
        assert bytes(ours.raw_data) == theirs.raw_data, where
    for name, dtype in (("float_data", np.float32), ("int32_data", np.int32),
                        ("int64_data", np.int64), ("double_data", np.float64),
                        ("uint64_data", np.uint64)):  # fmt: skip
        mine, expected = np.asarray(getattr(ours, name), dtype), np.array(getattr(theirs, name),
                                                                          dtype)
        assert mine.dtype == expected.dtype and mine.tobytes() == expected.tobytes(), (
            f"{where}.{name}")
    assert [bytes(s) for s in ours.string_data] == list(theirs.string_data), where
    assert_same_values(ours, theirs, where)


def assert_same_values(ours: TensorData, theirs: Any, where: str) -> None:
    """`tensor_array` gives what numpy_helper.to_array gives, or fails where it fails."""
    if ours.data_location == 1:
        assert tensor_array(ours) is None
        return
    try:
        expected = numpy_helper.to_array(theirs)
    except Exception:
        expected = None
    try:
        mine = tensor_array(ours)
    except (ValueError, TypeError):
        mine = None
    if expected is None or mine is None:
        assert mine is None and expected is None, f"{where}: one failed, the other did not"
        return
    assert mine.dtype == expected.dtype and mine.shape == expected.shape, where
    if mine.dtype == object:
        assert mine.tolist() == expected.tolist(), where
    else:
        assert mine.tobytes() == expected.tobytes(), where

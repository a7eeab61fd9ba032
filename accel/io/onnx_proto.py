"""The part of ONNX's `ModelProto` the importer reads, decoded from the file's bytes.

Field numbers are onnx.proto's (onnx/onnx, `onnx/onnx.proto`, IR version 11). The classes keep
the names and meanings of the protobuf fields the importer reads (`node.op_type`,
`tensor.raw_data`, `dim.dim_param`) with two changes that make presence explicit: an absent
singular message is None (`tensor_type.shape`, `attribute.t`) and so is an absent `dim_value`
or `raw_data`. Fields the importer never reads (doc strings, metadata, functions, training
info) are skipped. `message` holds each message's own bytes: the rare step that still needs the
onnx package (an operator accel cannot fold itself, a tensor type numpy lacks, shape inference
for a placeholder) hands it exactly what the file holds.
"""

from __future__ import annotations

from typing import Any, ClassVar

from accel.io.onnx_wire import Field, Message, decode

# AttributeProto.AttributeType and TensorProto.DataLocation: proto2 (closed) enums.
ATTRIBUTE_TYPES = {
    0: "UNDEFINED", 1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH", 6: "FLOATS",
    7: "INTS", 8: "STRINGS", 9: "TENSORS", 10: "GRAPHS", 11: "SPARSE_TENSOR",
    12: "SPARSE_TENSORS", 13: "TYPE_PROTO", 14: "TYPE_PROTOS",
}
EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


class OperatorSetId(Message):
    __slots__ = ("domain", "version")
    domain: str
    version: int
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("domain", "string"), 2: Field("version", "int64")}


class StringEntry(Message):
    __slots__ = ("key", "value")
    key: str
    value: str
    FIELDS: ClassVar[dict[int, Field]] = {1: Field("key", "string"), 2: Field("value", "string")}


class Segment(Message):
    __slots__ = ("begin", "end")
    begin: int
    end: int
    FIELDS: ClassVar[dict[int, Field]] = {1: Field("begin", "int64"), 2: Field("end", "int64")}


class TensorData(Message):
    """A TensorProto: dims, element type and one of the data fields (or external data)."""

    __slots__ = ("data_location", "data_type", "dims", "double_data", "external_data",
                 "float_data", "int32_data", "int64_data", "name", "raw_data", "segment",
                 "string_data", "uint64_data")

    dims: tuple[int, ...]
    data_type: int
    segment: Segment | None
    float_data: Any
    int32_data: Any
    string_data: tuple[memoryview, ...]
    int64_data: Any
    name: str
    raw_data: memoryview | None
    double_data: Any
    uint64_data: Any
    external_data: tuple[StringEntry, ...]
    data_location: int
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("dims", "int64", True), 2: Field("data_type", "int32"),
        3: Field("segment", Segment), 4: Field("float_data", "float", True, array=True),
        5: Field("int32_data", "int32", True, array=True),
        6: Field("string_data", "bytes", True), 7: Field("int64_data", "int64", True, array=True),
        8: Field("name", "string"), 9: Field("raw_data", "bytes", default=None),
        10: Field("double_data", "double", True, array=True),
        11: Field("uint64_data", "uint64", True, array=True),
        13: Field("external_data", StringEntry, True),
        14: Field("data_location", "int32", enum=frozenset((0, 1))),
    }


class SparseTensorData(Message):
    __slots__ = ("dims", "indices", "values")
    values: TensorData | None
    indices: TensorData | None
    dims: tuple[int, ...]
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("values", TensorData), 2: Field("indices", TensorData),
        3: Field("dims", "int64", True)}


class Dimension(Message):
    """One dimension: a size (`dim_value`), a symbol (`dim_param`), or neither (unknown)."""

    __slots__ = ("dim_param", "dim_value")
    dim_value: int | None
    dim_param: str
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("dim_value", "int64", default=None), 2: Field("dim_param", "string")}
    ONEOFS: ClassVar[tuple[frozenset[str], ...]] = (frozenset(("dim_value", "dim_param")),)


class TensorShape(Message):
    __slots__ = ("dim",)
    dim: tuple[Dimension, ...]
    FIELDS: ClassVar[dict[int, Field]] = {1: Field("dim", Dimension, True)}


class TensorType(Message):
    __slots__ = ("elem_type", "shape")
    elem_type: int
    shape: TensorShape | None
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("elem_type", "int32"), 2: Field("shape", TensorShape)}


class TypeInfo(Message):
    """A TypeProto: only a tensor type is read; the other members of its oneof are noted."""

    __slots__ = ("map_type", "opaque_type", "optional_type", "sequence_type",
                 "sparse_tensor_type", "tensor_type")

    tensor_type: TensorType | None
    sequence_type: memoryview | None
    map_type: memoryview | None
    opaque_type: memoryview | None
    sparse_tensor_type: memoryview | None
    optional_type: memoryview | None
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("tensor_type", TensorType), 4: Field("sequence_type", "bytes", default=None),
        5: Field("map_type", "bytes", default=None),
        7: Field("opaque_type", "bytes", default=None),
        8: Field("sparse_tensor_type", "bytes", default=None),
        9: Field("optional_type", "bytes", default=None),
    }
    ONEOFS: ClassVar[tuple[frozenset[str], ...]] = (frozenset((
        "tensor_type", "sequence_type", "map_type", "opaque_type", "sparse_tensor_type",
        "optional_type")),)


class ValueInfo(Message):
    __slots__ = ("name", "type")
    name: str
    type: TypeInfo | None
    FIELDS: ClassVar[dict[int, Field]] = {1: Field("name", "string"), 2: Field("type", TypeInfo)}


class Attribute(Message):
    __slots__ = ("f", "floats", "g", "graphs", "i", "ints", "name", "ref_attr_name", "s",
                 "sparse_tensor", "sparse_tensors", "strings", "t", "tensors", "tp", "type",
                 "type_protos")
    name: str
    ref_attr_name: str
    type: int
    f: float
    i: int
    s: memoryview
    t: TensorData | None
    g: Graph | None
    sparse_tensor: SparseTensorData | None
    tp: TypeInfo | None
    floats: tuple[float, ...]
    ints: tuple[int, ...]
    strings: tuple[memoryview, ...]
    tensors: tuple[TensorData, ...]
    graphs: tuple[Graph, ...]
    sparse_tensors: tuple[SparseTensorData, ...]
    type_protos: tuple[TypeInfo, ...]
    FIELDS: ClassVar[dict[int, Field]] = {}  # filled below: it refers to Graph


class Node(Message):
    __slots__ = ("attribute", "domain", "input", "name", "op_type", "output")
    input: tuple[str, ...]
    output: tuple[str, ...]
    name: str
    op_type: str
    domain: str
    attribute: tuple[Attribute, ...]
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("input", "string", True), 2: Field("output", "string", True),
        3: Field("name", "string"), 4: Field("op_type", "string"), 7: Field("domain", "string"),
        5: Field("attribute", Attribute, True),
    }


class Graph(Message):
    __slots__ = ("initializer", "input", "name", "node", "output", "sparse_initializer",
                 "value_info")
    node: tuple[Node, ...]
    name: str
    initializer: tuple[TensorData, ...]
    sparse_initializer: tuple[SparseTensorData, ...]
    input: tuple[ValueInfo, ...]
    output: tuple[ValueInfo, ...]
    value_info: tuple[ValueInfo, ...]
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("node", Node, True), 2: Field("name", "string"),
        5: Field("initializer", TensorData, True),
        15: Field("sparse_initializer", SparseTensorData, True),
        11: Field("input", ValueInfo, True), 12: Field("output", ValueInfo, True),
        13: Field("value_info", ValueInfo, True),
    }


class Model(Message):
    """A ModelProto: the IR version, the operator sets and the main graph."""

    __slots__ = ("graph", "ir_version", "opset_import")
    ir_version: int
    opset_import: tuple[OperatorSetId, ...]
    graph: Graph | None
    FIELDS: ClassVar[dict[int, Field]] = {
        1: Field("ir_version", "int64"), 8: Field("opset_import", OperatorSetId, True),
        7: Field("graph", Graph)}


Attribute.FIELDS.update({
    1: Field("name", "string"), 21: Field("ref_attr_name", "string"),
    20: Field("type", "int32", enum=frozenset(ATTRIBUTE_TYPES)), 2: Field("f", "float"),
    3: Field("i", "int64"), 4: Field("s", "bytes"), 5: Field("t", TensorData),
    6: Field("g", Graph), 22: Field("sparse_tensor", SparseTensorData), 14: Field("tp", TypeInfo),
    7: Field("floats", "float", True), 8: Field("ints", "int64", True),
    9: Field("strings", "bytes", True), 10: Field("tensors", TensorData, True),
    11: Field("graphs", Graph, True), 23: Field("sparse_tensors", SparseTensorData, True),
    15: Field("type_protos", TypeInfo, True),
})


def parse_model(data: bytes | memoryview) -> Model:
    """Decode a serialized ModelProto (raises `onnx_wire.WireError` on malformed bytes)."""
    model: Model = decode(Model, data)
    return model


def attribute_value(attribute: Attribute) -> Any:
    """The attribute's value by its declared type, as onnx's `helper.get_attribute_value`
    gives it (strings stay bytes; a list type gives a list)."""
    if attribute.ref_attr_name:
        raise ValueError(f"attribute {attribute.name!r} refers to a function's attribute "
                         f"{attribute.ref_attr_name!r}")  # fmt: skip
    kind = ATTRIBUTE_TYPES.get(attribute.type, "UNDEFINED")
    single = {"FLOAT": "f", "INT": "i", "STRING": "s", "TENSOR": "t", "GRAPH": "g",
              "SPARSE_TENSOR": "sparse_tensor", "TYPE_PROTO": "tp"}  # fmt: skip
    if kind in single:
        value = getattr(attribute, single[kind])
        return bytes(value) if kind == "STRING" else value
    if kind == "UNDEFINED":
        return None
    values = getattr(attribute, kind.lower())
    return [bytes(v) for v in values] if kind == "STRINGS" else list(values)

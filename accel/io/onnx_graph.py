"""Reading an ONNX model file: the protobuf, its graph inputs and their static shapes.

accel simulates a fixed-size inference, so every input dimension must be known: a model with a
symbolic dimension (a dynamic batch `N`, a free image size) needs `--input-shape`. The file is
decoded by accel itself (`accel.io.onnx_proto`), without the onnx package. Weight initializers are
read lazily: an initializer whose bytes live in an external file is kept as dims only, which is
all the cost model needs, so a graph can be imported even when its `.data` file is absent (its
float weights are then unavailable). The onnx package is imported only for the rare step accel
leaves to it: ONNX shape inference on the fixed shapes (for operators the importer does not
model, `--allow-unsupported`; it computes every other shape itself), a constant node
`accel.io.onnx_fold` does not evaluate, and tensors of types numpy lacks (bfloat16, float8).
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from accel.errors import InputError, first_line
from accel.io.onnx_proto import (
    EXTERNAL,
    Model,
    Node,
    OperatorSetId,
    TensorData,
    TensorType,
    ValueInfo,
    parse_model,
)
from accel.io.onnx_wire import WireError

Dims = tuple[int, ...]
_SHAPE_TEXT = re.compile(r"^\d+(x\d+)*$")


def require_onnx() -> ModuleType:
    """The `onnx` package, or a one-line error saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise InputError(
            "reading this .onnx model needs the onnx package; install it with "
            'pip install "accel-simulator[onnx]"'
        ) from None
    return onnx


def read_model(path: Path) -> Model:
    """Decode `path` as an ONNX ModelProto; external weight data is not loaded.

    The file is memory-mapped: a weight's bytes are read from disk only if its values are
    used (`tensor_array` views them in place), and the mapping lives as long as those views.
    Like numpy's memory-mapped arrays, they assume nobody rewrites the file meanwhile."""
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist")
    data: mmap.mmap | bytes
    try:
        with path.open("rb") as file:
            data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:  # an empty file cannot be mapped
        data = b""
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({first_line(err)})") from None
    try:
        model = parse_model(memoryview(data))
    except WireError as err:
        raise InputError(f"{path}: not a valid ONNX model ({err})") from None
    if model.graph is None or not model.graph.node:
        raise InputError(f"{path}: not a valid ONNX model (its graph has no nodes)")
    return model


def graph_inputs(model: Model) -> list[ValueInfo]:
    """The graph's real inputs (old models also list their initializers as inputs)."""
    assert model.graph is not None
    initializers = {tensor.name for tensor in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def _tensor_type(value: ValueInfo) -> TensorType:
    """A value's tensor type (an empty one when the value is not a tensor)."""
    tensor_type = value.type.tensor_type if value.type is not None else None
    return tensor_type if tensor_type is not None else TensorType()


def element_type(value: ValueInfo) -> int:
    """A value's TensorProto.DataType (0 when it declares none)."""
    return _tensor_type(value).elem_type


def parse_input_shapes(texts: Sequence[str], names: Sequence[str]) -> dict[str, Dims]:
    """`["1x3x224x224"]` (a single-input model) or `["data=1x3x224x224", ...]` → dims by input."""
    shapes: dict[str, Dims] = {}
    for text in texts:
        name, sep, dims = text.rpartition("=")
        if not sep:
            if len(names) != 1:
                raise InputError(
                    f"--input-shape must name the input (name=1x3x224x224) when the model has "
                    f"inputs {', '.join(names)}, not {text!r}"
                )
            name = names[0]
        if name not in names:
            raise InputError(f"--input-shape names input {name!r}, but the model's inputs are "
                             f"{', '.join(names)}")
        if not _SHAPE_TEXT.match(dims.strip()) or "x0" in f"x{dims.strip()}":
            raise InputError(f"--input-shape must be positive sizes like 1x3x224x224, not {dims!r}")
        shapes[name] = tuple(int(size) for size in dims.strip().split("x"))
    return shapes


def resolve_input_dims(model: Model, overrides: Mapping[str, Dims], source: str) -> dict[str, Dims]:
    """Every graph input's dims: from the model, or from `overrides` where given."""
    resolved = {}
    for value in graph_inputs(model):
        shape = _tensor_type(value).shape
        shape_dims = shape.dim if shape is not None else ()
        declared = [d.dim_value if d.dim_value is not None and d.dim_value > 0 else None
                    for d in shape_dims]  # fmt: skip
        labels = [dim.dim_param or "?" for dim in shape_dims]
        if value.name in overrides:
            dims = overrides[value.name]
            if len(dims) != len(declared) or any(
                known not in (None, size) for known, size in zip(declared, dims, strict=True)
            ):
                shown = "x".join(str(d) if d else labels[i] for i, d in enumerate(declared))
                raise InputError(f"{source}: --input-shape for {value.name!r} must fit its "
                                 f"declared shape {shown}, not {'x'.join(map(str, dims))}")
            resolved[value.name] = dims
            continue
        if not declared and shape is not None:
            resolved[value.name] = ()  # a declared rank-0 input (a sample rate, a flag): static
            continue
        if None in declared or not declared:
            index = declared.index(None) if declared else 0
            suggestion = "x".join(
                str(d) if d else ("1" if i == 0 else f"<{labels[i]}>")
                for i, d in enumerate(declared)
            ) or "1x3x224x224"
            raise InputError(
                f"{source}: input {value.name!r} has a dynamic dimension "
                f"{labels[index] if declared else '(no shape)'}; give --input-shape "
                f"{value.name}={suggestion}"
            )
        resolved[value.name] = tuple(int(d) for d in declared if d is not None)
    return resolved


def inferred_dims(model: Model, inputs: Mapping[str, Dims]) -> dict[str, Dims]:
    """ONNX shape inference with the inputs fixed: static dims of every tensor it can infer.

    Needs the onnx package (imported here only): the importer asks for it for an operator it
    does not model (`--allow-unsupported`), for a constant computed from external weights and
    for the size of a constant it leaves to onnx's reference evaluator."""
    onnx = require_onnx()
    fixed = onnx.ModelProto.FromString(bytes(model.message))
    del fixed.graph.value_info[:]
    for value in fixed.graph.input:
        if value.name in inputs:
            shape = value.type.tensor_type.shape
            for dim, size in zip(shape.dim, inputs[value.name], strict=True):
                dim.Clear()
                dim.dim_value = size
    for value in fixed.graph.output:
        value.type.tensor_type.ClearField("shape")
    try:
        inferred = onnx.shape_inference.infer_shapes(fixed, strict_mode=False, data_prop=True)
    except Exception:  # inference is a convenience; the importer computes shapes itself
        return {}
    dims: dict[str, Dims] = {}
    for value in (*inferred.graph.value_info, *inferred.graph.output):
        shape = value.type.tensor_type.shape
        if shape.dim and all(d.HasField("dim_value") for d in shape.dim):
            dims[value.name] = tuple(d.dim_value for d in shape.dim)
    return dims


# TensorProto.DataType → numpy dtype, for the types numpy has (the 8-, 4- and 2-bit floats and
# integers and bfloat16 need ml_dtypes: onnx's numpy_helper reads those), and the typed field
# that holds the values when a tensor has no raw_data.
_NUMPY_TYPES: dict[int, Any] = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
    8: object, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
    14: np.complex64, 15: np.complex128,
}
_TYPED_FIELDS = {1: "float_data", 14: "float_data", 7: "int64_data", 11: "double_data",
                 15: "double_data", 12: "uint64_data", 13: "uint64_data"}  # fmt: skip


def tensor_array(tensor: TensorData) -> np.ndarray | None:
    """An initializer's values (as onnx's `numpy_helper.to_array` gives them), or None when
    they live in an external file. Raw data is viewed in place, not copied."""
    if tensor.data_location == EXTERNAL:
        return None
    if tensor.segment is not None:
        raise ValueError("tensors stored in segments are not supported")
    if tensor.data_type == 0:
        raise TypeError("its element type is UNDEFINED")
    if tensor.data_type not in _NUMPY_TYPES:
        if not 16 <= tensor.data_type <= 28:
            raise ValueError(f"element type {tensor.data_type} is not an ONNX type")
        onnx = require_onnx()
        proto = onnx.TensorProto.FromString(bytes(tensor.message))
        return np.asarray(onnx.numpy_helper.to_array(proto))
    dtype = np.dtype(_NUMPY_TYPES[tensor.data_type])
    dims = tensor.dims
    array: np.ndarray
    if dtype.kind == "O":
        strings = [bytes(s).decode() for s in tensor.string_data]
        array = np.asarray(strings).astype(object).reshape(dims)
    elif tensor.raw_data is not None:
        # In place: unaligned where the file puts it, which numpy reads correctly.
        array = np.frombuffer(tensor.raw_data, dtype.newbyteorder("<")).reshape(dims)
    else:
        field = _TYPED_FIELDS.get(tensor.data_type, "int32_data")
        values = np.asarray(getattr(tensor, field), _STORAGE[field])
        if dtype in (np.float16, np.int16, np.uint16):
            array = values.view(np.uint32).astype(np.uint16).reshape(dims).view(dtype)
        elif dtype == np.bool_:
            array = values.view(np.uint32).astype(np.uint8).view(dtype).reshape(dims)
        elif dtype.kind == "c":
            array = values.view(dtype).reshape(dims)
        else:
            array = values.astype(dtype).reshape(dims)
    return array


_STORAGE = {"float_data": np.float32, "int32_data": np.int32, "int64_data": np.int64,
            "double_data": np.float64, "uint64_data": np.uint64}  # fmt: skip


def evaluate_node(node: Node, arrays: Sequence[np.ndarray | None],
                  opsets: Sequence[OperatorSetId]) -> list[np.ndarray]:  # fmt: skip
    """Run one node whose inputs are all constants with onnx's reference evaluator (the
    shape arithmetic `accel.io.onnx_fold` does not evaluate itself)."""
    onnx = require_onnx()
    from onnx.reference import ReferenceEvaluator

    helper = onnx.helper
    names = [name for name in node.input if name]
    feeds = dict(zip(names, [a for a, n in zip(arrays, node.input, strict=True) if n], strict=True))
    undefined = onnx.TensorProto.UNDEFINED
    inputs = [helper.make_tensor_value_info(name, undefined, None) for name in names]
    outputs = [helper.make_tensor_value_info(name, undefined, None) for name in node.output if name]
    proto = onnx.NodeProto.FromString(bytes(node.message))
    graph = helper.make_graph([proto], "constant", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid(opset.domain, opset.version) for opset in opsets])
    results = ReferenceEvaluator(model).run(None, feeds)
    return [np.asarray(result) for result in results]

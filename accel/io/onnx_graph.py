"""Reading an ONNX model file: the protobuf, its graph inputs and their static shapes.

accel simulates a fixed-size inference, so every input dimension must be known: a model with a
symbolic dimension (a dynamic batch `N`, a free image size) needs `--input-shape`. Weight
initializers are read lazily: `onnx.load(..., load_external_data=False)` keeps an initializer
whose bytes live in an external file as dims only, which is all the cost model needs, so a graph
can be imported even when its `.data` file is absent (its float weights are then unavailable).
ONNX shape inference runs once on the fixed shapes; the importer uses its result only for
operators it does not model (`--allow-unsupported`), and computes every other shape itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from accel.errors import InputError, first_line

Dims = tuple[int, ...]
_SHAPE_TEXT = re.compile(r"^\d+(x\d+)*$")


def require_onnx() -> ModuleType:
    """The `onnx` package, or a one-line error saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise InputError(
            "reading .onnx models needs the onnx package; install it with "
            'pip install "accel-simulator[onnx]"'
        ) from None
    return onnx


def read_model(path: Path) -> Any:
    """Parse `path` as an ONNX ModelProto without loading external weight data."""
    onnx = require_onnx()
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf raises DecodeError and friends
        reason = first_line(err)
        raise InputError(f"{path}: not a valid ONNX model ({reason})") from None
    if not model.graph.node:
        raise InputError(f"{path}: not a valid ONNX model (its graph has no nodes)")
    return model


def graph_inputs(model: Any) -> list[Any]:
    """The graph's real inputs (old models also list their initializers as inputs)."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


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


def resolve_input_dims(model: Any, overrides: Mapping[str, Dims], source: str) -> dict[str, Dims]:
    """Every graph input's dims: from the model, or from `overrides` where given."""
    resolved = {}
    for value in graph_inputs(model):
        declared = [
            dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None
            for dim in value.type.tensor_type.shape.dim
        ]
        labels = [dim.dim_param or "?" for dim in value.type.tensor_type.shape.dim]
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
        if not declared and value.type.tensor_type.HasField("shape"):
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


def inferred_dims(model: Any, inputs: Mapping[str, Dims]) -> dict[str, Dims]:
    """ONNX shape inference with the inputs fixed: static dims of every tensor it can infer."""
    onnx = require_onnx()
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
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


def tensor_array(tensor: Any) -> np.ndarray | None:
    """An initializer's values, or None when its data lives in an external file."""
    onnx = require_onnx()
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return None
    return np.asarray(onnx.numpy_helper.to_array(tensor))


def evaluate_node(node: Any, arrays: Sequence[np.ndarray | None], opsets: Any) -> list[Any]:
    """Run one node whose inputs are all constants with onnx's reference evaluator.

    Used for the shape arithmetic exporters emit (Shape → Gather → Concat → Reshape).
    """
    onnx = require_onnx()
    from onnx.reference import ReferenceEvaluator

    helper = onnx.helper
    names = [name for name in node.input if name]
    feeds = dict(zip(names, [a for a, n in zip(arrays, node.input, strict=True) if n], strict=True))
    undefined = onnx.TensorProto.UNDEFINED
    inputs = [helper.make_tensor_value_info(name, undefined, None) for name in names]
    outputs = [helper.make_tensor_value_info(name, undefined, None) for name in node.output if name]
    graph = helper.make_graph([node], "constant", inputs, outputs)
    model = helper.make_model(graph, opset_imports=list(opsets))
    results = ReferenceEvaluator(model).run(None, feeds)
    return [np.asarray(result) for result in results]

"""The constants of an ONNX import (`Const`): the graph's initializers (weights), and every node
whose inputs are all constants, evaluated at import so the shape arithmetic exporters emit
before a Reshape (Shape → Gather → Concat → Reshape) and the dequantization of QDQ weights never
reach the chip.

A DequantizeLinear of a constant keeps its integers and scale (`dequantize_const`); a node
reading a constant whose data the file does not hold gives a constant of unknown data with the
dims ONNX shape inference gives; anything else is folded with numpy (`accel.io.onnx_fold`) or,
for the operators outside its rules, by onnx's reference evaluator. Every result is bounded by
`MAX_FOLDED_ELEMENTS`, checked before the evaluator computes it where its size is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from accel.errors import InputError, first_line
from accel.io.onnx_fold import MAX_FOLDED_ELEMENTS, fold
from accel.io.onnx_graph import Dims, evaluate_node, tensor_array
from accel.io.onnx_proto import Graph
from accel.io.onnx_values import Const, Value, attr, dequantize_const


class FoldingImport(Protocol):
    """What folding reads of the import it serves (`accel.io.onnx_reader.OnnxImporter`)."""

    @property
    def opset(self) -> int: ...

    @property
    def opsets(self) -> Sequence[Any]: ...

    def inferred(self) -> Mapping[str, Dims]: ...

    def error(self, node: Any, message: str) -> InputError: ...


def initializer_consts(graph: Graph, source: str) -> dict[str, Const]:
    """The graph's initializers by name; one whose data does not read is an `InputError`."""
    consts = {}
    for tensor in graph.initializer:
        try:
            array = tensor_array(tensor)
        except InputError:
            raise
        except (ValueError, TypeError, MemoryError) as err:
            raise InputError(f"{source}: initializer {tensor.name!r} is malformed "
                             f"({first_line(err)})") from None  # fmt: skip
        consts[tensor.name] = Const(array, tuple(tensor.dims))
    return consts


def folded_outputs(imp: FoldingImport, node: Any,
                   values: Sequence[Value | None]) -> dict[str, Const]:  # fmt: skip
    """The constant each output of `node` is, its inputs `values` being constants or absent."""
    consts = [v if isinstance(v, Const) else None for v in values]
    if node.op_type == "DequantizeLinear" and consts[0] is not None:
        return {node.output[0]: dequantize_const(consts, attr(node, "axis", 1))}
    arrays = [c.array if c is not None else None for c in consts]
    if any(c is not None and c.array is None for c in consts):
        return {node.output[0]: Const(None, imp.inferred().get(node.output[0], ()))}
    results = fold(node, arrays, imp.opset)
    if results is None:  # left to onnx's reference evaluator
        _check_fold_size(imp, node, arrays)
        try:
            results = evaluate_node(node, arrays, imp.opsets)
        except InputError:
            raise
        except Exception as err:
            raise imp.error(node, f"its constant inputs cannot be evaluated "
                                  f"({first_line(err)})") from None  # fmt: skip
    folded = {}
    for output, result in zip(node.output, results, strict=False):
        if np.asarray(result).size > MAX_FOLDED_ELEMENTS:
            raise imp.error(node, f"must fold to at most {MAX_FOLDED_ELEMENTS:,} constant "
                                  f"elements, not {np.asarray(result).size:,}")  # fmt: skip
        folded[output] = Const(result, tuple(result.shape))
    return folded


def _check_fold_size(imp: FoldingImport, node: Any, arrays: list[Any]) -> None:
    """Refuse, before computing it, a constant that would be huge: ConstantOfShape's shape
    input, or the size ONNX shape inference gives the output."""
    size = None
    if node.op_type == "ConstantOfShape" and arrays and arrays[0] is not None:
        shape = np.asarray(arrays[0]).reshape(-1)
        size = int(np.prod([max(int(d), 0) for d in shape], dtype=object)) if shape.size else 1
    elif node.output and (dims := imp.inferred().get(node.output[0])):
        size = int(np.prod([int(d) for d in dims], dtype=object))
    if size is not None and size > MAX_FOLDED_ELEMENTS:
        raise imp.error(node, f"must fold to at most {MAX_FOLDED_ELEMENTS:,} constant "
                              f"elements, not {size:,} ({size * 4 / 2**30:.1f} GiB as "
                              "float32)")  # fmt: skip

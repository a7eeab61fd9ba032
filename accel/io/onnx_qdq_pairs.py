"""Double QDQ pairs: the requantization onnxruntime merges away before it runs a QDQ model.

A QDQ model can hold an activation through two quantizations in a row,
`Q1 → DQ1 → Q2 → DQ2` (with Dropout or Identity between DQ1 and Q2, which onnxruntime removes
first): a float op whose input and output the quantizer gave different scales and that
onnxruntime then dropped. onnxruntime's level-1 transformer DoubleQDQPairsRemover deletes the
middle DQ1 → Q2 and gives the outer Q1 and DQ2 one new (scale, zero point): the intersection
of the two pairs' real ranges, computed in float32. The chip's buffer then holds the codes of
that merged quantization, not Q1's, so the importer records it for the tensor.

The preconditions are onnxruntime's, as far as a file shows them: Q1 feeds only DQ1, DQ1 only
Q2, every reader of Q2 is a DequantizeLinear with Q2's parameters, none of Q1, DQ1, Q2 is a
graph output, scales are float32 scalar constants and zero points 8-bit scalar constants of
one type, and the two pairs do not share their scale and zero-point initializers (nor their
values). Chains of pairs merge repeatedly, as onnxruntime's transformer loop does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accel.io.onnx_graph import tensor_array
from accel.model.quantized import QMIN_QMAX, ActivationDtype, QuantParams

_QUANTIZE, _DEQUANTIZE = "QuantizeLinear", "DequantizeLinear"
_EIGHT_BIT = (np.dtype(np.int8), np.dtype(np.uint8))


def merged_quantization(first: QuantParams, second: QuantParams) -> QuantParams | None:
    """The (scale, zero point) DoubleQDQPairsRemover gives a merged pair: each pair's real range
    `[(qmin - zp)·s, (qmax - zp)·s]`, their intersection, spread over qmin..qmax; float32 in
    onnxruntime's order, the zero point rounded half away from zero (std::round). None when
    the ranges do not overlap (no positive scale)."""
    qmin, qmax = QMIN_QMAX[first.dtype]
    lows = [np.float32(qmin - p.zero_point) * np.float32(p.scale) for p in (first, second)]
    highs = [np.float32(qmax - p.zero_point) * np.float32(p.scale) for p in (first, second)]
    real_min = lows[1] if lows[0] < lows[1] else lows[0]  # std::max
    real_max = highs[1] if highs[1] < highs[0] else highs[0]  # std::min
    scale = np.float32(real_max - real_min) / np.float32(qmax - qmin)
    if not (np.isfinite(scale) and scale > 0):
        return None
    shifted = np.float32(np.float32(qmin) - np.float32(real_min / scale))
    wrapped = np.array(round_half_away(shifted), np.int64).astype(first.dtype)  # narrow_cast
    return QuantParams(float(scale), int(wrapped), first.dtype)


def round_half_away(value: np.float32) -> int:
    """std::round of a float32: halves away from zero. In float64, where |x| + 0.5 is exact
    (in float32, 0.49999997 + 0.5 rounds up to 1)."""
    return int(math.copysign(math.floor(abs(float(value)) + 0.5), float(value)))


@dataclass
class PairRewrites:
    """Per graph-node index, the quantization a Q or DQ node has after the merges; and the
    Q1 nodes whose merged quantization accel cannot represent."""

    quant: dict[int, QuantParams] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)


@dataclass
class _QdqNode:
    index: int
    op_type: str
    output: str
    names: tuple[str, str]  # scale and zero-point tensor names
    params: QuantParams | None


def merged_pairs(graph: Any) -> PairRewrites:
    """What DoubleQDQPairsRemover does to `graph`, as new quantization of its Q/DQ nodes."""
    nodes = _qdq_nodes(graph, _constants(graph))
    outputs = {value.name for value in graph.output}
    readers = _readers(graph, _aliases(graph, outputs))
    owner: dict[int, int] = {}  # a removed DQ1 / Q2 → the Q1 that took its place
    rewrites = PairRewrites()
    changed = True
    while changed:  # onnxruntime repeats its level-1 transformers until nothing changes
        changed = False
        for q1 in [n for n in nodes.values() if n.op_type == _QUANTIZE and n.index not in owner]:
            merge = _match(q1, nodes, readers, outputs)
            if merge is None:
                continue
            dq1, q2, dq2s = merge
            readers[q1.output] = [dq2.index for dq2 in dq2s]
            owner[dq1.index] = owner[q2.index] = q1.index
            changed = True
            if _same_quantization(dq1, q2):
                continue  # removed, but the outer pairs keep their own (equal) parameters
            merged = merged_quantization(dq1.params, q2.params)  # type: ignore[arg-type]
            if merged is None:
                rewrites.gaps.append(f"node {q1.output!r} (double QDQ pair with disjoint ranges)")
                continue
            for node in (q1, *dq2s):  # new initializers, named apart from every other pair's
                node.params, node.names = merged, (f"merged scale {q1.index}",
                                                   f"merged zero point {q1.index}")
                rewrites.quant[node.index] = merged
    for removed in owner:
        root = owner[removed]
        while root in owner:
            root = owner[root]
        if root in rewrites.quant:  # a removed DQ1 / Q2 renames the merged codes
            rewrites.quant[removed] = rewrites.quant[root]
    return rewrites


def _match(
    q1: _QdqNode, nodes: Mapping[int, _QdqNode], readers: Mapping[str, list[int]],
    outputs: set[str],
) -> tuple[_QdqNode, _QdqNode, list[_QdqNode]] | None:
    """(DQ1, Q2, DQ2s) when `q1` starts a double pair onnxruntime merges."""
    dq1 = _only_reader(q1, nodes, readers, outputs, _DEQUANTIZE)
    q2 = _only_reader(dq1, nodes, readers, outputs, _QUANTIZE) if dq1 else None
    if dq1 is None or q2 is None or q2.output in outputs or not _same_pair(q1, dq1):
        return None
    dq2s = [nodes.get(index) for index in readers.get(q2.output, [])]
    pairs = [dq2 for dq2 in dq2s if dq2 and dq2.op_type == _DEQUANTIZE and _same_pair(q2, dq2)]
    same_type = q1.params is not None and q2.params is not None and (
        q1.params.dtype == q2.params.dtype)
    return (dq1, q2, pairs) if pairs and len(pairs) == len(dq2s) and same_type else None


def _only_reader(
    node: _QdqNode, nodes: Mapping[int, _QdqNode], readers: Mapping[str, list[int]],
    outputs: set[str], op_type: str,
) -> _QdqNode | None:
    found = readers.get(node.output, [])
    if node.output in outputs or len(found) != 1:
        return None
    reader = nodes.get(found[0])
    return reader if reader is not None and reader.op_type == op_type else None


def _same_pair(q: _QdqNode, dq: _QdqNode) -> bool:
    return q.params is not None and q.params == dq.params


def _same_quantization(dq1: _QdqNode, q2: _QdqNode) -> bool:
    """onnxruntime keeps the outer parameters when the pairs share both initializers, or have
    equal zero points and scales within 1e-20."""
    assert dq1.params is not None and q2.params is not None
    gap = abs(float(np.float32(dq1.params.scale) - np.float32(q2.params.scale)))
    return dq1.names == q2.names or (dq1.params.zero_point == q2.params.zero_point
                                     and gap < 1e-20)


def _constants(graph: Any) -> dict[str, np.ndarray | None]:
    """Initializers that no graph input overrides, and Constant nodes' values."""
    overridable = {value.name for value in graph.input}
    constants = {tensor.name: tensor_array(tensor) for tensor in graph.initializer
                 if tensor.name not in overridable}  # fmt: skip
    for node in graph.node:
        value = [a.t for a in node.attribute if a.name == "value" and a.t is not None]
        if node.op_type == "Constant" and value:
            constants[node.output[0]] = tensor_array(value[0])
    return constants


def _qdq_nodes(graph: Any, constants: Mapping[str, np.ndarray | None]) -> dict[int, _QdqNode]:
    """Every Q/DQ node, with its parameters when they are 8-bit scalar constants."""
    nodes = {}
    for index, node in enumerate(graph.node):
        if node.op_type in (_QUANTIZE, _DEQUANTIZE) and len(node.input) == 3:
            names = (node.input[1], node.input[2])
            nodes[index] = _QdqNode(index, node.op_type, node.output[0], names,
                                    _params(constants.get(names[0]), constants.get(names[1])))
    return nodes


def _params(scale: np.ndarray | None, zero: np.ndarray | None) -> QuantParams | None:
    if scale is None or zero is None or scale.size != 1 or zero.size != 1:
        return None
    if scale.dtype != np.float32 or zero.dtype not in _EIGHT_BIT:
        return None
    value = float(scale.reshape(-1)[0])
    if not (np.isfinite(value) and value > 0):
        return None
    dtype: ActivationDtype = "int8" if zero.dtype == np.int8 else "uint8"
    return QuantParams(value, int(zero.reshape(-1)[0]), dtype)


def _aliases(graph: Any, outputs: set[str]) -> dict[str, str]:
    """Output → input of the Dropout (mask unread) and Identity nodes onnxruntime removes."""
    read = {name for node in graph.node for name in node.input}
    aliases = {}
    for node in graph.node:
        removable = node.op_type == "Identity" or (
            node.op_type == "Dropout" and len(node.input) < 3
            and not any(name in read or name in outputs for name in node.output[1:]))
        if removable and node.output[0] not in outputs and node.input:
            aliases[node.output[0]] = node.input[0]
    return aliases


def _readers(graph: Any, aliases: Mapping[str, str]) -> dict[str, list[int]]:
    """Per tensor, the indices of the nodes reading it (one per input slot), looking through
    the removed aliases."""
    readers: dict[str, list[int]] = {}
    for index, node in enumerate(graph.node):
        if node.output and node.output[0] in aliases:
            continue
        for name in node.input:
            while name in aliases:
                name = aliases[name]
            if name:
                readers.setdefault(name, []).append(index)
    return readers

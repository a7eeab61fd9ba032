"""A user's ONNX model as onnxruntime actually runs it: the optimized graph behind a `--check`.

onnxruntime does not execute a quantized model node by node as written. With its default session
options it first rewrites the graph, and the rewrite decides the arithmetic of each layer:
- in QDQ form, a DequantizeLinear → op → QuantizeLinear group becomes one integer kernel
  (QLinearConv, QLinearAdd, QLinearAveragePool, ...) only when all its activations share one
  type. On x86 ORT first turns int8 activations into uint8 ones (codes + 128, zero point + 128),
  but only for a tensor with a single reader, so a group whose input has several readers and
  whose output has one ends up mixed and stays float32: DequantizeLinear, float op,
  QuantizeLinear;
- QLinearConv, MaxPool and the pools move to NHWC contrib kernels, float pools and convs to the
  blocked NCHWc layout; transposes are inserted at the layout boundaries.
`optimize` lets ORT save the graph it will run; `locate` finds, for every accel tensor, the
optimized graph's tensor that holds its codes (its layout, and the +128 offset of a converted
type) and the float op that computes it when the layer stayed float.

onnx and onnxruntime are optional and imported only here.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accel.check.onnx_types import FLOAT, INT8, UINT8, attribute, element_types
from accel.check.ort_session import reference_options
from accel.errors import InputError, first_line

# Nodes that only move codes between layouts or shapes, looked through to find a float op.
_MOVES = frozenset(("Transpose", "ReorderOutput", "Reshape", "Flatten", "Squeeze", "Unsqueeze"))
_QDQ = frozenset(("QuantizeLinear", "DequantizeLinear"))


@dataclass(frozen=True)
class Location:
    """Where an accel tensor's codes are in the optimized graph."""

    tensor: str  # "" when no tensor holds it readably (an NCHWc tensor between NCHWc ops)
    nhwc: bool  # ORT holds it channels-last
    offset: int  # add to ORT's codes to get the file's (-128 for an int8 tensor made uint8)
    float_op: str | None  # the float32 op that produced it, when the layer was not fused
    # ORT holds the codes' DequantizeLinear in float32: a layer that moves values inside a
    # float island (DepthToSpace → SpaceToDepth between two quantized convs), which the file
    # gives its input's quantization
    dequantized: bool = False


@dataclass(frozen=True, eq=False)
class OrtGraph:
    """The user's model, ORT's optimized version of it, and a session with default options."""

    user: Any  # onnx.ModelProto as written
    optimized: Any  # onnx.ModelProto as onnxruntime runs it
    session: Any  # onnxruntime.InferenceSession with default options


def import_onnxruntime() -> tuple[Any, Any]:
    """(onnx, onnxruntime), or a one-line error saying how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise InputError(
            'the onnxruntime check needs onnx and onnxruntime: pip install "accel-simulator[check]"'
        ) from None
    return onnx, onnxruntime


def optimize(path: str) -> OrtGraph:
    """Open `path` with ORT's default graph optimizations and keep the graph it optimized to."""
    onnx, ort = import_onnxruntime()
    with tempfile.TemporaryDirectory() as folder:
        # Default graph optimizations, one intra-op thread: MLAS splits float32 GEMMs and
        # convolutions by thread count, which changes their summation order.
        options = reference_options(ort, optimize=True)
        options.optimized_model_filepath = str(Path(folder) / "optimized.onnx")
        try:
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as err:
            reason = first_line(err)
            raise InputError(f"{path}: onnxruntime cannot load the model ({reason})") from None
        optimized = onnx.load(options.optimized_model_filepath)
    try:
        user = onnx.load(path)
    except Exception as err:  # onnx's own checks (external data outside the model's folder)
        raise InputError(f"{path}: onnx cannot load the model ({first_line(err)})") from None
    return OrtGraph(user, optimized, session)


def producers_of(graph: Any) -> dict[str, Any]:
    """The node producing each tensor of `graph`."""
    return {output: node for node in graph.node for output in node.output}


def read_as_nhwc(graph: Any, name: str) -> bool:
    """Whether graph input `name` is NHWC: read only through Transpose(0, 3, 1, 2), which the
    importer absorbs (accel sees the input as NCHW)."""
    readers = [node for node in graph.node if name in node.input]
    return bool(readers) and all(
        node.op_type == "Transpose" and attribute(node, "perm", []) == [0, 3, 1, 2]
        for node in readers
    )


def _nhwc_tensors(graph: Any, nhwc_inputs: set[str]) -> set[str]:
    """Tensors ORT holds channels-last: outputs of its NHWC kernels and what follows them."""
    nhwc = set(nhwc_inputs)
    for node in graph.node:
        channels_last = node.domain == "com.microsoft" and (
            node.op_type in ("QLinearConv", "NhwcMaxPool", "NhwcConv", "NhwcFusedConv")
            or attribute(node, "channels_last", 0) == 1
        )
        if node.op_type == "Transpose":
            is_nhwc = attribute(node, "perm", []) == [0, 2, 3, 1]
        elif node.op_type == "ReorderOutput":
            is_nhwc = attribute(node, "channels_last", 0) == 1
        else:
            is_nhwc = channels_last or any(name in nhwc for name in node.input)
        if is_nhwc:
            nhwc.update(node.output)
    return nhwc


def _base_name(name: str) -> str:
    # ORT names a replacement node after the original: "_token_<n>" when it re-creates it,
    # "_nchwc" in the blocked layout, "_pre_q" when it moved a QuantizeLinear above it.
    return re.sub(r"(_token_\d+|_nchwc|_pre_q)+$", "", name)


def _token_nodes(graph: Any) -> dict[str, list[Any]]:
    by_name: dict[str, list[Any]] = {}
    for node in graph.node:
        by_name.setdefault(_base_name(node.name), []).append(node)
    return by_name


def _float_op(node: Any, producers: Mapping[str, Any]) -> str | None:
    """The float op whose result a QuantizeLinear node quantizes, looking through the moves
    ORT put after it (ResNet-50's pool → QuantizeLinear → Reshape); None for an integer kernel."""
    while node.op_type in _MOVES and node.input and node.input[0] in producers:
        node = producers[node.input[0]]
    if node.op_type != "QuantizeLinear":
        return None
    source = producers.get(node.input[0])
    while source is not None and source.op_type in _MOVES:
        source = producers.get(source.input[0])
    if source is None:
        return "input"
    domain = "" if source.domain in ("", "ai.onnx") else f"{source.domain}."
    return f"{domain}{source.op_type}"


def _find(graph: OrtGraph, tensor: str, types: Mapping[str, int]) -> str | None:
    """The optimized graph's name for the user's tensor `tensor`, or None if it vanished."""
    optimized = graph.optimized.graph
    present = set(producers_of(optimized)) | {value.name for value in optimized.input}
    if tensor in present:
        return tensor
    producer = producers_of(graph.user.graph).get(tensor)
    if producer is None:
        return None
    candidates = _token_nodes(optimized)
    if producer.op_type == "QuantizeLinear":
        same = [n for n in candidates.get(producer.name, []) if n.op_type == "QuantizeLinear"]
        if same:
            return str(same[0].output[0])  # the same Q node, its output renamed (int8 → uint8)
        producer = producers_of(graph.user.graph).get(producer.input[0])  # the fused float op
        if producer is None:
            return None
    # The fused integer kernel, or the op itself running on codes once its Q/DQ were dropped.
    for node in candidates.get(producer.name, []):
        if node.op_type not in _QDQ and types.get(node.output[0]) in (INT8, UINT8):
            return str(node.output[0])
    return None


def locate(
    graph: OrtGraph, tensor_names: Mapping[str, str], layers: Iterable[str] = ()
) -> dict[str, Location]:
    """Each accel tensor's codes in the optimized graph (tensors ORT removed are left out), and
    the float32 output of each of `layers` that has no codes (the file leaves it unquantized),
    found by the layer's node name."""
    optimized = graph.optimized.graph
    producers = producers_of(optimized)
    types = element_types(optimized)
    user_types = element_types(graph.user.graph)
    user_inputs = {value.name for value in graph.user.graph.input}
    nhwc = _nhwc_tensors(optimized, {n for n in user_inputs if read_as_nhwc(graph.user.graph, n)})
    locations = {}
    for name, tensor in tensor_names.items():
        found = _find(graph, tensor, types)
        if found is not None and found == tensor and types.get(found) == FLOAT:
            locations[name] = Location(found, found in nhwc, 0, None, dequantized=True)
            continue
        if found is None or types.get(found) not in (INT8, UINT8):
            continue
        user_type = user_types.get(tensor, types[found])
        offset = {(UINT8, INT8): -128, (INT8, UINT8): 128}.get((types[found], user_type), 0)
        producer = producers.get(found)
        float_op = _float_op(producer, producers) if producer is not None else None
        locations[name] = Location(found, found in nhwc, offset, float_op)
    layers = frozenset(layers)
    for name in layers:
        if name not in tensor_names and (location := _float_output(graph, name, nhwc, layers)):
            locations[name] = location
    return locations


def _float_output(
    graph: OrtGraph, name: str, nhwc: set[str], layers: frozenset[str]
) -> Location | None:
    """The float32 output of the node named `name` (through its NCHWc ReorderOutput)."""
    optimized = graph.optimized.graph
    by_name = _token_nodes(optimized)
    # ORT may rename a node after its output when it rewrites it ("r172_pre_q" for node n172).
    outputs = [str(n.output[0]) for n in graph.user.graph.node if n.name == name and n.output]
    candidates = by_name.get(name, []) or [n for out in outputs for n in by_name.get(out, [])]
    nodes = [n for n in candidates if n.op_type not in _QDQ]
    if not nodes:
        return None
    node = _through_fused_relu(optimized, nodes[0], layers)
    domain = "" if node.domain in ("", "ai.onnx") else f"{node.domain}."
    tensor, channels_last = str(node.output[0]), node.output[0] in nhwc
    if node.domain == "com.microsoft.nchwc":  # blocked layout: read it after ReorderOutput
        reorder = [n for n in optimized.node if n.op_type == "ReorderOutput"
                   and n.input[0] == tensor]  # fmt: skip
        # Feeding another NCHWc op directly, it exists only blocked: known op, nothing to read.
        tensor = str(reorder[0].output[0]) if reorder else ""
        channels_last = bool(reorder) and attribute(reorder[0], "channels_last", 0) == 1
    return Location(tensor, channels_last, 0, f"{domain}{node.op_type}")


def _through_fused_relu(graph: Any, node: Any, layers: frozenset[str]) -> Any:
    """The Relu that is `node`'s only reader, if the importer fused it into the layer (a float
    Add's ReLU joins the add layer, so the layer's float result is the Relu's output). A Relu
    that is a layer of its own (after a float BatchNormalization) is not looked through: the
    layer's result is the value before it."""
    readers = [n for n in graph.node if node.output[0] in n.input]
    if len(readers) == 1 and readers[0].op_type == "Relu":
        relu = readers[0]
        if _base_name(relu.name) not in layers:
            return relu
    return node

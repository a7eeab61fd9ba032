"""Checking the engine against onnxruntime running the user's own quantized ONNX model.

The reference is what a user gets: the model file in an onnxruntime CPU session with default
options (all graph optimizations on). Final outputs come from that session. Intermediate
tensors cannot be read from it, and exposing them as graph outputs would change how ORT
optimizes the graph (a tensor with a second reader keeps its int8 type and blocks a fusion), so
the optimized graph ORT saved (`accel.check.ort_graph`) is replayed with every located
tensor as an extra output and optimizations off: the same kernels on the same graph. The replay
must reproduce the session's final outputs bit for bit, or no intermediate tensor is compared.
Compared: each graph input's codes, every layer whose codes the optimized graph still holds
(channels-last and uint8-converted tensors are mapped back; a move ORT computes on float32
values between two quantized tensors as the float32 of its codes), and each graph output, which
is a layer's codes or their DequantizeLinear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.check.compare import CheckReport, compare
from accel.check.onnx_types import FLOAT, element_types
from accel.check.ort_graph import (
    Location,
    OrtGraph,
    import_onnxruntime,
    producers_of,
    read_as_nhwc,
)
from accel.check.ort_session import provenance
from accel.errors import InputError, first_line
from accel.functional.requant import dequantize_linear
from accel.model.quantized import QuantizedNetwork

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]


def model_feeds(
    graph: OrtGraph, real: Mapping[str, F32], codes: Mapping[str, IntArray]
) -> dict[str, npt.NDArray[Any]]:
    """What the model file is fed: float images, or codes for an int8/uint8 graph input; NHWC
    for an input the model transposes to NCHW first (the importer declared it NCHW)."""
    feeds = {}
    initializers = {tensor.name for tensor in graph.user.graph.initializer}
    for value in graph.user.graph.input:
        if value.name in initializers or value.name not in real:
            continue
        floating = value.type.tensor_type.elem_type == FLOAT
        array = np.asarray(real[value.name] if floating else codes[value.name])
        _check_static_dims(value, array.shape)
        if read_as_nhwc(graph.user.graph, value.name):
            array = array.transpose(0, 2, 3, 1)
        feeds[value.name] = np.ascontiguousarray(array)
    return feeds


def _check_static_dims(value: Any, nchw: tuple[int, ...]) -> None:
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in value.type.tensor_type.shape.dim]  # fmt: skip
    if dims and dims[0] is not None and dims[0] != nchw[0]:
        raise InputError(
            f"--batch must be {dims[0]} for this model: its input {value.name!r} has a fixed "
            f"batch of {dims[0]}, not {nchw[0]}"
        )


def replay(
    graph: OrtGraph, feeds: Mapping[str, npt.NDArray[Any]], tensors: list[str]
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, npt.NDArray[Any]], bool, str]:
    """(located tensors from the replayed optimized graph, the final outputs, whether the replay
    reproduced the session's final outputs bit for bit, the note of what was adjusted for exact
    integer kernels on this CPU). Where this CPU's u8s8 kernel saturates, the replay first proves
    itself faithful on the graph as ORT optimized it, then the tensors and final outputs are read
    from the same graph with its u8s8 weights re-encoded (`accel.check.ort_session`)."""
    from accel.check.ort_session import exact_integer_model

    final_names = [output.name for output in graph.session.get_outputs()]
    finals = dict(zip(final_names, _run(graph.session, final_names, feeds), strict=True))
    model = _with_outputs(graph.optimized, tensors)
    feeds = {**_initializer_inputs(graph, feeds), **feeds}
    names = list(dict.fromkeys([*final_names, *tensors]))
    results = _run_replay(model, names, feeds)
    faithful = all(_identical(results[name], finals[name]) for name in final_names)
    exact, note = exact_integer_model(model)
    if note:
        results = _run_replay(exact, names, feeds)
        finals = {name: results[name] for name in final_names}
    return {name: results[name] for name in tensors}, finals, faithful, note


def _initializer_inputs(
    graph: OrtGraph, feeds: Mapping[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[Any]]:
    """Values for graph inputs of the saved optimized graph that the file gave initializers
    (IR < 4 lists weights as inputs too; the saved graph keeps the input, not the value)."""
    onnx, _ = import_onnxruntime()
    optimized = graph.optimized.graph
    declared = {value.name for value in optimized.input} - {t.name for t in optimized.initializer}
    return {
        tensor.name: onnx.numpy_helper.to_array(tensor)
        for tensor in graph.user.graph.initializer
        if tensor.name in declared and tensor.name not in feeds
    }


def _with_outputs(optimized: Any, tensors: list[str]) -> Any:
    """A copy of the optimized graph with `tensors` as extra graph outputs."""
    onnx, _ = import_onnxruntime()
    model = onnx.ModelProto()
    model.CopyFrom(optimized)
    types = element_types(model.graph)
    declared = {output.name for output in model.graph.output}
    for name in tensors:
        if name not in declared:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, types[name], None))
    return model


def _run_replay(
    model: Any, names: list[str], feeds: Mapping[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[Any]]:
    """Run a saved optimized graph as written: the same kernels, optimizations off."""
    from accel.check.ort_session import reference_options

    _, ort = import_onnxruntime()
    try:
        session = ort.InferenceSession(
            model.SerializeToString(), reference_options(ort), providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # onnxruntime raises its own exception types
        raise InputError(
            f"onnxruntime cannot replay its optimized graph of this model ({first_line(err)})"
        ) from None
    return dict(zip(names, _run(session, names, feeds), strict=True))


def _run(session: Any, names: list[str], feeds: Mapping[str, npt.NDArray[Any]]) -> list[Any]:
    try:
        return list(session.run(names, dict(feeds)))
    except Exception as err:  # onnxruntime raises its own exception types
        reason = first_line(err)
        raise InputError(f"onnxruntime cannot run the model on these inputs ({reason})") from None


def _identical(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def to_accel(array: npt.NDArray[Any], location: Location, like: IntArray) -> IntArray | None:
    """ORT's codes in accel's layout and type (None if they cannot be the same tensor); a
    float32 tensor as the int32 view of its bits."""
    codes = array.transpose(0, 3, 1, 2) if location.nhwc and array.ndim == 4 else array
    if codes.size != like.size or (codes.dtype == np.float32) != (like.dtype == np.float32):
        return None
    if codes.dtype == np.float32:
        return _bits(codes.reshape(like.shape))
    shifted = codes.astype(np.int16) + location.offset
    return np.ascontiguousarray(shifted.reshape(like.shape).astype(like.dtype))


def check_model(
    graph: OrtGraph,
    qnet: QuantizedNetwork,
    tensor_names: Mapping[str, str],
    locations: Mapping[str, Location],
    ours: Mapping[str, IntArray],
    feeds: Mapping[str, npt.NDArray[Any]],
) -> CheckReport:
    """Compare the engine's tensors with onnxruntime's run of the model file."""
    readable = {name: loc for name, loc in locations.items() if loc.tensor}
    located, finals, faithful, note = replay(
        graph, feeds, [loc.tensor for loc in readable.values()]
    )
    reference: dict[str, IntArray] = {}
    engine = {name: _bits(np.asarray(array)) for name, array in ours.items()}
    for name, location in readable.items():
        mine: npt.NDArray[Any] = np.asarray(ours[name])
        params = qnet.activations.get(name)
        if location.dequantized and params is not None and mine.dtype != np.float32:
            mine = dequantize_linear(mine, params.scale, params.zero_point)
            engine[name] = _bits(mine)  # compared as ORT holds it: float32 bits
        codes = to_accel(located[location.tensor], location, mine)
        if faithful and codes is not None:
            reference[name] = codes
    outputs = _final_outputs(graph, qnet, tensor_names, ours, finals)
    report = compare({**engine, **outputs[0]}, {**reference, **outputs[1]}, "onnxruntime", "onnx")
    layers = {layer.name for layer in qnet.network.layers}
    checked = sorted(layers & set(reference))
    floats = {name: loc.float_op for name, loc in locations.items() if loc.float_op}
    return replace(report.only_layers(layers), layers_checked=len(checked), extra={
        "session_options": "default graph optimizations (ORT_ENABLE_ALL), 1 intra-op thread",
        "layers_compared": checked,
        "layers_not_compared": sorted(layers - set(reference)),
        "final_outputs_checked": sorted(outputs[1]),
        "replay_reproduces_session": faithful,
        "float_layers": {name: op for name, op in floats.items() if name in layers},
        **provenance(note),
    })  # fmt: skip


def _final_outputs(
    graph: OrtGraph,
    qnet: QuantizedNetwork,
    tensor_names: Mapping[str, str],
    ours: Mapping[str, IntArray],
    finals: Mapping[str, npt.NDArray[Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Graph outputs that are a layer's codes or their DequantizeLinear, as (ours, ORT's);
    float outputs are compared as float32 bit patterns (int32 views)."""
    producers = producers_of(graph.user.graph)
    tensor_of = {tensor: name for name, tensor in tensor_names.items()}
    engine, reference = {}, {}
    for output, value in finals.items():
        node = producers.get(output)
        dequantized = node is not None and node.op_type == "DequantizeLinear"
        source = str(node.input[0]) if node is not None and dequantized else output
        name = tensor_of.get(source)
        if name is None and node is not None and node.name in ours:
            name, dequantized = str(node.name), False  # a layer left in float32
        if name is None or name not in ours:
            continue
        codes = np.asarray(ours[name])
        params = qnet.activations.get(name)
        mine = dequantize_linear(codes, params.scale, params.zero_point) if (
            dequantized and params is not None) else codes  # fmt: skip
        if mine.size != value.size:
            continue
        key = f"output:{output}"
        engine[key] = np.ascontiguousarray(mine.reshape(value.shape)).view(_int_view(value))
        reference[key] = np.ascontiguousarray(value).view(_int_view(value))
    return engine, reference


def _bits(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """float32 as the int32 view of its bits, -0.0 made +0.0 (the sign of a zero depends on
    the order a max pool compares in, and no QuantizeLinear can see it)."""
    if array.dtype != np.float32:
        return array
    return np.ascontiguousarray(array + np.float32(0.0)).view(np.int32)


def _int_view(value: npt.NDArray[Any]) -> Any:
    return np.int32 if value.dtype == np.float32 else value.dtype


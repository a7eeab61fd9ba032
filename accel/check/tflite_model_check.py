"""Checking the engine against TFLite's reference kernels running the user's own .tflite file.

The whole file runs twice: in LiteRT with the reference op resolver (BUILTIN_REF) and
`experimental_preserve_all_tensors`, which keeps every intermediate tensor readable, and in
tflite-micro, whose kernels are the reference kernels of microcontrollers (final outputs only).
Every layer whose int8 tensor LiteRT holds is compared with the engine's (NHWC → NCHW; a
flatten's HWC order → accel's CHW order), and every graph output with tflite-micro's. One
documented exception: LiteRT 2.3 rounds a per-channel FULLY_CONNECTED once where tflite-micro
(and accel) round twice, so such a layer and everything after it are compared with tflite-micro
only. MUL, LEAKY_RELU (multipliers in float32, not double) and LOGISTIC (a float table, not
gemmlowp) can come out one code apart in LiteRT on rare inputs (`tflite_check.litert_differs`):
where they do, that layer and everything after it are compared with tflite-micro only and listed
under `litert_rounding_differs`. A float graph input is
quantized as TFLite's QUANTIZE does (round half away from zero).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.check.compare import CheckReport, compare
from accel.check.tflite_check import _interpreters, litert_differs, provenance
from accel.errors import InputError
from accel.model.network import Layer
from accel.model.ops import Flatten, FullyConnected
from accel.model.quantized import QuantizedNetwork, QuantParams

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]


def quantize_tflite(x: F32, params: QuantParams) -> IntArray:
    """TFLite's QUANTIZE: ``round_half_away(f32(x / s)) + zp``, saturated to the type."""
    ratio = np.asarray(x, np.float32) / np.float32(params.scale)
    rounded = np.sign(ratio) * np.floor(np.abs(ratio) + np.float32(0.5))
    codes = np.clip(rounded.astype(np.float64) + params.zero_point, params.qmin, params.qmax)
    result: IntArray = codes.astype(params.dtype)
    return result


def _nhwc(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)) if array.ndim == 4 else array


def run_litert(
    path: str, feeds: list[npt.NDArray[Any]], tensors: Mapping[str, str]
) -> tuple[dict[str, npt.NDArray[Any]], list[int]]:
    """Every listed tensor (accel name → tensor index) after a BUILTIN_REF run, and the graph
    output indices."""
    litert, _ = _interpreters()
    interpreter = litert.Interpreter(
        model_path=path,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    for detail, x in zip(interpreter.get_input_details(), feeds, strict=True):
        interpreter.set_tensor(detail["index"], x.astype(detail["dtype"]))
    interpreter.invoke()
    values = {name: interpreter.get_tensor(int(index)) for name, index in tensors.items()}
    return values, [int(detail["index"]) for detail in interpreter.get_output_details()]


def run_micro(path: str, feeds: list[npt.NDArray[Any]], outputs: int) -> list[npt.NDArray[Any]]:
    """The graph outputs from tflite-micro (empty if it is not installed)."""
    _, micro = _interpreters()
    if micro is None:
        return []
    arena = 64 * sum(x.nbytes for x in feeds) + (4 << 20)
    runner = micro.Interpreter.from_bytes(Path(path).read_bytes(), arena_size=arena)
    for i, x in enumerate(feeds):
        runner.set_input(x, i)
    runner.invoke()
    return [runner.get_output(i) for i in range(outputs)]


def to_accel(qnet: QuantizedNetwork, name: str, array: npt.NDArray[Any], like: IntArray) -> Any:
    """A TFLite tensor in accel's NCHW layout and CHW flattening order (None if it cannot be
    the same tensor)."""
    if array.size != like.size:
        return None
    layer = next((layer for layer in qnet.network.layers if layer.name == name), None)
    if array.ndim == 4:
        array = array.transpose(0, 3, 1, 2)
    elif layer is not None and isinstance(layer.op, Flatten) and array.ndim == 2:
        source = layer.input_shapes[0]
        hwc = array.reshape(array.shape[0], source.height, source.width, source.channels)
        array = hwc.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(array.reshape(like.shape))


def _and_after(qnet: QuantizedNetwork, seed: Callable[[Layer], bool]) -> set[str]:
    """The layers `seed` picks and every layer that depends on one of them."""
    tainted: set[str] = set()
    for layer in qnet.network.layers:
        if seed(layer) or any(source in tainted for source in layer.inputs):
            tainted.add(layer.name)
    return tainted


def _per_channel_fc(qnet: QuantizedNetwork, layer: Layer) -> bool:
    return isinstance(layer.op, FullyConnected) and len(
        np.unique(qnet.weights[layer.name].weight_scales)
    ) > 1


def check_tflite_model(
    path: str,
    qnet: QuantizedNetwork,
    tensor_names: Mapping[str, str],
    ours: Mapping[str, IntArray],
    feeds: list[npt.NDArray[Any]],
) -> CheckReport:
    """Compare the engine's tflite-mode tensors with LiteRT's and tflite-micro's runs."""
    skipped = _and_after(qnet, lambda layer: _per_channel_fc(qnet, layer))
    litert_names = {n: t for n, t in tensor_names.items() if n not in skipped and n in ours}
    values, output_indices = run_litert(path, feeds, litert_names)
    litert = {}
    for name, value in values.items():
        codes = to_accel(qnet, name, value, np.asarray(ours[name]))
        if codes is not None:
            litert[name] = (np.asarray(ours[name]), codes)
    diverged = _litert_diverged(qnet, litert)
    reference, engine = {}, {}
    for name, (mine, theirs) in litert.items():
        if name not in diverged:
            engine[f"{name}@litert-reference"], reference[f"{name}@litert-reference"] = (
                mine, theirs)
    micro = _micro_pairs(path, qnet, tensor_names, ours, feeds, output_indices)
    for key, (mine, theirs) in micro.items():
        engine[key], reference[key] = mine, theirs
    report = compare(engine, reference, "litert-reference+tflite-micro", "tflite")
    layers = {layer.name for layer in qnet.network.layers}
    compared = {key.rsplit("@", 1)[0] for key in reference} & layers
    mismatched = sorted({key.rsplit("@", 1)[0] for key in report.mismatched_layers})
    return CheckReport(
        report.reference, "tflite", len(compared), tuple(mismatched),
        report.mismatched_elements, report.max_abs_diff,
        {
            "layers_compared": sorted(compared),
            "layers_not_compared": sorted(layers - compared),
            "final_outputs_checked": sorted(k for k in reference if k.endswith("@tflite-micro")),
            "litert_rounding_differs": sorted(diverged),
            **provenance(),
        },
    )  # fmt: skip


def _litert_diverged(
    qnet: QuantizedNetwork, litert: Mapping[str, tuple[IntArray, IntArray]]
) -> set[str]:
    """Layers whose LiteRT kernel rounds differently from tflite-micro and did so on this
    input, and every layer after them (LiteRT's own tensors carry the difference on)."""

    def diverged(layer: Layer) -> bool:
        pair = litert.get(layer.name)
        return pair is not None and litert_differs(layer) and not np.array_equal(*pair)

    return _and_after(qnet, diverged)


def _micro_pairs(
    path: str,
    qnet: QuantizedNetwork,
    tensor_names: Mapping[str, str],
    ours: Mapping[str, IntArray],
    feeds: list[npt.NDArray[Any]],
    output_indices: list[int],
) -> dict[str, tuple[Any, Any]]:
    """(engine, tflite-micro) per graph output; a DEQUANTIZE output as float32 bits."""
    by_index = {int(index): name for name, index in tensor_names.items()}
    dequantized = _dequantize_sources(path)
    pairs = {}
    for index, value in zip(output_indices, run_micro(path, feeds, len(output_indices)),
                            strict=False):  # fmt: skip
        output = by_index.get(dequantized.get(index, index))
        if output is None or output not in ours:
            continue
        mine = np.asarray(ours[output])
        if index in dequantized:  # TFLite dequantizes in double: f32(double(s) · (q − zp))
            params = qnet.activations[output]
            centred = mine.astype(np.int64) - params.zero_point
            mine = (np.float64(np.float32(params.scale)) * centred).astype(np.float32)
            mine, value = mine.view(np.int32), np.asarray(value, np.float32).view(np.int32)
        codes = to_accel(qnet, output, value, mine)
        if codes is not None:
            pairs[f"{output}@tflite-micro"] = (mine, codes)
    return pairs


def _dequantize_sources(path: str) -> dict[int, int]:
    """Output tensor → input tensor of every DEQUANTIZE operator of the file."""
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.Model import Model

    model = Model.GetRootAs(Path(path).read_bytes(), 0)
    graph = model.Subgraphs(0)
    sources = {}
    for position in range(graph.OperatorsLength()):
        op = graph.Operators(position)
        code = model.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == BuiltinOperator.DEQUANTIZE:
            sources[int(op.Outputs(0))] = int(op.Inputs(0))
    return sources


def tflite_feeds(
    path: str, qnet: QuantizedNetwork, real: Mapping[str, F32], codes: Mapping[str, IntArray]
) -> list[npt.NDArray[Any]]:
    """The file's inputs in order, NHWC: float images for a float input, else codes."""
    litert, _ = _interpreters()
    interpreter = litert.Interpreter(model_path=path)
    feeds = []
    for detail in interpreter.get_input_details():
        name = detail["name"]
        floating = np.dtype(detail["dtype"]) == np.float32
        array = _nhwc(np.asarray(real[name] if floating else codes[name]))
        shape = tuple(int(d) for d in detail["shape"])
        if shape and array.shape[0] != shape[0]:
            raise InputError(
                f"--batch must be {shape[0]} for this model: its input {name!r} has a fixed "
                f"batch of {shape[0]}, not {array.shape[0]}"
            )
        feeds.append(array.reshape(shape) if array.size == int(np.prod(shape)) else array)
    del qnet
    return feeds

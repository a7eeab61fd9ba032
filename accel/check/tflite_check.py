"""Checking the engine's `tflite` mode against TFLite's reference kernels, layer by layer.

Each layer TFLite can express is written as a one-layer .tflite model
(`accel.io.tflite_export`), fed with the engine's own int8 inputs of that layer, and run in
tflite-micro (whose kernels are TFLite's reference kernels; the ground truth of tflite mode) and
in LiteRT with the reference op resolver (BUILTIN_REF). Every available interpreter must agree
with the engine, with one documented exception: LiteRT 2.3's per-channel FULLY_CONNECTED rounds
the requantization once instead of twice (it disagrees with tflite-micro and with its own
CONV_2D), and LiteRT 2.3's MUL computes its multiplier s_a·s_b/s_y in float32 where tflite-micro
uses double (one step of the int32 multiplier apart), and LiteRT 2.3's int8 LOGISTIC reads a
float32 lookup table where tflite-micro evaluates gemmlowp's fixed-point logistic (one code apart
next to ties, at input scales such as 2**-7; its int8 TANH likewise reads a table of std::tanh
where tflite-micro evaluates gemmlowp's fixed-point tanh), and LiteRT 2.3's LEAKY_RELU computes its
multipliers in float32 where tflite-micro uses double, so those layers (and h-sigmoid, written
as ADD + MUL) are compared with tflite-micro only. A layer checked against the
engine's own input is checked for the whole network by induction: if every layer matches given
its inputs, the chain matches. Layers TFLite cannot express (and flatten, a pure reshape) are
listed as unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.check.compare import CheckReport, compare
from accel.errors import InputError
from accel.io.tflite_export import LayerModel, layer_model
from accel.model.network import Layer
from accel.model.ops import FullyConnected
from accel.model.quantized import QuantizedNetwork

IntArray = npt.NDArray[np.integer]


def _interpreters() -> tuple[Any, Any]:
    try:
        from ai_edge_litert import interpreter as litert
    except ImportError:
        raise InputError(
            'the TFLite check needs ai-edge-litert: pip install "accel-simulator[check]"'
        ) from None
    try:
        from tflite_micro.python.tflite_micro import runtime as micro
    except ImportError:
        micro = None
    return litert, micro


def provenance() -> dict[str, Any]:
    """What summary.json records about the TFLite references: their versions (the reference
    kernels are portable C++, the same on every CPU; the CPU is recorded all the same)."""
    from importlib.metadata import PackageNotFoundError, version

    from accel.functional.kernels.cpu import float_path

    versions = []
    for package in ("ai-edge-litert", "tflite-micro"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} not installed")
    return {"reference_version": ", ".join(versions), "cpu_float_kernels": float_path()}


def run_reference(
    model: LayerModel, feeds: list[IntArray], litert_too: bool = True
) -> dict[str, IntArray]:
    """The layer's output from each available reference interpreter, by interpreter name."""
    litert, micro = _interpreters()
    outputs = {}
    if micro is not None:
        arena = 16 * sum(x.nbytes for x in feeds) + (1 << 20)
        runner = micro.Interpreter.from_bytes(model.model, arena_size=arena)
        for i, x in enumerate(feeds):
            runner.set_input(x, i)
        runner.invoke()
        outputs["tflite-micro"] = runner.get_output(0)
    if litert_too:
        interp = litert.Interpreter(
            model_content=model.model,
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        )
        interp.allocate_tensors()
        for detail, x in zip(interp.get_input_details(), feeds, strict=True):
            interp.set_tensor(detail["index"], x)
        interp.invoke()
        outputs["litert-reference"] = interp.get_tensor(interp.get_output_details()[0]["index"])
    return outputs


def _per_channel_fc(qnet: QuantizedNetwork, layer: Layer) -> bool:
    if not isinstance(layer.op, FullyConnected):
        return False
    return len(np.unique(qnet.weights[layer.name].weight_scales)) > 1


def litert_differs(layer: Layer) -> bool:
    """Whether LiteRT 2.3's reference kernel may round this layer differently from tflite-micro."""
    # MUL, h-sigmoid whose TFLite form ends in a MUL by 1/6, LOGISTIC, TANH and LEAKY_RELU (see
    # the module docstring).
    function = getattr(layer.op, "function", None)
    return layer.kind == "mul" or function in ("hsigmoid", "sigmoid", "leaky_relu", "tanh")


def _to_tflite(x: IntArray, flat: bool) -> IntArray:
    if flat:
        return np.ascontiguousarray(x.reshape(x.shape[0], -1))
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def _from_tflite(y: IntArray, flat: bool) -> IntArray:
    return y.reshape(y.shape[0], -1, 1, 1) if flat else y.transpose(0, 3, 1, 2)


def check_tflite(qnet: QuantizedNetwork, ours: Mapping[str, IntArray]) -> CheckReport:
    """Every expressible layer of the engine's `tflite`-mode run against TFLite's kernels."""
    batch = next(iter(ours.values())).shape[0]
    references: dict[str, IntArray] = {}
    engine: dict[str, IntArray] = {}
    unchecked = []
    for layer in qnet.network.layers:
        model = layer_model(qnet, layer, batch)
        if model is None:
            unchecked.append(layer.name)
            continue
        feeds = [_to_tflite(np.asarray(ours[name]), model.flat_input) for name in layer.inputs]
        litert_agrees = not (_per_channel_fc(qnet, layer) or litert_differs(layer))
        outputs = run_reference(model, feeds, litert_too=litert_agrees)
        if not outputs:
            unchecked.append(layer.name)
        for interpreter, output in outputs.items():
            key = f"{layer.name}@{interpreter}"  # every interpreter must agree with the engine
            references[key] = _from_tflite(output, model.flat_output)
            engine[key] = np.asarray(ours[layer.name])
    reference = "+".join(sorted({key.rsplit("@", 1)[1] for key in references})) or "none"
    report = compare(engine, references, reference, "tflite")
    layers = sorted({name.rsplit("@", 1)[0] for name in report.mismatched_layers})
    return CheckReport(
        report.reference,
        report.mode,
        len(qnet.network.layers) - len(unchecked),
        tuple(layers),
        report.mismatched_elements,
        report.max_abs_diff,
        {"unchecked_layers": unchecked, **provenance()},
    )

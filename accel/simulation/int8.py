"""The int8 datapath's chain: quantize a network (or take a quantized model file's own int8
model), run it fold by fold along the cost model's tilings, and check it bit for bit against
onnxruntime or TFLite; the engine and the references load only when a run asks for them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from accel.config import ChipConfig
from accel.errors import InputError
from accel.model.network import Network
from accel.model.ops import BatchNorm

if TYPE_CHECKING:
    from accel.check.compare import CheckReport
    from accel.functional.engine import FunctionalRun
    from accel.functional.requant import QuantMode
    from accel.functional.schedule import Schedule
    from accel.io.imported import ImportedModel
    from accel.model.quantized import QuantizedNetwork


FILE_INT8 = "the model file's int8 weights and scales"


def feature_map_densities(
    network: Network, run: FunctionalRun, qnet: QuantizedNetwork
) -> dict[str, tuple[float, float]]:
    """Each layer's (ifmap, ofmap) non-zero fractions in a functional run: elements whose code
    is not the tensor's zero point (a real zero). What a run-length coder on the DRAM link sees
    (`simulate_network(densities=...)`, `dram.feature_map_compression: rlc`)."""

    def density(name: str) -> float:
        codes = run.outputs[name]
        zero = qnet.activations[name].zero_point
        return float(np.count_nonzero(codes != zero)) / max(codes.size, 1)

    known = set(run.outputs) & set(qnet.activations)
    return {
        layer.name: (density(layer.inputs[0]), density(layer.name))
        for layer in network.layers
        if layer.inputs and layer.inputs[0] in known and layer.name in known
    }


def require_int8(chip: ChipConfig) -> None:
    """Refuse a functional run on a float chip: the datapath modelled bit for bit is int8's."""
    if chip.array.precision != "int8":
        raise InputError(
            "--check, --inputs and --dump run the int8 datapath: array.precision must be int8 "
            f"for them, not {chip.array.precision!r}"
        )


@dataclass(frozen=True, eq=False)
class FunctionalResult:
    """The int8 numbers of one functional run, the model that produced them, and the check."""

    qnet: QuantizedNetwork
    run: FunctionalRun
    check: CheckReport | None
    weights: str = "seeded random float weights, calibrated"

    def summary(self) -> dict[str, Any]:
        """The summary.json `functional` section."""
        accumulator = self.run.accumulator
        section: dict[str, Any] = {"mode": self.run.mode, "weights": self.weights}
        if self.check is not None:
            section.update(self.check.as_dict())
        section.update(
            accumulator_bits=accumulator.bits,
            accumulator_overflow=accumulator.overflow,
            overflowed_layers={k: v for k, v in self.run.overflowed.items() if v},
        )
        return section


def run_functional(
    network: Network,
    chip: ChipConfig,
    batch: int = 1,
    inputs: Mapping[str, npt.NDArray[np.generic]] | None = None,
    check: bool = False,
    seed: int = 0,
    model: ImportedModel | None = None,
    schedules: Mapping[str, Schedule] | None = None,
    progress: Progress | None = None,
) -> FunctionalResult:
    """Quantize `network`, execute it on `chip` fold by fold, optionally check every layer.
    `schedules` are the tilings of a simulation of the same network already run
    (`accel.functional.engine.schedules_from`); without them the engine finds them itself.
    `progress` is told of every step (see `Progress`).

    Without `inputs`, the batch is seeded random images. `model` is the imported model file
    `network` came from: a quantized model runs its own int8 weights and scales and is checked
    against onnxruntime running the file (`run_model_file`); a float model's weights are
    calibrated. Otherwise the weights are seeded. The reference of a calibrated network is
    onnxruntime in the chip's `onnx` requantization mode and TFLite's reference kernels in
    `tflite` mode.
    """
    from accel.functional.memory_budget import require_memory

    require_int8(chip)
    require_memory(network, batch)  # before anything is allocated for the batch
    if model is not None and model.dynamic_quantization:
        raise InputError(
            f"{model.source}: functional execution of dynamically quantized models "
            "(DynamicQuantizeLinear, ConvInteger, MatMulInteger) is not supported; simulate "
            "without --check/--inputs/--dump"
        )
    if model is not None and model.functional_gaps:
        raise InputError(
            f"{model.source}: functional execution of {model.functional_gaps[0]} is not "
            "supported; simulate without --check/--inputs/--dump"
        )
    if model is not None and model.quantized is not None:
        return run_model_file(model, chip, batch, inputs, check, seed, schedules, progress)
    # The int8 stages are imported when first run: a cycles-only simulation never loads them.
    from accel.check.compare import check_onnxruntime
    from accel.check.model_files import file_float_weights
    from accel.check.tflite_check import check_tflite
    from accel.functional.calibrate import calibration_steps, quantize_network
    from accel.functional.engine import execute, execution_steps
    from accel.functional.inputs import prepare_inputs, random_images

    steps = _Steps(calibration_steps(network) + execution_steps(network) + int(check),
                   progress)  # fmt: skip
    _require_integer_kernels(network, chip)
    weights = None if model is None else file_float_weights(model)
    qnet = quantize_network(network, weights=weights, seed=seed, on_step=steps.stage("calibrating"))
    images = inputs if inputs is not None else random_images(network, batch, seed)
    network_inputs = prepare_inputs(qnet, images, batch)
    # Array layers run in the fold order the mapper chooses for this chip and batch.
    result = execute(qnet, network_inputs.quantized, chip, schedules, steps.stage("int8"))
    report = None
    if check and chip.array.requantization == "onnx":
        report = check_onnxruntime(qnet, result.outputs, network_inputs.real)
    elif check:
        report = check_tflite(qnet, result.outputs)
    if check:
        steps.stage("checked")(report.reference if report is not None else "")
    origin = "seeded random float weights" if model is None else "the model file's float weights"
    return FunctionalResult(qnet, result, report, f"{origin}, calibrated")


def run_model_file(
    model: ImportedModel,
    chip: ChipConfig,
    batch: int = 1,
    inputs: Mapping[str, npt.NDArray[np.generic]] | None = None,
    check: bool = False,
    seed: int = 0,
    schedules: Mapping[str, Schedule] | None = None,
    progress: Progress | None = None,
) -> FunctionalResult:
    """Run a quantized model file's own int8 weights and scales with its runtime's arithmetic
    (onnxruntime for .onnx, TFLite's reference kernels for .tflite), whatever the chip's
    requantizer is set to, and optionally check against that runtime running the file;
    `progress` is told of every step (see `Progress`)."""
    from accel.check.model_check import check_model, model_feeds
    from accel.check.model_files import optimized_graph, require_quantized, with_float_ops
    from accel.check.ort_graph import locate
    from accel.functional.engine import execute, execution_steps
    from accel.functional.inputs import prepare_inputs, random_images

    require_int8(chip)
    tflite = model.source.lower().endswith(".tflite")
    # ORT's optimized graph decides which layers it fuses into integer kernels and which it
    # leaves in float32; the engine follows it (without onnxruntime: all fused).
    graph = None if tflite else optimized_graph(model.source, required=check)
    qnet = require_quantized(model, graph)
    steps = _Steps(execution_steps(qnet.network) + int(check), progress)
    images = inputs if inputs is not None else random_images(qnet.network, batch, seed)
    if tflite:
        return _run_tflite_file(model, qnet, chip, images, batch, check, schedules, steps)
    names = [layer.name for layer in qnet.network.layers]
    locations = locate(graph, model.tensor_names, names) if graph is not None else {}
    qnet = with_float_ops(qnet, locations)
    network_inputs = prepare_inputs(qnet, images, batch)
    result = execute(qnet, network_inputs.quantized, _with_requantization(chip, "onnx"),
                     schedules, steps.stage("int8"))  # fmt: skip
    report = None
    if check and graph is not None:
        feeds = model_feeds(graph, network_inputs.real, network_inputs.quantized)
        report = check_model(graph, qnet, model.tensor_names, locations, result.outputs, feeds)
    if check:
        steps.stage("checked")("onnxruntime")
    return FunctionalResult(qnet, result, report, FILE_INT8)


def _run_tflite_file(
    model: ImportedModel,
    qnet: QuantizedNetwork,
    chip: ChipConfig,
    images: Mapping[str, npt.NDArray[np.generic]],
    batch: int,
    check: bool,
    schedules: Mapping[str, Schedule] | None,
    steps: _Steps,
) -> FunctionalResult:
    from accel.check.tflite_model_check import (
        check_tflite_model,
        quantize_tflite,
        tflite_feeds,
    )
    from accel.functional.engine import execute
    from accel.functional.inputs import prepare_inputs

    # Float images are quantized as TFLite's QUANTIZE op does (ties away from zero).
    codes = {
        name: quantize_tflite(np.asarray(x, np.float32), qnet.activations[name])
        if np.issubdtype(np.asarray(x).dtype, np.floating) else x
        for name, x in images.items()
    }  # fmt: skip
    network_inputs = prepare_inputs(qnet, codes, batch)
    result = execute(qnet, network_inputs.quantized, _with_requantization(chip, "tflite"),
                     schedules, steps.stage("int8"))  # fmt: skip
    report = None
    if check:
        real = {name: np.asarray(x, np.float32) for name, x in images.items()}
        feeds = tflite_feeds(model.source, qnet, real, network_inputs.quantized)
        report = check_tflite_model(model.source, qnet, model.tensor_names, result.outputs, feeds)
        steps.stage("checked")("TFLite")
    return FunctionalResult(qnet, result, report, FILE_INT8)


def _require_integer_kernels(network: Network, chip: ChipConfig) -> None:
    """A calibrated network's standalone BatchNorm runs in float32 as onnxruntime runs it; the
    tflite mode has no model of that (TFLite's converter rewrites it into MUL and ADD)."""
    if chip.array.requantization != "tflite":
        return
    for layer in network.layers:
        if isinstance(layer.op, BatchNorm):
            raise InputError(
                f"layer {layer.name!r}: a standalone batchnorm (one no conv absorbs) has no "
                "tflite-mode int8 kernel in accel; check it with array.requantization: onnx"
            )


Progress = Callable[[int, int, str], None]
"""Told (steps done, steps in all, the step just done) as a functional run advances: the float
weights, each layer's calibration run, the quantization, the weight layout, each layer's int8
run and the check, so that a terminal can draw a bar."""


class _Steps:
    """Counts a functional run's steps for a `Progress`; `stage(name)` gives the callback the
    steps of one stage report to ("int8: conv1")."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def stage(self, name: str) -> Callable[[str], None]:
        def step(what: str) -> None:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total, f"{name}: {what}" if what else name)

        return step


def _with_requantization(chip: ChipConfig, mode: QuantMode) -> ChipConfig:
    return chip.model_copy(update={"array": chip.array.model_copy(update={"requantization": mode})})

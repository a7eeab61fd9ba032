"""The orchestrator: the one place that chains the stages for every layer of a network.

map_layer     → where the layer runs and how it folds onto the array
time_layer    → stall-free compute cycles and SRAM accesses
model_memory  → tiling under SRAM capacity, DRAM traffic, the layer's replayed pipeline
plan_activations → fused groups and resident activations (off by default): traffic, schedules
replay_network → the end-to-end timeline: layers back to back, next weights prefetched
layer_energy  → energy per component over each layer's share of that timeline

simulate_training runs the same chain over a training step's work items (`training_step`:
forward, loss, backward GEMMs and vector items, optimizer updates; `map_work` places them).

run_functional chains the int8 path: quantize_network → prepare → run along each layer's
tile schedule (the tiling model_memory chose, `engine.schedules_for`) → (optionally) the
bit-exact check against onnxruntime or TFLite. For a quantized model file, run_model_file
instead reads onnxruntime's optimized graph (which layers it fuses, which it keeps in float32)
→ runs the file's own int8 model → checks against the runtime running the file itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.mapper import map_layer
from accel.mapping.training import map_work
from accel.memory.activations import plan_activations
from accel.memory.core_outputs import cores_section
from accel.memory.core_pieces import LayerCores
from accel.memory.footprint import network_footprint
from accel.memory.model import MemoryTraffic, compulsory_bytes, model_memory
from accel.memory.multicore import schedule_network
from accel.memory.replay import replay_network
from accel.model.network import Layer, Network
from accel.model.ops import BatchNorm
from accel.model.training import Optimizer, training_step
from accel.perf.energy import layer_energy, recomputed
from accel.perf.timing import time_layer
from accel.results import LayerResult, NetworkResult, analytic_summary, training_section

if TYPE_CHECKING:
    from accel.check.compare import CheckReport
    from accel.functional.engine import FunctionalRun
    from accel.functional.requant import QuantMode
    from accel.functional.schedule import Schedule
    from accel.io.imported import ImportedModel
    from accel.model.quantized import QuantizedNetwork


def simulate_layer(layer: Layer, chip: ChipConfig, batch: int = 1) -> LayerResult:
    """Cycles, traffic and energy of one layer run alone (empty buffers, idle channel)."""
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    total_cycles = timing.compute_cycles + memory.stall_cycles
    energy = layer_energy(mapping, timing, memory, total_cycles, chip)
    return LayerResult(mapping, timing, memory, energy, chip.array.pe_count)


def simulate_network(
    network: Network, chip: ChipConfig, batch: int = 1,
    densities: Mapping[str, tuple[float, float]] | None = None,
) -> NetworkResult:
    """Simulate every layer of `network` on `chip` for `batch` images, end to end.
    `densities` maps a layer to the non-zero fractions of its (ifmap, ofmap), which drive the
    run-length coder of a row-stationary chip (`feature_map_densities` measures them)."""
    if chip.core_count > 1:
        return simulate_cores(network, chip, batch)
    if not isinstance(chip.cores, int):  # a list of one core: that core is the chip
        chip = chip.core_chips()[0]
    mappings = [map_layer(layer, chip, batch) for layer in network.layers]
    timings = [time_layer(mapping, chip) for mapping in mappings]
    found = densities or {}
    memories = [
        model_memory(mapping, timing, chip, found.get(mapping.layer.name))
        for mapping, timing in zip(mappings, timings, strict=True)
    ]
    # Fused groups and activations kept on chip (chip.memory; both off by default).
    plan = plan_activations(network, mappings, timings, memories, chip)
    # Each layer's share of the end-to-end timeline (sums to the network's latency).
    shares = plan.shares(replay_network(plan.schedules, chip))
    footprint = network_footprint(network, batch, chip.array.element_bytes)
    facts = plan.layers or (None,) * len(mappings)
    layers = tuple(
        LayerResult(
            mapping,
            timing,
            memory,
            recomputed(layer_energy(mapping, timing, memory, cycles, chip),
                       fact.recompute_macs if fact else 0, chip),
            chip.array.pe_count,
            cycles,
            layer_footprint,
            activations=fact,
        )
        for mapping, timing, memory, cycles, layer_footprint, fact in zip(
            mappings, plan.timings, plan.memories, shares, footprint.layers, facts, strict=True
        )
    )  # fmt: skip
    block = plan.summary(chip, network) if plan.layers is not None else None
    return NetworkResult(network.name, chip, batch, network.params, layers, footprint=footprint,
                         activations=block,
                         compulsory_network_bytes=plan.compulsory_network_bytes)  # fmt: skip


def simulate_cores(network: Network, chip: ChipConfig, batch: int = 1) -> NetworkResult:
    """A multi-core chip: each layer mapped and timed whole on the first core (the rows'
    mapping columns), then cut over the cores and played on the shared channel
    (`schedule_network`); each row's cycles, DRAM bytes and energy are its pieces'."""
    core = chip.core_chips()[0]
    run = schedule_network(network, chip, batch)
    footprint = network_footprint(network, batch, chip.array.element_bytes)
    pe_count = sum(each.array.pe_count for each in chip.core_chips())
    layers, ifmap_reads = [], {}
    for layer, plan, layer_footprint in zip(network.layers, run.layers, footprint.layers,
                                            strict=True):  # fmt: skip
        mapping = map_layer(layer, core, batch)
        timing = time_layer(mapping, core)
        whole = model_memory(mapping, timing, core)
        if mapping.array is not None:  # a window may skip input pixels (strided 1×1)
            ifmap_reads[layer.name] = whole.compulsory_ifmap_bytes
        memory = _cores_memory(whole, plan)
        if plan.pieces:
            timing = replace(timing, compute_cycles=plan.compute_cycles)
        energy = layer_energy(mapping, timing, memory, plan.cycles, chip)
        layers.append(LayerResult(mapping, timing, memory, energy, pe_count, plan.cycles,
                                  layer_footprint, cores=plan))  # fmt: skip
    return NetworkResult(network.name, chip, batch, network.params, tuple(layers),
                         footprint=footprint,
                         cores=cores_section(run, network, chip, batch, ifmap_reads),
                         core_run=run)  # fmt: skip


def _cores_memory(memory: MemoryTraffic, plan: LayerCores) -> MemoryTraffic:
    """The layer's DRAM bytes: the sum over its pieces (a cut reads a shared operand more)."""
    return replace(
        memory,
        dram_ifmap_bytes=plan.total("ifmap_bytes"),
        dram_weight_bytes=plan.total("weight_bytes"),
        dram_ofmap_write_bytes=plan.total("ofmap_write_bytes"),
        dram_ofmap_read_bytes=plan.total("ofmap_read_bytes"),
    )


def simulate_training(
    network: Network, chip: ChipConfig, batch: int = 1, optimizer: Optimizer = "sgd"
) -> NetworkResult:
    """One training step of `network` on `batch` images: forward, loss, backward and the
    optimizer update, each work item mapped, timed and costed by the inference stages, end to
    end on one timeline; the result's `training` block has the step's MACs, time and memory."""
    if chip.core_count > 1:
        raise InputError(f"a training step runs on one core: cores must be 1 for --training, "
                         f"not {chip.core_count}")  # fmt: skip
    step = training_step(network, batch, optimizer, chip.array.element_bytes,
                         chip.training.activations)  # fmt: skip
    mappings = [map_work(work, chip) for work in step.items]
    timings = [time_layer(mapping, chip) for mapping in mappings]
    memories = [
        model_memory(mapping, timing, chip)
        for mapping, timing in zip(mappings, timings, strict=True)
    ]
    shares = replay_network([memory.schedule for memory in memories], chip)
    layers = tuple(
        LayerResult(
            mapping, timing, memory, layer_energy(mapping, timing, memory, cycles, chip),
            chip.array.pe_count, cycles, pass_name=work.pass_name, label=work.label,
        )
        for work, mapping, timing, memory, cycles in zip(
            step.items, mappings, timings, memories, shares, strict=True
        )
    )  # fmt: skip
    section = training_section(layers, step.memory(chip.array.element_bytes), chip, optimizer)
    return NetworkResult(network.name, chip, batch, network.params, layers, training=section)


def simulate_analytic(network: Network, chip: ChipConfig, batch: int = 1) -> dict[str, Any]:
    """The summary's `ANALYTIC_METRICS` from mapping and timing alone, without the memory
    model: what a sweep that asks only for them computes per point. A multi-core chip's compute
    cycles come from its schedule: it is simulated whole."""
    mappings = [map_layer(layer, chip, batch) for layer in network.layers]
    layers = [
        (mapping.macs, time_layer(mapping, chip).compute_cycles,
         compulsory_bytes(mapping))
        for mapping in mappings
    ]  # fmt: skip
    footprint = network_footprint(network, batch, chip.array.element_bytes)
    analytic = analytic_summary(chip, network.params, footprint, layers)
    if chip.core_count > 1:
        summary = simulate_network(network, chip, batch).summary()
        return {key: summary[key] for key in analytic}
    return analytic


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

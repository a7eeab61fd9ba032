"""The functional engine: the int8 numbers a chip computes for every layer of a network.

`execute(qnet, inputs, chip)` is the one-call form. `prepare` turns a `QuantizedNetwork` into
what the datapath holds once per model (centred float32 weight matrices in the array's K order,
requantization scales or fixed-point multipliers, activation tables); `run` executes one batch
of quantized inputs layer by layer: conv and fc on the MAC array along the layer's `Schedule`
(see `accel.functional.accumulate`), followed by the requantization unit; everything else on
the vector unit (`accel.functional.vector`). Tensors are NCHW int8/uint8 arrays; `run` returns
every graph input and every layer output.

Each array layer runs the tiles the memory model chose for it, so the numbers come from the
tile sequence whose traffic and cycles are reported: the orchestrator hands the engine the
tilings of the simulation it already ran (`schedules_from`); run on its own, the engine finds
them with the same map_layer → time_layer → model_memory calls (`schedules_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.config import ChipConfig
from accel.errors import InputError
from accel.functional.accumulate import Accumulator, accumulate
from accel.functional.activation_tables import activation_table
from accel.functional.conv_layer import ArrayLayer, prepare_array_layer, run_array_layer
from accel.functional.float_layers import float_function, float_only
from accel.functional.float_path import on_float_path, raw_sources, run_float_layer
from accel.functional.float_windows import FloatLayer
from accel.functional.requant import QuantMode
from accel.functional.schedule import Schedule
from accel.functional.tensor_layers import ZERO_POINT_SENSITIVE, in_uint8_domain
from accel.functional.vector import run_vector_layer
from accel.mapping.conv_transpose import ConvTransposeMapping
from accel.mapping.mapper import map_layer
from accel.memory.model import model_memory
from accel.model.network import Layer, Network
from accel.model.ops import Activation
from accel.model.quantized import LayerAttributes, QuantizedNetwork, QuantizedWeights, QuantParams
from accel.perf.timing import time_layer
from accel.results import LayerResult

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]

__all__ = [
    "Accumulator",
    "FunctionalRun",
    "PreparedNetwork",
    "accumulate",
    "execute",
    "prepare",
    "run",
    "schedules_for",
    "schedules_from",
]


@dataclass(frozen=True, eq=False)
class PreparedNetwork:
    """A quantized network as the chip stores it, for one requantization mode."""

    qnet: QuantizedNetwork
    mode: QuantMode
    array_layers: Mapping[str, ArrayLayer]
    tables: Mapping[str, IntArray]


@dataclass(frozen=True, eq=False)
class FunctionalRun:
    """Every tensor of one inference: graph inputs (quantized) and layer outputs, NCHW."""

    outputs: Mapping[str, IntArray]
    overflowed: Mapping[str, int]  # array layers: outputs the narrow accumulator changed
    mode: QuantMode
    accumulator: Accumulator


def prepare(
    qnet: QuantizedNetwork, mode: QuantMode = "onnx",
    conv_transpose: ConvTransposeMapping = "sub_pixel",
) -> PreparedNetwork:
    """Weights, requantization constants and tables of every layer, computed once (transposed
    convs lowered as the chip's `array.conv_transpose` mapping says)."""
    array_layers, tables = {}, {}
    float_sources = raw_sources(qnet)
    for layer in qnet.network.layers:
        if on_float_path(qnet, layer, float_sources):
            continue  # computed as its float32 op (see `float_path`)
        if layer.uses_array:
            array_layers[layer.name] = prepare_array_layer(layer, qnet, mode, conv_transpose)
        elif isinstance(layer.op, Activation):
            x, y = qnet.activations[layer.inputs[0]], qnet.activations[layer.name]
            tables[layer.name] = activation_table(layer, x, y, mode)
    return PreparedNetwork(qnet, mode, array_layers, tables)


def run(
    prepared: PreparedNetwork,
    inputs: Mapping[str, IntArray],
    schedules: Mapping[str, Schedule],
    accumulator: Accumulator | None = None,
    on_layer: Callable[[str], None] | None = None,
) -> FunctionalRun:
    """Execute every layer on quantized `inputs` (one NCHW array per graph input).

    `schedules` gives each array layer's fold order; a layer without one runs as a single pass.
    The accumulator defaults to 32-bit wrap-around. `on_layer` is told each layer's name when
    it is done.
    """
    accumulator = accumulator or Accumulator()
    qnet = prepared.qnet
    tensors: dict[str, IntArray] = dict(_checked_inputs(qnet, inputs))
    reals: dict[str, F32] = {}  # raw float32 results of layers on the float path
    float_sources = raw_sources(qnet) if prepared.mode == "onnx" else set()
    overflowed: dict[str, int] = {}
    for layer in qnet.network.layers:
        sources = [tensors[name] for name in layer.inputs]
        attributes = qnet.attributes.get(layer.name, {})
        function = _float_function(layer, attributes, prepared.mode, qnet.weights.get(layer.name))
        if on_float_path(qnet, layer, float_sources):
            if prepared.mode != "onnx":
                raise InputError(f"layer {layer.name!r}: a float32 tensor has no {prepared.mode} "
                                 "model; every tensor must be quantized")
            tensors[layer.name], reals[layer.name] = run_float_layer(qnet, layer, tensors, reals)
            if on_layer is not None:
                on_layer(layer.name)
            continue
        params = [qnet.activations[name] for name in layer.inputs]
        if function is not None:
            out = function(sources, params, qnet.activations[layer.name])
        elif layer.name in prepared.array_layers:
            prepared_layer, schedule = prepared.array_layers[layer.name], schedules.get(layer.name)
            out, overflowed[layer.name] = run_array_layer(
                prepared_layer, sources[0], params[0], schedule, accumulator
            )
        else:
            out = _vector(prepared, layer, sources, params, attributes)
        tensors[layer.name] = out
        if on_layer is not None:
            on_layer(layer.name)
    return FunctionalRun(tensors, overflowed, prepared.mode, accumulator)


def _vector(
    prepared: PreparedNetwork,
    layer: Layer,
    sources: Sequence[IntArray],
    params: Sequence[QuantParams],
    attributes: LayerAttributes,
) -> IntArray:
    """A vector-unit layer; in onnxruntime's uint8 domain where the file's ORT graph says so."""
    table = prepared.tables.get(layer.name)

    def kernel(x: Sequence[IntArray], p: Sequence[QuantParams], y: QuantParams,
               extra: LayerAttributes) -> IntArray:
        return run_vector_layer(layer, x, p, y, prepared.mode, table, extra)

    output = prepared.qnet.activations[layer.name]
    if attributes.get("onnxruntime_uint8") and layer.kind in ZERO_POINT_SENSITIVE:
        return in_uint8_domain(kernel, sources, params, output, attributes)
    return kernel(sources, params, output, attributes)


def _float_function(
    layer: Layer, attributes: LayerAttributes, mode: QuantMode,
    weights: QuantizedWeights | None,
) -> FloatLayer | None:
    # onnxruntime left this layer in float32 (an unfused QDQ group), or it has no integer
    # kernel at all (a BatchNormalization, an LRN): reproduce that if we can.
    float_op = "onnxruntime_float_op" in attributes
    if mode != "onnx" or (not float_op and not float_only(layer, attributes)):
        return None
    return float_function(layer, attributes, weights)


def schedules_from(layers: Iterable[LayerResult]) -> dict[str, Schedule]:
    """The tile schedule of every array layer of a simulation already run: the tilings its
    memory model chose, handed to the engine instead of computed again."""
    return {
        layer.name: Schedule.from_tiling(layer.mapping.array, layer.memory.tiling)
        for layer in layers
        if layer.mapping.array is not None and layer.memory.tiling is not None
    }


def schedules_for(network: Network, chip: ChipConfig, batch: int) -> dict[str, Schedule]:
    """The tile schedule of every layer the mapper puts on the MAC array of `chip`: the tiling
    model_memory chose for the report, as `Schedule.from_tiling`."""
    schedules = {}
    for layer in network.layers:
        mapping = map_layer(layer, chip, batch)
        if mapping.array is not None and mapping.row_stationary is None:
            memory = model_memory(mapping, time_layer(mapping, chip), chip)
            assert memory.tiling is not None  # every GEMM-placed array layer is tiled
            schedules[layer.name] = Schedule.from_tiling(mapping.array, memory.tiling)
    return schedules


def execute(
    qnet: QuantizedNetwork,
    inputs: Mapping[str, IntArray],
    chip: ChipConfig | None = None,
    schedules: Mapping[str, Schedule] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> FunctionalRun:
    """Run `qnet` on `chip` (default: the embedded chip) with its requantization mode and
    accumulator, each array layer along `schedules` (default: `schedules_for` the batch of
    `inputs`, the tiles the report shows). `on_step` is told of each step done (the weights
    laid out, then each layer): `execution_steps` of them."""
    chip = chip or ChipConfig()
    batch = int(np.asarray(next(iter(inputs.values()))).shape[0]) if inputs else 1
    accumulator = Accumulator(chip.array.accumulator_bits, chip.array.accumulator_overflow)
    prepared = prepare(qnet, chip.array.requantization, chip.array.conv_transpose)
    if schedules is None:
        schedules = schedules_for(qnet.network, chip, batch)
    if on_step is not None:
        on_step("weights laid out")
    return run(prepared, inputs, schedules, accumulator, on_step)


def execution_steps(network: Network) -> int:
    """How many steps `execute` reports."""
    return len(network.layers) + 1


def _checked_inputs(qnet: QuantizedNetwork, inputs: Mapping[str, IntArray]) -> dict[str, IntArray]:
    checked = {}
    for name, shape in qnet.network.inputs:
        if name not in inputs:
            raise InputError(f"input {name!r} must be given, not only {sorted(inputs)!r}")
        x = np.asarray(inputs[name])
        dtype = np.dtype(qnet.activations[name].dtype)
        if x.ndim != 4 or x.shape[1:] != (shape.channels, shape.height, shape.width):
            raise InputError(
                f"input {name!r} must have shape (N, {shape.channels}, {shape.height}, "
                f"{shape.width}), not {x.shape!r}"
            )
        if x.dtype != dtype:
            raise InputError(f"input {name!r} must be {dtype.name}, not {x.dtype.name}")
        checked[name] = x
    return checked

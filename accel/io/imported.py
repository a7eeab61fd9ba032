"""What a model-file importer produces, and the fusions a compiler for the chip would apply.

Importers (ONNX, TFLite) translate one operator at a time into `ImportedParts`: layers in
topological order with their shapes, plus whatever numbers the file carries (float weights,
per-channel affines, int8 weights and activation scales). `finish` then applies the fusions an
accelerator's compiler makes, so that the simulated layers are the ones the hardware runs:

- a BatchNorm (or a Mul/Add by a per-channel constant) directly after a conv/fc whose output
  nothing else reads folds into that layer's weights and bias (into a conv's with the
  float32 roundings of onnxruntime's own Conv + BatchNormalization fusion);
- a ReLU / ReLU6 after a conv, fc or add folds into its output stage (the requantizer clamps);
- a zero spatial Pad that only a conv (or an average pool without padding of its own, or a max
  pool padding with -inf) reads becomes that layer's padding.
A fusion is skipped when the two layers' outputs carry different quantization, because the
int8 datapath could then not reproduce the model's arithmetic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.model.conv_transpose import ConvTranspose
from accel.model.network import LayerEntry, Network
from accel.model.ops import Activation, Add, BatchNorm, Clip, Conv, FullyConnected, Pad, Shape
from accel.model.pool_ops import AvgPool, MaxPool
from accel.model.quantized import (
    BatchNormConstants,
    FloatWeights,
    FoldedWeights,
    LayerAttributes,
    QuantizedNetwork,
    QuantizedWeights,
    QuantParams,
)

AffineOrigin = Literal["batchnorm", "bias", "scale", "affine"]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Affine:
    """The numbers of a `batchnorm` layer: y = scale·x + shift (None where the file has none)."""

    scale: FloatArray | None
    shift: FloatArray | None
    origin: AffineOrigin  # what it was in the file; decides the flag it sets when folded


@dataclass
class ImportedParts:
    """An importer's working state: layers, shapes and the numbers found so far."""

    name: str
    inputs: dict[str, Shape]
    entries: dict[str, LayerEntry] = field(default_factory=dict)
    shapes: dict[str, Shape] = field(default_factory=dict)
    float_weights: dict[str, FloatWeights] = field(default_factory=dict)
    affines: dict[str, Affine] = field(default_factory=dict)
    quant: dict[str, QuantParams] = field(default_factory=dict)
    qweights: dict[str, QuantizedWeights] = field(default_factory=dict)
    attributes: dict[str, LayerAttributes] = field(default_factory=dict)
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    tensor_names: dict[str, str] = field(default_factory=dict)
    named_codes: set[str] = field(default_factory=set)
    inherited_quant: set[str] = field(default_factory=set)  # float moves: input's quant copied
    dynamic_quantization: bool = False
    functional_gaps: list[str] = field(default_factory=list)  # what the int8 engine cannot run


@dataclass(frozen=True)
class ImportedModel:
    """A model file as accel sees it: the network, and the numbers the file carried.

    `float_weights` has an entry per conv/fc layer whose weights were in the file (BatchNorm
    folded); `quantized` is set for quantized models; `unsupported` lists (layer, operator)
    placeholders that `--allow-unsupported` let through at zero cost. `tensor_names` maps each
    graph input and layer to the file's tensor that holds its int8/uint8 codes (ONNX: the
    QLinear node's output or the QuantizeLinear that quantizes it; TFLite: the index of the
    int8/uint8 tensor, as a decimal string),
    so a reference runtime's tensors can be compared with accel's. `dynamic_quantization` is
    set for models whose activation scales are computed at run time (DynamicQuantizeLinear);
    `functional_gaps` names nodes whose arithmetic the int8 engine does not reproduce (they
    simulate, but --check/--inputs/--dump refuse the model).
    """

    network: Network
    float_weights: dict[str, FloatWeights]
    quantized: QuantizedNetwork | None
    unsupported: tuple[tuple[str, str], ...]
    source: str = ""
    tensor_names: dict[str, str] = field(default_factory=dict)
    dynamic_quantization: bool = False
    functional_gaps: tuple[str, ...] = ()


def finish(parts: ImportedParts, source: str) -> ImportedModel:
    """Fuse, build the network (checking every shape again) and attach the numbers."""
    _fuse(parts)
    try:
        network = Network.build(parts.name, parts.inputs, list(parts.entries.values()))
    except InputError as err:
        raise InputError(f"{source}: {err}") from None
    if not network.layers:
        raise InputError(f"{source}: the model must have at least one layer accel can simulate "
                         "(its operators read no graph input, or it has none)")  # fmt: skip
    names = {layer.name for layer in network.layers} | set(parts.inputs)
    quantized = None
    if parts.quant or parts.qweights:
        quantized = QuantizedNetwork(
            network,
            {name: q for name, q in parts.quant.items() if name in names},
            {name: w for name, w in parts.qweights.items() if name in names},
            {name: a for name, a in parts.attributes.items() if name in names},
        )
    weights = {name: w for name, w in parts.float_weights.items() if name in names}
    tensor_names = {name: t for name, t in parts.tensor_names.items() if name in names}
    return ImportedModel(network, weights, quantized, tuple(parts.unsupported), source,
                         tensor_names, parts.dynamic_quantization, tuple(parts.functional_gaps))


def _fuse(parts: ImportedParts) -> None:
    readers = Counter(source for entry in parts.entries.values() for source in entry.inputs)
    for name in list(parts.entries):
        entry = parts.entries[name]
        if len(entry.inputs) != 1 or entry.inputs[0] not in parts.entries:
            continue
        producer = parts.entries[entry.inputs[0]]
        if readers[producer.name] != 1:
            continue
        if _fold_pad(parts, producer, entry):
            parts.quant.pop(producer.name, None)
            parts.tensor_names.pop(producer.name, None)
            del parts.entries[producer.name]
        elif _same_quant(parts, producer.name, name) and _fold_into_producer(
            parts, producer, entry
        ):
            for other in list(parts.entries.values()):
                if name in other.inputs:
                    parts.entries[other.name] = _rename_input(other, name, producer.name)
            readers[producer.name] = readers[name]
            if name in parts.quant:
                parts.quant[producer.name] = parts.quant.pop(name)
            if name in parts.tensor_names:  # the fused layer's codes are the consumer's
                parts.tensor_names[producer.name] = parts.tensor_names.pop(name)
            del parts.entries[name]


def _same_quant(parts: ImportedParts, first: str, second: str) -> bool:
    a, b = parts.quant.get(first), parts.quant.get(second)
    return a is None or b is None or a == b


def _rename_input(entry: LayerEntry, old: str, new: str) -> LayerEntry:
    inputs = tuple(new if source == old else source for source in entry.inputs)
    return LayerEntry(entry.name, entry.op, inputs)


def _fold_into_producer(parts: ImportedParts, producer: LayerEntry, entry: LayerEntry) -> bool:
    """Fold a BatchNorm/affine or a ReLU/ReLU6 into the conv/fc/add that feeds it."""
    op, target = entry.op, producer.op
    if isinstance(op, BatchNorm) and isinstance(target, Conv | FullyConnected):
        affine = parts.affines.get(entry.name)
        if target.activation is not None or affine is None or producer.name in parts.qweights:
            return False
        flag = {"batchnorm": {"batchnorm": True}, "bias": {"bias": True}}.get(affine.origin, {})
        parts.entries[producer.name] = _with_op(producer, target.model_copy(update=flag))
        constants = parts.attributes.get(entry.name, {}).get("batchnorm")
        weights = parts.float_weights.get(producer.name)
        if isinstance(target, Conv) and isinstance(constants, BatchNormConstants) and weights:
            # The fold onnxruntime itself makes (ConvBNFusion), rounded as it rounds it, when
            # the weights are first read.
            parts.float_weights[producer.name] = FoldedWeights(constants, weights)
        else:
            _fold_affine_weights(parts, producer.name, affine)
        return True
    function = _fusable_activation(op)
    if function and isinstance(target, Conv | FullyConnected | Add | ConvTranspose) and (
            target.activation is None):  # fmt: skip
        update = {"activation": function}
        parts.entries[producer.name] = _with_op(producer, target.model_copy(update=update))
        return True
    return False


def _fusable_activation(op: object) -> Literal["relu", "relu6"] | None:
    if isinstance(op, Activation) and op.function in ("relu", "relu6"):
        return op.function
    if isinstance(op, Clip) and op.minimum == 0 and op.maximum is None:
        return "relu"
    return None


def _with_op(entry: LayerEntry, op: object) -> LayerEntry:
    return LayerEntry(entry.name, op, entry.inputs)  # type: ignore[arg-type]


def _fold_affine_weights(parts: ImportedParts, name: str, affine: Affine) -> None:
    weights = parts.float_weights.get(name)
    if weights is None:
        return
    if (affine.scale is None and affine.origin != "bias") or (
        affine.shift is None and affine.origin != "scale"
    ):
        del parts.float_weights[name]  # the file did not carry the affine's numbers
        return
    channels = weights.weight.shape[0]
    scale = np.broadcast_to(
        np.ones(1, np.float32) if affine.scale is None else affine.scale.reshape(-1), (channels,)
    )
    shift = np.broadcast_to(
        np.zeros(1, np.float32) if affine.shift is None else affine.shift.reshape(-1), (channels,)
    )
    reshaped = scale.reshape((channels,) + (1,) * (weights.weight.ndim - 1))
    parts.float_weights[name] = FloatWeights(
        (weights.weight * reshaped).astype(np.float32),
        (weights.bias * scale + shift).astype(np.float32),
    )


def _fold_pad(parts: ImportedParts, pad_entry: LayerEntry, entry: LayerEntry) -> bool:
    """Make a zero spatial Pad the padding of the conv/pool that alone reads it."""
    pad, op = pad_entry.op, entry.op
    if not isinstance(pad, Pad) or pad.mode != "constant" or pad.channel_padding != (0, 0):
        return False
    if not isinstance(op, Conv | AvgPool | MaxPool) or op.ceil_mode:
        return False
    shape = parts.shapes[pad_entry.name]
    own = op.pads(shape.height, shape.width)
    update: dict[str, object] = {}
    if isinstance(op, Conv):
        if pad.value != 0:
            return False
    elif isinstance(op, AvgPool):
        if pad.value != 0 or (any(own) and not op.count_include_pad):
            return False
        update["count_include_pad"] = True
    elif not pad.value <= -3.0e38:
        return False
    top, bottom, left, right = pad.padding
    update["padding"] = (own[0] + top, own[1] + bottom, own[2] + left, own[3] + right)
    parts.entries[entry.name] = LayerEntry(entry.name, op.model_copy(update=update),
                                           pad_entry.inputs)
    return True

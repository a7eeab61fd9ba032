"""The numbers of one training step, computed as the float array and vector unit would.

Mixed precision, as the memory model counts it (`accel.model.training`): the master weights,
the biases, their gradients' bias part and the optimizer state are fp32; every tensor that
streams through the array or is stored between work items — the weights as the array reads
them, each layer's output, each gradient — is in the chip's `array.precision` (fp32, bf16 or
fp16), rounded to nearest-even from the fp32 result that produced it (`round_to`). So:

- forward: a conv / fc layer sums on the array along its tile schedule (`float_gemm`), with the
  bias in the accumulator, applies its fused activation in fp32 and stores the rounded result;
  vector layers compute in fp32 on their stored inputs and store the rounded result;
- loss: softmax cross-entropy on the stored logits (`training_vector`), its gradient rounded
  (a final softmax layer is folded into it: its output is the loss's probabilities);
- backward, in reverse layer order: a tensor's gradient is the fp32 sum of what its readers
  send it, in the order the backward pass reaches them, rounded; each reader's share
  (`input_gradients`) is itself stored rounded; a conv / fc's dX and dW run on the array along
  the schedules of their own work items (`NAME.dX`, `NAME.dW`); dW is stored rounded, the bias
  gradient (a vector-unit sum) in fp32; graph inputs get no gradient (no dX for the first conv);
- update, per parameter in fp32 (`optimizer`): SGD with momentum or Adam.

This is what `jax.vjp` computes for the same function written with a cast to the operand
format at every stored tensor (a cast's transpose casts the cotangent the same way), and
`tests/jax_reference.py` checks it so, layer by layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.config import ChipConfig
from accel.errors import InputError
from accel.functional import training_vector as vector
from accel.functional.float_round import round_to
from accel.functional.optimizer import Hyperparameters, OptimizerState, update
from accel.functional.schedule import Schedule
from accel.functional.training_conv import (
    ConvGeometry,
    as_conv_input,
    bias_gradient,
    conv_data_gradient,
    conv_forward,
    conv_weight_gradient,
)
from accel.functional.weights import random_weights
from accel.mapping.training import map_work
from accel.memory.model import model_memory
from accel.model.network import Layer, Network
from accel.model.ops import Activation, Add, Conv, Flatten, FullyConnected, Softmax
from accel.model.pool_ops import GlobalAvgPool
from accel.model.quantized import FloatWeights
from accel.model.training import Optimizer, training_step
from accel.perf.timing import time_layer

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
TRAINABLE_KINDS = ("conv", "fc", "maxpool", "avgpool", "global_avgpool", "add", "flatten",
                   "activation")  # fmt: skip


@dataclass(frozen=True, eq=False)
class TrainingNumbers:
    """Every value one training step produces (float32 arrays; NCHW, fc outputs (B, F, 1, 1))."""

    precision: str
    activations: dict[str, F32]  # each stored forward tensor, graph inputs included
    loss: float
    gradients: dict[str, F32]  # the gradient of each stored tensor that has one
    input_gradients: dict[tuple[str, int], F32]  # a layer's share of its input's gradient
    weight_gradients: dict[str, F32]  # dW, in the operand format
    bias_gradients: dict[str, F32]  # fp32
    parameters: dict[str, FloatWeights]  # the master weights and biases after the update
    state: OptimizerState


def training_schedules(network: Network, chip: ChipConfig, batch: int,
                       optimizer: Optimizer = "sgd") -> dict[str, Schedule]:  # fmt: skip
    """The tile schedule of every GEMM of the step (forward, `.dX`, `.dW`): the tiling the
    memory model picks for it, or one pass when it runs on the vector unit."""
    step = training_step(network, batch, optimizer, chip.array.element_bytes,
                         chip.training.activations)  # fmt: skip
    schedules = {}
    for work in step.items:
        gemm = work.layer.gemm
        if work.vector_ops is not None or gemm is None or work.name.endswith(".recompute"):
            continue
        mapping = map_work(work, chip)
        if mapping.array is None:
            schedules[work.name] = Schedule.whole(gemm.m * work.batch, gemm.k, gemm.n)
            continue
        memory = model_memory(mapping, time_layer(mapping, chip), chip)
        assert memory.tiling is not None  # every array layer is tiled
        schedules[work.name] = Schedule.from_tiling(mapping.array, memory.tiling)
    return schedules


def final_softmax(network: Network) -> Layer | None:
    """The network's last layer if it is a softmax: folded into the loss, as the step's model
    folds it (its output is the loss's probabilities; it has no backward of its own)."""
    last = network.layer(network.outputs[0])
    return last if isinstance(last.op, Softmax) else None


def check_trainable(network: Network, precision: str) -> None:
    """Raise InputError unless the step's numbers can be computed for `network`."""
    if precision == "int8":
        raise InputError("array.precision must be fp32, bf16 or fp16 for a training step's "
                         "numbers, not 'int8'")  # fmt: skip
    softmax = final_softmax(network)
    for layer in network.layers:
        op = layer.op
        reason = ""
        if layer is softmax and isinstance(op, Softmax):
            if op.beta != 1.0 or layer.output_shape.height * layer.output_shape.width != 1:
                reason = "a final softmax other than over a classifier's channels with beta 1"
        elif layer.kind not in TRAINABLE_KINDS:
            reason = f"kind {layer.kind!r}"
        elif isinstance(op, Conv | FullyConnected) and op.batchnorm:
            reason = "a BatchNorm in training form"
        elif isinstance(op, Activation) and op.function not in vector.SUPPORTED_ACTIVATIONS:
            reason = f"activation {op.function!r}"
        if reason:
            raise InputError(
                f"layer {layer.name!r}: a training step's numbers must come from conv, fc, "
                f"pooling, add, flatten, {'/'.join(vector.SUPPORTED_ACTIVATIONS)} layers "
                f"and a final softmax, not {reason}"
            )


@dataclass
class _Forward:
    """What the forward pass leaves for the backward one."""

    tensors: dict[str, F32]
    backward: dict[str, vector.Backward]  # a layer's fused or own activation / pool backward
    operands: dict[str, F32]  # a conv / fc's weights as the array read them (4-D)
    weight_shapes: dict[str, tuple[int, ...]]  # ... and as the parameters hold them


def _conv_layer(layer: Layer, x: F32, weights: FloatWeights, precision: str,
                schedule: Schedule, run: _Forward) -> F32:  # fmt: skip
    op = layer.op
    assert isinstance(op, Conv | FullyConnected)
    shape = (weights.weight.shape[0], -1, *ConvGeometry.of(layer).kernel)
    weight = round_to(weights.weight.reshape(shape), precision)
    run.operands[layer.name] = weight
    run.weight_shapes[layer.name] = weights.weight.shape
    bias = weights.bias.astype(np.float32) if op.bias else None
    acc = conv_forward(as_conv_input(layer, x), weight, bias, ConvGeometry.of(layer), schedule)
    if op.activation is None:
        return acc
    y, run.backward[layer.name] = vector.activation(op.activation, 0.0, acc)
    return y


def _forward_layer(layer: Layer, xs: list[F32], weights: Mapping[str, FloatWeights],
                   precision: str, schedules: Mapping[str, Schedule], run: _Forward) -> F32:
    op = layer.op  # fmt: skip
    if isinstance(op, Conv | FullyConnected):
        return _conv_layer(layer, xs[0], weights[layer.name], precision, schedules[layer.name],
                           run)  # fmt: skip
    if isinstance(op, Add):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        if op.activation is None:
            return total
        y, run.backward[layer.name] = vector.activation(op.activation, 0.0, total)
        return y
    if isinstance(op, Flatten):
        return xs[0].reshape(xs[0].shape[0], -1, 1, 1)
    if isinstance(op, GlobalAvgPool):
        y, run.backward[layer.name] = vector.global_avg_pool(xs[0])
        return y
    function = {"maxpool": vector.max_pool, "avgpool": vector.avg_pool,
                "activation": vector.activation_layer}[layer.kind]  # fmt: skip
    y, run.backward[layer.name] = function(layer, xs[0])
    return y


def _backward_layer(layer: Layer, dy: F32, run: _Forward, schedules: Mapping[str, Schedule],
                    inputs_needed: list[bool]) -> tuple[list[F32 | None], F32 | None, F32 | None]:
    """(each input's gradient share or None, dW, db) of one layer, all unrounded fp32."""
    op = layer.op  # fmt: skip
    da = run.backward[layer.name](dy) if layer.name in run.backward else dy
    if isinstance(op, Conv | FullyConnected):
        x = as_conv_input(layer, run.tensors[layer.inputs[0]])
        weight = run.operands[layer.name]
        geometry = ConvGeometry.of(layer)
        da4 = as_conv_input(layer, da)
        dw = conv_weight_gradient(x, da4, weight.shape, geometry, schedules[f"{layer.name}.dW"])
        dw = dw.reshape(run.weight_shapes[layer.name])
        dx = None
        if inputs_needed[0]:
            dx = conv_data_gradient(da4, weight, geometry, x.shape[1],
                                    schedules[f"{layer.name}.dX"])  # fmt: skip
            dx = dx.reshape(run.tensors[layer.inputs[0]].shape)
        return [dx], dw, bias_gradient(da4) if op.bias else None
    if isinstance(op, Flatten):
        return [da.reshape(run.tensors[layer.inputs[0]].shape)], None, None
    if isinstance(op, Add):
        return [da for _ in layer.inputs], None, None
    return [da], None, None


def training_numbers(
    network: Network,
    chip: ChipConfig,
    images: npt.ArrayLike,
    targets: npt.ArrayLike,
    parameters: Mapping[str, FloatWeights] | None = None,
    optimizer: Optimizer = "sgd",
    state: OptimizerState | None = None,
    hyperparameters: Hyperparameters | None = None,
    output_gradient: npt.ArrayLike | None = None,
) -> TrainingNumbers:
    """One training step of `network` on `images` (B, C, H, W) with class `targets` (B,), on
    `chip` (a float `array.precision`). `parameters` default to `random_weights(network)`;
    `output_gradient` (the logits' shape) replaces the loss's gradient when given."""
    precision = chip.array.precision
    check_trainable(network, precision)
    x = round_to(np.asarray(images, dtype=np.float32), precision)
    params = dict(parameters) if parameters is not None else random_weights(network)
    schedules = training_schedules(network, chip, x.shape[0], optimizer)
    run = _Forward({name: x for name, _ in network.inputs}, {}, {}, {})
    softmax = final_softmax(network)
    for layer in network.layers:
        if layer is not softmax:
            xs = [run.tensors[name] for name in layer.inputs]
            y = _forward_layer(layer, xs, params, precision, schedules, run)
            run.tensors[layer.name] = round_to(y, precision)
    logits_name = network.outputs[0] if softmax is None else softmax.inputs[0]
    logits = run.tensors[logits_name]
    loss, seed, probabilities = vector.softmax_cross_entropy(
        logits.reshape(x.shape[0], -1), np.asarray(targets, dtype=np.int64))
    if softmax is not None:
        run.tensors[softmax.name] = round_to(probabilities.reshape(logits.shape), precision)
    if output_gradient is not None:
        seed = np.asarray(output_gradient, dtype=np.float32)
    seed = round_to(seed, precision).reshape(logits.shape)
    numbers = _backward(network, run, {logits_name: [seed]}, schedules, precision)
    new_params, new_state = update(params, numbers[2], numbers[3], optimizer,
                                   state or OptimizerState.zeros(params, optimizer),
                                   hyperparameters or Hyperparameters())  # fmt: skip
    return TrainingNumbers(precision, run.tensors, loss, numbers[0], numbers[1], numbers[2],
                           numbers[3], new_params, new_state)  # fmt: skip


def _backward(network: Network, run: _Forward, shares: dict[str, list[F32]],
              schedules: Mapping[str, Schedule],
              precision: str) -> tuple[dict[str, F32], dict[tuple[str, int], F32],
                                       dict[str, F32], dict[str, F32]]:  # fmt: skip
    """Gradients from the loss's `shares` ({logits: [its gradient]}) back to the inputs."""
    graph_inputs = {name for name, _ in network.inputs}
    gradients: dict[str, F32] = {}
    input_gradients: dict[tuple[str, int], F32] = {}
    weight_gradients: dict[str, F32] = {}
    bias_gradients: dict[str, F32] = {}
    for layer in reversed(network.layers):
        if layer.name not in shares:
            continue  # no path to the loss
        total = shares[layer.name][0]
        for share in shares[layer.name][1:]:
            total = total + share
        dy = gradients[layer.name] = round_to(total, precision)
        needed = [name not in graph_inputs for name in layer.inputs]
        if layer.uses_array:  # the step has a dX item only where a gradient is wanted
            needed = [f"{layer.name}.dX" in schedules]
        dxs, dw, db = _backward_layer(layer, dy, run, schedules, needed)
        for index, (name, dx) in enumerate(zip(layer.inputs, dxs, strict=True)):
            if dx is not None and needed[index]:
                share = input_gradients[(layer.name, index)] = round_to(dx, precision)
                shares.setdefault(name, []).append(share)
        if dw is not None:
            weight_gradients[layer.name] = round_to(dw, precision)
        if db is not None:
            bias_gradients[layer.name] = db
    return gradients, input_gradients, weight_gradients, bias_gradients

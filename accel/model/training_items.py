"""The work items of a training step, pass by pass: forward, loss, backward and optimizer update.

Training adds passes, not a second simulator. Every item is a `Layer` the inference stages map,
time and cost: the forward layers themselves; for each conv / fc its data-gradient (dX) and
weight-gradient (dW) GEMMs (`accel.model.backward`); and vector-unit items, whose layer is a
*carrier* with the shapes of the tensors the item streams (in elements of the chip's operand
width) and whose operation count is given here:

- softmax cross-entropy: forward (softmax unless the network ends in one, then the log of the
  target's probability) and backward (`p − onehot`, one op per logit; a final softmax layer is
  folded into it and has no backward of its own);
- backward of the vector layers (ops per gradient element): pooling as many as its forward
  (max: route each tap through the stored argmax; mean: spread dY/taps), global pooling one per
  input, ReLU-like activations and clip 1 (a mask select), sigmoid 2, hswish 3, a standalone
  batchnorm 6 (its input is kept), mul 2 (and its two inputs kept), lrn twice its forward,
  transpose and pad 1 (a copy back); add, concat, flatten, reshapes, slices and shuffles pass
  the gradient on for free; a tensor read by several layers sums their gradients (one add per
  element per extra reader);
- a conv / fc's fused activation backward (1 op per element) and, because batch statistics
  cannot be folded, its BatchNorm in training form: forward 4 ops per element (mean, variance,
  normalize, scale and shift; the pre-BN output is kept) and backward 6;
- `col2im` after a dX computed as columns (one add per column element);
- the optimizer update of every layer with parameters: SGD with momentum (one fp32 velocity per
  parameter, 4 ops) or Adam (two fp32 moments, 12 ops), plus, when operands are narrower than
  fp32, an fp32 master copy of the weights (1 op more, mixed precision).

`accel.model.training` orders them into a step and follows the step's memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from accel.model.backward import data_gradient, needs_col2im, weight_gradient
from accel.model.network import Layer, Network
from accel.model.ops import (
    Activation,
    Add,
    BatchNorm,
    Clip,
    Concat,
    Conv,
    Flatten,
    FullyConnected,
    LocalResponseNorm,
    Mul,
    Pad,
    Shape,
    Softmax,
    Transpose,
)
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool

Pass = Literal["forward", "backward_data", "backward_weight", "update"]
PASSES: tuple[Pass, ...] = ("forward", "backward_data", "backward_weight", "update")
Optimizer = Literal["sgd", "adam"]
OPTIMIZER_STATE: dict[Optimizer, int] = {"sgd": 1, "adam": 2}  # fp32 values per parameter
UPDATE_OPS: dict[Optimizer, int] = {"sgd": 4, "adam": 12}  # per parameter
STATE_BYTES = 4  # optimizer state and master weights are fp32
ACTIVATION_BACKWARD_OPS = {"relu": 1, "relu6": 1, "leaky_relu": 1, "hsigmoid": 1, "sigmoid": 2,
                           "hswish": 3}  # fmt: skip
BATCHNORM_FORWARD_OPS, BATCHNORM_BACKWARD_OPS = 4, 6
_ALIASING = (Concat, Flatten)  # outputs that are their inputs' memory (as in inference)


@dataclass(frozen=True)
class Work:
    """One item of a training step. `vector_ops` None: map `layer` as the inference stages do
    (a forward layer, or a backward GEMM); otherwise `layer` is a vector-unit carrier doing
    `vector_ops` operations in all, producing `vector_outputs` results."""

    name: str
    pass_name: Pass
    label: str  # the layers.csv kind
    layer: Layer
    batch: int  # images the mapping counts (1 for dW and updates)
    source: Layer  # the forward layer it belongs to (a depthwise conv's unit applies to all)
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    vector_ops: int | None = None
    vector_outputs: int = 0


def has_parameters(layer: Layer) -> bool:
    return layer.params > 0


def _flat(elements: int) -> Shape:
    return Shape(max(elements, 1), 1, 1)


@dataclass
class Builder:
    network: Network
    batch: int
    element_bytes: int
    items: list[Work] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    same: list[tuple[str, str]] = field(default_factory=list)  # tensors sharing memory

    def __post_init__(self) -> None:
        self.sizes.update({name: shape.elements for name, shape in self.network.inputs})
        consumers: dict[str, list[str]] = {}
        for layer in self.network.layers:
            for source in layer.inputs:
                consumers.setdefault(source, []).append(layer.name)
        self.consumers = consumers
        self.needs_gradient = self._needs_gradient()
        self.final_softmax = self._final_softmax()
        self.needs_gradient_from = self._gradient_readers()

    def _needs_gradient(self) -> set[str]:
        """Tensors whose gradient the step computes: those some parameter influences."""
        needed: set[str] = set()
        for layer in self.network.layers:
            if has_parameters(layer) or any(source in needed for source in layer.inputs):
                needed.add(layer.name)
        return needed

    def _final_softmax(self) -> Layer | None:
        last = self.network.layer(self.network.outputs[0])
        return last if isinstance(last.op, Softmax) else None

    def add(self, work: Work, sizes: Iterable[tuple[str, int]] = ()) -> None:
        self.items.append(work)
        self.sizes.update(sizes)

    def vector(
        self, name: str, pass_name: Pass, label: str, source: Layer, reads: tuple[str, ...],
        writes: tuple[str, ...], ops_per_image: int,
    ) -> None:  # fmt: skip
        """A vector-unit item streaming its read tensors in and its written tensors out."""
        images = self.batch
        read = tuple(_flat(self.sizes[t]) for t in reads)
        written = sum(self.sizes[t] for t in writes)
        carrier = Layer(name, Add(), tuple(reads), read, _flat(written))
        self.items.append(Work(name, pass_name, label, carrier, images, source, reads, writes,
                               ops_per_image * images, written * images))  # fmt: skip

    # The forward pass: the inference layers, with BatchNorm in training form.
    def forward(self, layer: Layer) -> None:
        op = layer.op
        folded_bn = isinstance(op, Conv | FullyConnected) and op.batchnorm
        out = layer.output_shape.elements
        written = f"{layer.name}.pre_bn" if folded_bn else layer.name
        extra = (f"{layer.name}.argmax",) if isinstance(op, MaxPool) else ()
        self.sizes.update({written: out, layer.name: out, **{e: out for e in extra}})
        if isinstance(op, _ALIASING):
            self.same.extend((source, layer.name) for source in layer.inputs)
        self.add(Work(layer.name, "forward", layer.label, layer, self.batch, layer,
                      layer.inputs, (written, *extra)))  # fmt: skip
        if folded_bn:
            self.vector(f"{layer.name}.batchnorm", "forward", "batchnorm", layer, (written,),
                        (layer.name,), BATCHNORM_FORWARD_OPS * out)  # fmt: skip

    def loss(self) -> None:
        """Softmax cross-entropy on the network's output."""
        output = self.network.layer(self.network.outputs[0])
        logits = output.output_shape.elements
        self.sizes["loss.probabilities"] = logits
        source = output if self.final_softmax is None else self.final_softmax
        softmax_ops = 0 if self.final_softmax is not None else Softmax().vector_ops(
            (output.output_shape,), output.output_shape)  # fmt: skip
        self.vector("loss", "forward", "softmax_cross_entropy", source, (output.name,),
                    ("loss.probabilities",), softmax_ops + 1)  # fmt: skip
        target = output.inputs[0] if self.final_softmax is not None else output.name
        self.sizes[f"d:{target}"] = logits
        gradient = self.contribution(target, "loss")
        self.vector("loss.grad", "backward_data", "softmax_cross_entropy", source,
                    ("loss.probabilities",), (gradient,), logits)  # fmt: skip

    def contribution(self, tensor: str, reader: str) -> str:
        """The gradient of `tensor` that `reader`'s backward writes: the gradient itself, or
        a partial one when several readers' partial gradients must be summed."""
        readers = [r for r in self.consumers.get(tensor, []) if r in self.needs_gradient_from]
        if tensor in self.network.outputs:
            readers = [*readers, "loss"]
        name = f"d:{tensor}" if len(readers) <= 1 else f"d:{tensor}@{reader}"
        self.sizes[name] = self.sizes[tensor]
        return name

    def _gradient_readers(self) -> set[str]:
        """Layers that pass a gradient back to their inputs (their dX is computed)."""
        return {
            layer.name for layer in self.network.layers
            if any(source in self.needs_gradient for source in layer.inputs)
            and layer is not self.final_softmax
        }  # fmt: skip

    # The backward pass, layer by layer in reverse.
    def backward(self, layer: Layer) -> None:
        if layer.name not in self.needs_gradient or layer is self.final_softmax:
            return
        gradient = self.sum_gradient(layer)
        op = layer.op
        out = layer.output_shape.elements
        if getattr(op, "activation", None) is not None:
            inner = f"d:{layer.name}.act"
            self.sizes[inner] = out
            self.vector(f"{layer.name}.activation", "backward_data", "activation", layer,
                        (gradient, layer.name), (inner,), out)  # fmt: skip
            gradient = inner
        if isinstance(op, Conv | FullyConnected) and op.batchnorm:
            inner = f"d:{layer.name}.pre_bn"
            self.sizes[inner] = out
            self.vector(f"{layer.name}.batchnorm", "backward_data", "batchnorm", layer,
                        (gradient, f"{layer.name}.pre_bn"), (inner,),
                        BATCHNORM_BACKWARD_OPS * out)  # fmt: skip
            gradient = inner
        if isinstance(op, Conv | FullyConnected):
            self.array_backward(layer, gradient)
        else:
            self.vector_backward(layer, gradient)

    def sum_gradient(self, layer: Layer) -> str:
        """The gradient of `layer`'s output, summing its readers' partial gradients."""
        name = f"d:{layer.name}"
        self.sizes[name] = layer.output_shape.elements
        partials = [n for n in self.sizes if n.startswith(f"{name}@")]
        if len(partials) > 1:
            extra = (len(partials) - 1) * layer.output_shape.elements
            self.vector(f"{layer.name}.grad_sum", "backward_data", "add", layer,
                        tuple(partials), (name,), extra)  # fmt: skip
        return name

    def array_backward(self, layer: Layer, gradient: str) -> None:
        if any(source in self.needs_gradient for source in layer.inputs):
            (source,) = layer.inputs
            target = self.contribution(source, layer.name)
            gemm = data_gradient(layer)
            if needs_col2im(layer):
                columns = f"{layer.name}.dX_col"
                self.sizes[columns] = gemm.ofmap_elements
                self.add(Work(gemm.name, "backward_data", layer.label, gemm, self.batch, layer,
                              (gradient,), (columns,)))  # fmt: skip
                self.vector(f"{layer.name}.col2im", "backward_data", "col2im", layer,
                            (columns,), (target,), gemm.ofmap_elements)  # fmt: skip
            else:
                self.add(Work(gemm.name, "backward_data", layer.label, gemm, self.batch, layer,
                              (gradient,), (target,)))  # fmt: skip
        weights = weight_gradient(layer, self.batch)
        self.add(Work(weights.name, "backward_weight", layer.label, weights, 1, layer,
                      (gradient, *layer.inputs)))  # fmt: skip

    def vector_backward(self, layer: Layer, gradient: str) -> None:
        ops, kept = _vector_backward(layer)
        sources = [s for s in layer.inputs if s in self.needs_gradient]
        targets = tuple(self.contribution(s, layer.name) for s in sources)
        if isinstance(layer.op, _ALIASING):  # the input gradients are views of this one
            self.same.extend((target, gradient) for target in targets)
        reads = (gradient, *_kept(layer, kept))
        self.vector(layer.name, "backward_data", layer.label, layer, reads, targets, ops)

    def update(self, layer: Layer, optimizer: Optimizer) -> None:
        """The optimizer step of one layer's parameters, streaming its gradients, weights and
        fp32 state (and master weights): the carrier's shapes count them in operand elements."""
        if not has_parameters(layer):
            return
        width = self.element_bytes
        master = int(width < STATE_BYTES)
        weights = layer.weight_bytes_at(width) // width
        state = layer.params * (OPTIMIZER_STATE[optimizer] + master) * STATE_BYTES // width
        name = f"{layer.name}.update"
        reads = tuple(_flat(n) for n in (weights, weights, state) if n)
        carrier = Layer(name, Add(), (), reads, _flat(weights + state))
        ops = layer.params * (UPDATE_OPS[optimizer] + master)
        self.items.append(Work(name, "update", optimizer, carrier, 1, layer, (), (), ops,
                               layer.params))  # fmt: skip


Kept = Literal["nothing", "argmax", "output", "inputs", "inputs_and_output"]


def _vector_backward(layer: Layer) -> tuple[int, Kept]:
    """(ops per image, which forward tensors the backward reads) of a vector-unit layer."""
    op, out = layer.op, layer.output_shape.elements
    inputs = layer.ifmap_elements
    if isinstance(op, MaxPool):
        return layer.vector_ops, "argmax"
    if isinstance(op, AvgPool | GlobalAvgPool):
        return max(layer.vector_ops, inputs), "nothing"
    if isinstance(op, Activation):
        keeps: Kept = "output" if op.function in ("relu", "relu6", "sigmoid") else "inputs"
        return ACTIVATION_BACKWARD_OPS[op.function] * out, keeps
    if isinstance(op, Clip):
        return out, "inputs"
    if isinstance(op, BatchNorm):
        return BATCHNORM_BACKWARD_OPS * out, "inputs"
    if isinstance(op, Mul):
        return 2 * out, "inputs"
    if isinstance(op, LocalResponseNorm):
        return 2 * layer.vector_ops, "inputs_and_output"
    if isinstance(op, Softmax):
        return 3 * out, "output"
    if isinstance(op, Transpose | Pad):
        return inputs, "nothing"
    return 0, "nothing"  # add, concat, flatten, reshapes: the gradient passes on


def _kept(layer: Layer, kept: Kept) -> tuple[str, ...]:
    return {
        "nothing": (),
        "argmax": (f"{layer.name}.argmax",),
        "output": (layer.name,),
        "inputs": layer.inputs,
        "inputs_and_output": (*layer.inputs, layer.name),
    }[kept]

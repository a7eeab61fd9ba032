"""The independent reference for a float training step: each layer written with `jax.lax` on
CPU and differentiated by `jax.vjp`, with a cast to the operand format (bf16 / fp16 through
`ml_dtypes`' types) at every stored tensor, whose transpose casts the cotangent the same way.

Used by tests/test_training_numbers.py and benchmarks/training_check.py; accel never imports
JAX. Two checks:

- `check_layers`: every layer evaluated at accel's own stored inputs and output gradient (the
  same operands), its output, input-gradient shares, dW, db and updated weights compared with
  accel's under the bound of `accel.check.gradients`;
- `network_vjp`: the whole network's forward and backward in JAX from the same images, weights
  and output gradient, for the exact comparison on integer data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from accel.check.gradients import Agreement, agreement, error_bound
from accel.functional.optimizer import Hyperparameters, OptimizerState
from accel.functional.training import TrainingNumbers, final_softmax
from accel.functional.weights import random_weights
from accel.model.network import Layer, LayerEntry, Network
from accel.model.ops import Activation, Add, Conv, Flatten, FullyConnected, Shape
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import FloatWeights

jax.config.update("jax_platforms", "cpu")
DTYPES = {"fp32": jnp.float32, "bf16": jnp.bfloat16, "fp16": jnp.float16}
HIGHEST = lax.Precision.HIGHEST
# Roundings allowed per element for the activations computed with arithmetic, not selection
# (output, input gradient): hsigmoid's x + 3 and /6 (XLA may multiply by 1/6 instead), hswish's
# one more product and sum; sigmoid's exp (measured on 4·10⁶ points in [−30, 30]: accel and
# XLA both within 2.5·u of the exact sigmoid and 3.5·u·s·(1 + s) of its derivative), with margin.
SMOOTH_TERMS = {"hsigmoid": (3, 3, 0, 0), "hswish": (4, 5, 0, 0), "sigmoid": (8, 8, 0, 0)}
Fn = Callable[..., Any]


def small_cnn() -> Network:
    """Conv, depthwise conv, pointwise conv, residual add, max pool, grouped dilated conv,
    average pool, strided conv (dX as columns + col2im), leaky ReLU, global average pool, fc."""
    entries = [
        LayerEntry("conv1", Conv(kernel=3, padding=1, out_channels=8, activation="relu")),
        LayerEntry("dw", Conv(kernel=3, padding=1, out_channels=8, groups=8, activation="relu")),
        LayerEntry("pw", Conv(kernel=1, out_channels=8)),
        LayerEntry("res", Add(activation="relu"), ("conv1", "pw")),
        LayerEntry("pool", MaxPool(kernel=2, stride=2)),
        LayerEntry("dil", Conv(kernel=3, dilation=2, padding=2, out_channels=8, groups=2,
                               activation="relu6")),
        LayerEntry("apool", AvgPool(kernel=2, stride=2)),
        LayerEntry("down", Conv(kernel=3, stride=2, padding=1, out_channels=16)),
        LayerEntry("act", Activation(function="leaky_relu", alpha=0.125)),
        LayerEntry("gap", GlobalAvgPool()),
        LayerEntry("flat", Flatten()),
        LayerEntry("fc", FullyConnected(out_features=10)),
    ]  # fmt: skip
    return Network.build("small_cnn", Shape(3, 8, 8), entries)


def integer_case(seed: int,
                 batch: int = 2) -> tuple[np.ndarray, dict[str, FloatWeights], np.ndarray]:
    """(images, parameters, the logits' gradient) of `small_cnn`. Images in −2..2, weights in −1..1, biases and the logits' gradient small integers: every
    product and partial sum is an integer (or a multiple of 1/4 or 1/16 after the pools) far
    below 2^24, so each fp32 sum is exact in any order; integers up to 256 are bf16 values and
    the rounding of larger stored values is the same RNE on both sides."""
    rng = np.random.default_rng(seed)
    network = small_cnn()
    images = rng.integers(-2, 3, (batch, 3, 8, 8)).astype(np.float32)
    params = {
        name: FloatWeights(rng.integers(-1, 2, p.weight.shape).astype(np.float32),
                           rng.integers(-2, 3, p.bias.shape).astype(np.float32))
        for name, p in random_weights(network).items()
    }  # fmt: skip
    seed_gradient = rng.integers(-3, 4, (batch, 10, 1, 1)).astype(np.float32)
    return images, params, seed_gradient


def cast(x: Any, precision: str) -> Any:
    """x narrowed to the operand format and widened back (identity for fp32)."""
    if precision == "fp32":
        return x
    return x.astype(DTYPES[precision]).astype(jnp.float32)


def _activation(name: str | None, alpha: float = 0.01) -> Fn:
    return {None: lambda v: v, "relu": jax.nn.relu, "relu6": jax.nn.relu6,
            "leaky_relu": lambda v: jax.nn.leaky_relu(v, alpha),
            "hsigmoid": jax.nn.hard_sigmoid, "hswish": jax.nn.hard_swish,
            "sigmoid": jax.nn.sigmoid}[name]  # fmt: skip


def _pool_args(layer: Layer) -> tuple[Any, ...]:
    op = layer.op
    assert isinstance(op, MaxPool | AvgPool)
    shape = layer.input_shapes[0]
    top, bottom, left, right = op.fitted_pads(shape.height, shape.width)
    return ((1, 1, *op.kernel), (1, 1, *op.stride),
            ((0, 0), (0, 0), (top, bottom), (left, right)), None, (1, 1, *op.dilation))  # fmt: skip


def linear_part(layer: Layer) -> Fn:
    """f(xs, w, b) of the layer before its activation, in fp32."""
    op = layer.op
    if isinstance(op, Conv):
        shape = layer.input_shapes[0]
        top, bottom, left, right = op.fitted_pads(shape.height, shape.width)

        def conv(xs: list[Any], w: Any, b: Any) -> Any:
            y = lax.conv_general_dilated(
                xs[0], w, op.stride, ((top, bottom), (left, right)), rhs_dilation=op.dilation,
                feature_group_count=op.groups, dimension_numbers=("NCHW", "OIHW", "NCHW"),
                precision=HIGHEST)
            return y + b[None, :, None, None] if op.bias else y

        return conv
    if isinstance(op, FullyConnected):
        def fc(xs: list[Any], w: Any, b: Any) -> Any:
            y = jnp.dot(xs[0].reshape(xs[0].shape[0], -1), w.T, precision=HIGHEST)
            return (y + b if op.bias else y)[:, :, None, None]

        return fc
    if isinstance(op, MaxPool):
        return lambda xs, w, b: lax.reduce_window(xs[0], -jnp.inf, lax.max, *_pool_args(layer))
    if isinstance(op, AvgPool):
        def avg(xs: list[Any], w: Any, b: Any) -> Any:
            total = lax.reduce_window(xs[0], 0.0, lax.add, *_pool_args(layer))
            if op.count_include_pad:
                return total / (op.kernel[0] * op.kernel[1])
            ones = jnp.ones_like(xs[0])
            return total / lax.reduce_window(ones, 0.0, lax.add, *_pool_args(layer))

        return avg
    if isinstance(op, GlobalAvgPool):
        return lambda xs, w, b: jnp.sum(xs[0], axis=(2, 3), keepdims=True) / (
            xs[0].shape[2] * xs[0].shape[3])
    if isinstance(op, Add):
        def add(xs: list[Any], w: Any, b: Any) -> Any:
            total = xs[0]
            for x in xs[1:]:
                total = total + x
            return total

        return add
    if isinstance(op, Flatten):
        return lambda xs, w, b: xs[0].reshape(xs[0].shape[0], -1, 1, 1)
    if isinstance(op, Activation):
        return lambda xs, w, b: xs[0]
    raise ValueError(f"no JAX reference for {layer.kind}")


def layer_function(layer: Layer, precision: str) -> Fn:
    """y = cast(act(f(cast(xs), cast(w), b))): the layer as accel stores its output."""
    op = layer.op
    if isinstance(op, Activation):
        act = _activation(op.function, op.alpha)
    else:
        act = _activation(getattr(op, "activation", None))
    linear = linear_part(layer)

    def function(xs: list[Any], w: Any, b: Any) -> Any:
        narrowed = [cast(x, precision) for x in xs]
        w_narrow = None if w is None else cast(w, precision)
        return cast(act(linear(narrowed, w_narrow, b)), precision)

    return function


def _weights(layer: Layer, params: Mapping[str, FloatWeights]) -> tuple[Any, Any]:
    if layer.name not in params or not layer.uses_array:
        return None, None
    p = params[layer.name]
    return jnp.asarray(p.weight), jnp.asarray(p.bias)


def network_vjp(network: Network, precision: str, images: Any,
                params: Mapping[str, FloatWeights], output_gradient: Any) -> dict[str, Any]:
    """JAX's forward outputs ("y:NAME"), the gradient of each layer's output ("g:NAME", as
    stored: narrowed), dW ("dW:NAME") and db ("db:NAME"). Each layer's output carries a zero
    probe whose cotangent is the sum of what the layer's readers send it."""
    names = [layer.name for layer in network.layers if layer.name in params and layer.uses_array]

    def forward(ws: dict[str, Any], bs: dict[str, Any],
                probes: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        tensors = {name: cast(jnp.asarray(images), precision) for name, _ in network.inputs}
        for layer in network.layers:
            xs = [tensors[name] for name in layer.inputs]
            y = layer_function(layer, precision)(xs, ws.get(layer.name), bs.get(layer.name))
            tensors[layer.name] = y + probes[layer.name]
        return tensors[network.outputs[0]], tensors

    ws = {name: jnp.asarray(params[name].weight) for name in names}
    bs = {name: jnp.asarray(params[name].bias) for name in names}
    batch = np.asarray(images).shape[0]
    probes = {layer.name: jnp.zeros((batch, *_chw(layer)), jnp.float32)
              for layer in network.layers}
    _, pullback, tensors = jax.vjp(forward, ws, bs, probes, has_aux=True)
    dws, dbs, dprobes = pullback(jnp.asarray(output_gradient, dtype=jnp.float32))
    result = {f"y:{name}": np.asarray(value) for name, value in tensors.items()}
    result.update({f"g:{name}": np.asarray(cast(value, precision))
                   for name, value in dprobes.items()})
    result.update({f"dW:{name}": np.asarray(value) for name, value in dws.items()})
    result.update({f"db:{name}": np.asarray(value) for name, value in dbs.items()})
    return result


def _chw(layer: Layer) -> tuple[int, int, int]:
    out = layer.output_shape
    return (out.channels, out.height, out.width)


def softmax_cross_entropy(logits: Any, targets: Any) -> tuple[float, Any]:
    """JAX's mean softmax cross-entropy and its gradient with respect to the logits."""
    def loss(z: Any) -> Any:
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), targets[:, None], axis=1))

    value, grad = jax.value_and_grad(loss)(jnp.asarray(logits))
    return float(value), np.asarray(grad)


def _terms(layer: Layer) -> tuple[int, int, int, int]:
    """Terms summed per element: (output, input gradient, dW, db)."""
    op, out = layer.op, layer.output_shape
    shape = layer.input_shapes[0]
    if isinstance(op, Conv):
        taps = op.kernel[0] * op.kernel[1]
        k = shape.channels // op.groups * taps + 1
        return k, op.out_channels // op.groups * taps + 1, out.height * out.width, out.height * out.width
    if isinstance(op, FullyConnected):
        return shape.elements + 1, op.out_features + 1, 1, 1
    if isinstance(op, AvgPool | MaxPool):
        taps = op.kernel[0] * op.kernel[1]
        return (taps + 1 if isinstance(op, AvgPool) else 0), taps + 1, 0, 0
    if isinstance(op, GlobalAvgPool):
        return shape.height * shape.width + 1, 1, 0, 0
    if isinstance(op, Add):
        return len(layer.inputs), 0, 0, 0
    if isinstance(op, Activation) and op.function in SMOOTH_TERMS:
        return SMOOTH_TERMS[op.function]
    return 0, 0, 0, 0


def _magnitudes(layer: Layer, xs: list[Any], w: Any, b: Any, dy: Any,
                precision: str) -> tuple[Any, Any]:
    """S = Σ|term| of the output, and of each gradient (dxs, dW, db) for the cotangent `dy`: the
    layer's linear part evaluated on magnitudes (a max pool keeps its own argmax)."""
    op = layer.op
    if isinstance(op, Activation) and op.function in SMOOTH_TERMS:
        return _smooth_magnitudes(op.function, xs[0], dy)
    linear = linear_part(layer)
    keep = isinstance(layer.op, MaxPool)
    abs_xs = [x if keep else jnp.abs(x) for x in xs]
    abs_w = None if w is None else jnp.abs(cast(w, precision))
    abs_b = None if b is None else jnp.abs(b)
    s_y, pullback = jax.vjp(linear, abs_xs, abs_w, abs_b)
    return s_y, pullback(jnp.abs(dy))


def _smooth_magnitudes(function: str, x: Any, dy: Any) -> tuple[Any, Any]:
    """S of an arithmetic activation's output and input gradient (see SMOOTH_TERMS)."""
    size, slope = jnp.abs(x), jnp.abs(dy)
    if function == "sigmoid":
        s = jax.nn.sigmoid(x)
        return s, ([slope * s * (1.0 + s)], None, None)
    if function == "hsigmoid":
        return (size + 3.0) / 6.0, ([slope / 6.0], None, None)
    return size * (size + 3.0) / 6.0, ([slope * (2.0 * size + 3.0) / 6.0], None, None)


def _layer_vjp(layer: Layer, precision: str) -> Fn:
    """One compiled function: (xs, w, b, dy) → (y, S_y, (dxs, dW, db), S of those)."""
    function = layer_function(layer, precision)

    def run(xs: list[Any], w: Any, b: Any, dy: Any) -> Any:
        y, pullback = jax.vjp(function, xs, w, b)
        s_y, s_grads = _magnitudes(layer, xs, w, b, dy, precision)
        return y, s_y, pullback(dy), s_grads

    return jax.jit(run)


def check_layer(layer: Layer, numbers: TrainingNumbers, params: Mapping[str, FloatWeights],
                batch: int) -> list[Agreement]:
    """Layer `layer` of `numbers` against JAX at the same operands."""
    p, name = numbers.precision, layer.name
    xs = [jnp.asarray(numbers.activations[source]) for source in layer.inputs]
    w, b = _weights(layer, params)
    dy = numbers.gradients.get(name)
    mine = numbers.activations[name]
    cotangent = jnp.zeros(mine.shape, jnp.float32) if dy is None else jnp.asarray(dy)
    y, s_y, (dxs, dw, db), (s_dxs, s_dw, s_db) = _layer_vjp(layer, p)(xs, w, b, cotangent)
    n_y, n_dx, n_dw, n_db = _terms(layer)
    found = [agreement(name, "output", mine, y, error_bound(n_y, s_y, mine, y, p), p)]
    if dy is None:
        return found
    for index in range(len(layer.inputs)):
        if (name, index) in numbers.input_gradients:
            mine = numbers.input_gradients[(name, index)]
            found.append(agreement(name, f"dX[{index}]", mine, dxs[index],
                                   error_bound(n_dx, s_dxs[index], mine, dxs[index], p), p))
    if name in numbers.weight_gradients:
        mine = numbers.weight_gradients[name]
        found.append(agreement(name, "dW", mine, dw,
                               error_bound(n_dw * batch, s_dw, mine, dw, p), p))
    if name in numbers.bias_gradients:
        mine = numbers.bias_gradients[name]
        found.append(agreement(name, "db", mine, db,
                               error_bound(n_db * batch, s_db, mine, db, "fp32"), "fp32"))
    return found


def jax_sgd(w: Any, g: Any, v: Any, hyper: Hyperparameters) -> tuple[Any, Any]:
    v = jnp.float32(hyper.momentum) * jnp.asarray(v) + jnp.asarray(g)
    return jnp.asarray(w) - jnp.float32(hyper.learning_rate) * v, v


def _divide(x: Any, constant: float) -> Any:
    """x / constant, correctly rounded: XLA on CPU turns a division by a broadcast scalar into
    a multiplication by its rounded reciprocal (up to 1 ulp off), but divides array by array."""
    return x / jnp.full(x.shape, constant, jnp.float32)


def jax_adam(w: Any, g: Any, m: Any, v: Any, step: int, hyper: Hyperparameters) -> Any:
    g = jnp.asarray(g)
    m = jnp.float32(hyper.beta1) * jnp.asarray(m) + jnp.float32(1.0 - hyper.beta1) * g
    v = jnp.float32(hyper.beta2) * jnp.asarray(v) + jnp.float32(1.0 - hyper.beta2) * (g * g)
    m_hat = _divide(m, 1.0 - hyper.beta1**step)
    v_hat = _divide(v, 1.0 - hyper.beta2**step)
    step_size = jnp.float32(hyper.learning_rate) * m_hat
    return jnp.asarray(w) - step_size / (jnp.sqrt(v_hat) + jnp.float32(hyper.epsilon))


def check_update(numbers: TrainingNumbers, params: Mapping[str, FloatWeights],
                 state: OptimizerState, optimizer: str,
                 hyper: Hyperparameters) -> list[Agreement]:
    """The updated master weights and biases from accel's gradients, recomputed in JAX: equal
    bit for bit (the same fp32 operations on the same operands)."""
    found = []
    for name, dw in numbers.weight_gradients.items():
        p = params[name]
        pairs = [("weight", p.weight, dw.reshape(p.weight.shape), state.first[name].weight,
                  state.second[name].weight if optimizer == "adam" else None,
                  numbers.parameters[name].weight)]
        if name in numbers.bias_gradients:
            pairs.append(("bias", p.bias, numbers.bias_gradients[name], state.first[name].bias,
                          state.second[name].bias if optimizer == "adam" else None,
                          numbers.parameters[name].bias))
        for quantity, w, g, first, second, mine in pairs:
            if optimizer == "sgd":
                reference = jax_sgd(w, g, first, hyper)[0]
            else:
                reference = jax_adam(w, g, first, second, state.step + 1, hyper)
            found.append(agreement(name, quantity, mine, reference, 0.0, "fp32"))
    return found


def check_loss(network: Network, numbers: TrainingNumbers, targets: Any) -> list[Agreement]:
    """The loss and its gradient (the logits' gradient, rounded) against JAX's."""
    softmax = final_softmax(network)
    logits_name = network.outputs[0] if softmax is None else softmax.inputs[0]
    logits = numbers.activations[logits_name]
    batch = logits.shape[0]
    loss, grad = softmax_cross_entropy(logits.reshape(batch, -1), jnp.asarray(targets))
    grad = np.asarray(cast(jnp.asarray(grad), numbers.precision)).reshape(logits.shape)
    mine = numbers.gradients[logits_name]
    terms = logits[0].size + 8  # the classes' sum, exp's own error and the division
    found = []
    if softmax is not None:
        p = numbers.precision
        probabilities = np.asarray(cast(jax.nn.softmax(jnp.asarray(logits), axis=1), p))
        ours = numbers.activations[softmax.name]
        found.append(agreement(softmax.name, "output", ours, probabilities,
                               error_bound(terms, probabilities, ours, probabilities, p), p))
    return [
        *found,
        agreement("loss", "value", numbers.loss, loss,
                  error_bound(terms, 2.0 * max(abs(loss), 1.0), numbers.loss, loss, "fp32"),
                  "fp32"),
        agreement("loss", "dlogits", mine, grad,
                  error_bound(terms, 1.0 / batch, mine, grad, numbers.precision),
                  numbers.precision),
    ]


def check_layers(network: Network, numbers: TrainingNumbers,
                 params: Mapping[str, FloatWeights]) -> list[Agreement]:
    """Every layer of `numbers` against JAX at accel's own operands."""
    batch = next(iter(numbers.activations.values())).shape[0]
    return [found for layer in network.layers if layer is not final_softmax(network)
            for found in check_layer(layer, numbers, params, batch)]  # fmt: skip

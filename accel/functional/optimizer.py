"""The optimizer update on the vector unit: every operation in fp32, one rounding each.

Per parameter `w` with gradient `g` (dW in the operand format, widened exactly; the bias
gradient in fp32), after `t` updates including this one:

- SGD with momentum (the PyTorch form): `v ← μ·v + g`, `w ← w − η·v`;
- Adam: `m ← β1·m + (1 − β1)·g`, `v ← β2·v + (1 − β2)·(g·g)`, `m̂ = m / (1 − β1^t)`,
  `v̂ = v / (1 − β2^t)`, `w ← w − (η·m̂) / (√v̂ + ε)`.

The constants (η, μ, β1, β2, 1 − β1, 1 − β2, 1 − β1^t, 1 − β2^t, ε) are computed in float64
and rounded once to fp32; every other operation is one fp32 operation, left to right as
written (no fused multiply-add; √ and ÷ correctly rounded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.model.quantized import FloatWeights
from accel.model.training import Optimizer

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Hyperparameters:
    """The optimizer's constants."""

    learning_rate: float = 0.01
    momentum: float = 0.9  # SGD
    beta1: float = 0.9  # Adam
    beta2: float = 0.999
    epsilon: float = 1e-8


@dataclass(frozen=True, eq=False)
class OptimizerState:
    """fp32 state per layer: SGD's velocity or Adam's first moment (`first`), Adam's second
    moment (`second`), each a (weight, bias) pair; `step` updates done so far."""

    step: int
    first: dict[str, FloatWeights]
    second: dict[str, FloatWeights]

    @classmethod
    def zeros(cls, parameters: Mapping[str, FloatWeights], optimizer: Optimizer) -> OptimizerState:
        def zero() -> dict[str, FloatWeights]:
            return {name: FloatWeights(np.zeros_like(p.weight, dtype=np.float32),
                                       np.zeros_like(p.bias, dtype=np.float32))
                    for name, p in parameters.items()}  # fmt: skip

        return cls(0, zero(), zero() if optimizer == "adam" else {})


def _f32(value: float) -> np.float32:
    return np.float32(value)


def sgd(w: F32, g: F32, velocity: F32, hyper: Hyperparameters) -> tuple[F32, F32]:
    """(new weight, new velocity)."""
    v = _f32(hyper.momentum) * velocity + g
    return w - _f32(hyper.learning_rate) * v, v


def adam(w: F32, g: F32, m: F32, v: F32, step: int,
         hyper: Hyperparameters) -> tuple[F32, F32, F32]:  # fmt: skip
    """(new weight, new first moment, new second moment) at update number `step` (from 1)."""
    m = _f32(hyper.beta1) * m + _f32(1.0 - hyper.beta1) * g
    v = _f32(hyper.beta2) * v + _f32(1.0 - hyper.beta2) * (g * g)
    m_hat = m / _f32(1.0 - hyper.beta1**step)
    v_hat = v / _f32(1.0 - hyper.beta2**step)
    return w - (_f32(hyper.learning_rate) * m_hat) / (np.sqrt(v_hat) + _f32(hyper.epsilon)), m, v


def update(
    parameters: Mapping[str, FloatWeights],
    weight_gradients: Mapping[str, F32],
    bias_gradients: Mapping[str, F32],
    optimizer: Optimizer,
    state: OptimizerState,
    hyper: Hyperparameters,
) -> tuple[dict[str, FloatWeights], OptimizerState]:
    """The parameters after one update, and the new state. A layer without a gradient keeps
    its parameters; a missing bias gradient leaves the bias (and its state) as they were."""
    step = state.step + 1
    new: dict[str, FloatWeights] = dict(parameters)
    first, second = dict(state.first), dict(state.second)
    for name, dw in weight_gradients.items():
        p, s1 = parameters[name], state.first[name]
        pairs = [(p.weight, dw.reshape(p.weight.shape), s1.weight, 0)]
        if name in bias_gradients:
            pairs.append((p.bias, bias_gradients[name], s1.bias, 1))
        out = [p.weight, p.bias]
        out1, out2 = [s1.weight, s1.bias], []
        if optimizer == "adam":
            out2 = [state.second[name].weight, state.second[name].bias]
        for w, g, f, index in pairs:
            if optimizer == "sgd":
                out[index], out1[index] = sgd(w, g, f, hyper)
            else:
                out[index], out1[index], out2[index] = adam(w, g, f, out2[index], step, hyper)
        new[name] = FloatWeights(out[0], out[1])
        first[name] = FloatWeights(out1[0], out1[1])
        if optimizer == "adam":
            second[name] = FloatWeights(out2[0], out2[1])
    return new, OptimizerState(step, first, second)

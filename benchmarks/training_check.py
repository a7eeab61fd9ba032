"""How closely a float training step computed by accel agrees with JAX's autograd on CPU.

For each precision (fp32, bf16, fp16):

- integer data on the small CNN of tests/jax_reference.py (conv, depthwise, pointwise,
  residual add, max / average / global pooling, grouped dilated and strided convs, leaky ReLU,
  fc): the whole step in JAX from the same images, weights and logits' gradient; prints how
  many tensors (outputs, gradients, dW, db, updated weights) are bit for bit equal;
- random data (N(0, 1) images, He weights): every layer in JAX at accel's own operands, and the
  loss and the SGD update; prints per layer and quantity the elements equal bit for bit, the
  largest difference in ulps of the operand format and the largest |Δ| / bound (the bound of
  accel.check.gradients; ≤ 1 is agreement).

    python benchmarks/training_check.py              # the small CNN, 4×4 array (several folds)
    python benchmarks/training_check.py lenet5       # a zoo network on the default array

Needs the training-check extra: pip install -e ".[training-check]".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

PRECISIONS = ("fp32", "bf16", "fp16")


def _reference():  # type: ignore[no-untyped-def]
    try:
        import jax_reference
    except ImportError as error:  # jax or ml_dtypes missing
        sys.exit(f"training_check needs the training-check extra ({error.name} is missing): "
                 'pip install -e ".[training-check]"')  # fmt: skip
    return jax_reference


def integer_run(precision: str) -> str:
    from accel.config import ChipConfig
    from accel.functional.training import training_numbers

    ref = _reference()
    network = ref.small_cnn()
    images, params, seed = ref.integer_case(3)
    chip = ChipConfig().with_values({"array.precision": precision, "array.rows": 4,
                                     "array.cols": 4})  # fmt: skip
    numbers = training_numbers(network, chip, images, np.array([1, 2]), params,
                               output_gradient=seed)  # fmt: skip
    jax_values = ref.network_vjp(network, precision, images, params, seed)
    mine = {"y": numbers.activations, "g": numbers.gradients, "dW": numbers.weight_gradients,
            "db": numbers.bias_gradients}  # fmt: skip
    equal = total = 0
    for key, value in jax_values.items():
        kind, name = key.split(":")
        if name in mine[kind]:
            total += 1
            equal += int(np.array_equal(mine[kind][name], value))
    return f"{precision}: integer data, {equal} of {total} tensors bit for bit equal"


def random_run(network_name: str | None, precision: str) -> list[str]:
    import accel
    from accel.check.gradients import HEADER, mismatches
    from accel.functional.optimizer import Hyperparameters, OptimizerState
    from accel.functional.training import training_numbers
    from accel.functional.weights import random_weights

    ref = _reference()
    if network_name is None:
        network = ref.small_cnn()
        chip = accel.load_chip({"array.precision": precision, "array.rows": 4, "array.cols": 4})
    else:
        network = accel.load_network(network_name)
        chip = accel.load_chip({"array.precision": precision})
    rng = np.random.default_rng(11)
    shape = network.inputs[0][1]
    images = rng.standard_normal((2, shape.channels, shape.height, shape.width)).astype(np.float32)
    targets = np.array([1, 7])
    params = random_weights(network, seed=1)
    start = time.perf_counter()
    numbers = training_numbers(network, chip, images, targets, params)
    step_s = time.perf_counter() - start
    start = time.perf_counter()
    found = ref.check_layers(network, numbers, params) + ref.check_loss(network, numbers, targets)
    state = OptimizerState.zeros(params, "sgd")
    found += ref.check_update(numbers, params, state, "sgd", Hyperparameters())
    check_s = time.perf_counter() - start
    lines = [f"{network.name} {precision}: accel step {step_s:.2f} s, JAX check {check_s:.1f} s",
             HEADER, *(a.row() for a in found)]  # fmt: skip
    elements = sum(a.elements for a in found)
    same = sum(a.equal for a in found)
    worst = max(a.worst_fraction for a in found)
    ulps = max(a.max_ulp for a in found)
    lines.append(f"{network.name} {precision}: {len(found)} quantities, {same} of {elements} "
                 f"elements bit for bit equal, max ulp {ulps:.0f}, max |Δ|/bound {worst:.3f}, "
                 f"mismatches {mismatches(found) or 'none'}")  # fmt: skip
    return lines


def main() -> None:
    network_name = sys.argv[1] if len(sys.argv) > 1 else None
    summary = []
    for precision in PRECISIONS:
        if network_name is None:
            summary.append(integer_run(precision))
        lines = random_run(network_name, precision)
        print("\n".join(lines), end="\n\n")
        summary.append(lines[-1])
    print("\n".join(summary))


if __name__ == "__main__":
    main()

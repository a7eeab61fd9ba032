"""Comparing a float training step's numbers with an autograd reference, element by element.

The reference (JAX on CPU in `tests/jax_reference.py`; accel never imports it) evaluates each
layer at accel's own stored inputs and output gradient, so every comparison is of one
operation, not of errors carried through the network. For each quantity (a layer's output,
its share of an input's gradient, dW, the bias gradient, the updated weights) it hands over its
values and, per element, how many terms `n` the result sums and their magnitude `S = Σ|term|`.

The bound. Both sides sum the same `n` terms in fp32 in some order (accel in the array's fold
order, the reference in its own), each within `γ_n · S` of the exact sum, `γ_n = n·u / (1 −
n·u)`, `u = 2^-24` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.1
and §4.2: any summation order, products rounded or fused). So they differ by at most `2·γ_n·S`
before the result is narrowed to the operand format; rounding each to nearest adds at most
half a spacing of that format on each side, so

    |accel − reference| ≤ 2·γ_n·S + spacing_P(max(|accel|, |reference|))   (P narrower than fp32)
    |accel − reference| ≤ 2·γ_n·S                                          (P = fp32)

A quantity with `n = 0` (a selection: max pooling, ReLU masks, reshapes; or one rounded
operation on the same operands: the optimizer update) must be equal bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.functional.float_round import UNIT_ROUNDOFF_FP32, spacing, ulp_distance

F64 = npt.NDArray[np.float64]


def gamma(terms: npt.ArrayLike) -> F64:
    """Higham's γ_n = n·u / (1 − n·u) for fp32, per element."""
    n = np.asarray(terms, dtype=np.float64) * UNIT_ROUNDOFF_FP32
    result: F64 = n / (1.0 - n)
    return result


def error_bound(terms: npt.ArrayLike, magnitude: npt.ArrayLike, accel: npt.ArrayLike,
                reference: npt.ArrayLike, precision: str) -> F64:  # fmt: skip
    """The largest |accel − reference| two fp32 summations of `terms` terms of total magnitude
    `magnitude` can differ by, after narrowing to `precision` (the module's bound)."""
    bound = 2.0 * gamma(terms) * np.asarray(magnitude, dtype=np.float64)
    if precision != "fp32":
        larger = np.maximum(np.abs(np.asarray(accel, np.float64)),
                            np.abs(np.asarray(reference, np.float64)))  # fmt: skip
        bound = bound + spacing(larger, precision)
    result: F64 = np.where(np.asarray(terms) > 0, bound, 0.0)
    return result


@dataclass(frozen=True)
class Agreement:
    """How one quantity of one layer compares with the reference."""

    layer: str
    quantity: str  # "output", "dX[i]", "dW", "db", "weight", "bias"
    elements: int
    equal: int  # bit for bit (NaNs equal)
    max_ulp: float  # largest difference in ulps of the operand format
    worst_fraction: float  # largest |difference| / bound (0 if all equal; inf past a 0 bound)

    @property
    def ok(self) -> bool:
        return self.worst_fraction <= 1.0

    def row(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        return (f"{self.layer:<14} {self.quantity:<8} {self.elements:>7} {self.equal:>7} "
                f"{self.max_ulp:>8.2f} {self.worst_fraction:>8.3f}  {verdict}")  # fmt: skip


def agreement(layer: str, quantity: str, accel: npt.ArrayLike, reference: npt.ArrayLike,
              bound: npt.ArrayLike, precision: str) -> Agreement:  # fmt: skip
    """Compare `accel` with `reference` (equal shapes) against the per-element `bound`."""
    a = np.asarray(accel, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if a.shape != r.shape:
        raise ValueError(f"{layer} {quantity}: shapes must match, not {a.shape} and {r.shape}")
    same = (a == r) | (np.isnan(a) & np.isnan(r))
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = np.where(same, 0.0, np.abs(a - r))
        limit = np.broadcast_to(np.asarray(bound, dtype=np.float64), a.shape)
        fraction = np.where(same, 0.0, np.where(limit > 0, difference / limit, np.inf))
    fraction = np.where(np.isnan(fraction), np.inf, fraction)
    ulps = ulp_distance(a, r, precision)
    return Agreement(layer, quantity, int(a.size), int(np.count_nonzero(same)),
                     float(np.max(ulps, initial=0.0)),
                     float(np.max(fraction, initial=0.0)))  # fmt: skip


def mismatches(agreements: list[Agreement]) -> list[str]:
    """`layer quantity` of every comparison past its bound."""
    return [f"{a.layer} {a.quantity}" for a in agreements if not a.ok]


HEADER = (f"{'layer':<14} {'quantity':<8} {'elements':>7} {'equal':>7} {'max ulp':>8} "
          f"{'|Δ|/bound':>8}")  # fmt: skip

"""Which float32 order of QLinearSoftmax's last step matches onnxruntime: rows that differ.

Random int8/uint8 rows (lengths 1 to 100, wide and narrow value ranges, scales 2^-8 to 1,
output scales 1/256, 1/255, 2^-9 to 2^-4 and 0.3125) go through onnxruntime's
com.microsoft QLinearSoftmax and through accel's exponential table and float32 sum followed by
each candidate order; prints, per order, how many rows differ anywhere.
`accel.functional.lookup.softmax_onnx` uses "(t / sum) * Y".

    python benchmarks/softmax_order.py 40000     # trials of 16 rows each (about 25 s)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / "tests")]

F32 = np.float32


def orders(t: np.ndarray, total: np.ndarray, y: np.float32) -> dict[str, np.ndarray]:
    s = total[:, None]
    with np.errstate(over="ignore"):
        return {
            "t * Y / sum": (t * y).astype(F32) / s,
            "(t / sum) * Y": (t / s).astype(F32) * y,
            "t * (Y / sum)": t * (y / s).astype(F32),
            "t * ((1 / sum) * Y)": t * ((F32(1) / s).astype(F32) * y).astype(F32),
        }


def main(trials: int) -> None:
    from ort_helpers import MS_DOMAIN, run_node, scalar

    from accel.functional.lookup import _softmax_exp_table
    from accel.functional.requant import convert_f32_to_i32

    rng = np.random.default_rng(0)
    differing: dict[str, int] = {}
    rows_total = 0
    for _ in range(trials):
        dtype = np.int8 if rng.random() < 0.5 else np.uint8
        length = int(rng.choice([1, 2, 3, 4, 8, 16, 100]))
        xs = float(2.0 ** rng.integers(-8, 1))
        ys = float(rng.choice([1 / 256, 1 / 255, 2.0 ** rng.integers(-9, -3), 0.3125]))
        low, high = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
        yz = int(rng.integers(low, high + 1))
        x = rng.integers(low, high + 1, (16, length, 1, 1)).astype(dtype)
        if rng.random() < 0.5:
            x = (x // 8).astype(dtype)  # narrow range: many near-equal exponentials
        inputs = [x, scalar(xs, F32), scalar(0, dtype), scalar(ys, F32), scalar(yz, dtype)]
        ref = run_node("QLinearSoftmax", inputs, dtype, attrs={"axis": 1, "opset": 13},
                       domain=MS_DOMAIN).reshape(16, length)  # fmt: skip
        codes = x.reshape(16, length).astype(np.int64)
        t = _softmax_exp_table(xs, length)[codes - codes.max(1, keepdims=True) + 255]
        total = np.zeros(16, F32)
        for j in range(length):
            total = (total + t[:, j]).astype(F32)
        y = np.floor(F32(1) / F32(ys)).astype(F32)
        for name, ratio in orders(t, total, y).items():
            ratio = np.asarray(ratio, F32)
            q = np.where(np.isinf(ratio), high, convert_f32_to_i32(ratio) + yz)
            got = np.clip(q, low, high)
            differing[name] = differing.get(name, 0) + int((got != ref).any(axis=1).sum())
        rows_total += 16
    print(f"{rows_total} random rows; rows differing from onnxruntime per order:")
    for name, count in differing.items():
        print(f"  {name:22s} {count}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)

"""PE-cycles per second of the PE-level array model (accel.oracles.systolic); target >= 1e7.

One GEMM (M, K, N) = (256, 192, 160) with random int8 operands is run on square arrays for every
dataflow, with and without fold overlap. A PE-cycle is one PE stepped through one clock cycle
(rows × cols × cycles simulated). Each figure is the best of --repeat runs; outputs are checked
against numpy so a fast but wrong model cannot pass.

    python benchmarks/systolic_speed.py
    python benchmarks/systolic_speed.py --sizes 16 32 64 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's accel

from accel.oracles.systolic import simulate_gemm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--gemm", type=int, nargs=3, default=[256, 192, 160], metavar=("M", "K", "N")
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    m, k, n = args.gemm
    a, w = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
    expected = a @ w
    print(f"GEMM {m}x{k}x{n}, best of {args.repeat}")
    print(
        f"{'array':>7s} {'dataflow':>8s} {'overlap':>7s} {'cycles':>8s} {'seconds':>8s} "
        f"{'PE-cycles/s':>12s}"
    )
    worst = float("inf")
    for size in args.sizes:
        for dataflow in ("os", "ws", "is"):
            for overlap in (False, True):
                best, run = float("inf"), None
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    run = simulate_gemm(a, w, size, size, dataflow, overlap)
                    best = min(best, time.perf_counter() - start)
                assert run is not None and np.array_equal(run.output[0], expected)
                rate = run.pe_cycles / best
                worst = min(worst, rate)
                print(
                    f"{size:>3d}x{size:<3d} {dataflow:>8s} {overlap!s:>7s} {run.cycles:8,d} "
                    f"{best:8.3f} {rate:12.3g}"
                )
    print(f"slowest: {worst:.3g} PE-cycles/s (target 1e7)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall time of simulating each built-in network on the default chip (timing + memory model).

Run from the repository root:

    python benchmarks/simulate_speed.py            # every zoo network, batch 1
    python benchmarks/simulate_speed.py --sweep 20 # also: MobileNetV2 over 20 distinct chips
    python benchmarks/simulate_speed.py --buffers  # also: buffer sizes sharing tilings' work

Each network starts with an empty tiling cache, so the figure is what a first run costs. The
sweep varies DRAM bandwidth and array size so no two points share cached layers, and prints the
time per point and the implied time for 1000 points on one core. `--buffers` times MobileNetV2
on one 16×16 array at five ifmap/weight buffer sizes, each cold and after the size before it
(which shares its bound inputs, schedules and replays).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from accel.config import ChipConfig
from accel.io.sources import load_network, zoo_names
from accel.memory.model import clear_cache
from accel.simulation import simulate_network


def _time_network(name: str, chip: ChipConfig) -> tuple[float, int]:
    network = load_network(name)
    clear_cache()
    start = time.perf_counter()
    result = simulate_network(network, chip)
    return time.perf_counter() - start, result.total_cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=int, default=0, help="MobileNetV2 sweep points to time")
    parser.add_argument("--buffers", action="store_true", help="time buffer-size-only changes")
    args = parser.parse_args()
    chip = ChipConfig()
    print(f"{'network':20} {'layers':>6} {'seconds':>8} {'end-to-end cycles':>18}")
    total = 0.0
    for name in zoo_names():
        seconds, cycles = _time_network(name, chip)
        total += seconds
        print(f"{name:20} {len(load_network(name)):6} {seconds:8.3f} {cycles:18,}")
    print(f"{'all':20} {'':6} {total:8.3f}")
    if args.sweep:
        _sweep(args.sweep)
    if args.buffers:
        _buffers()


def _buffers() -> None:
    network = load_network("mobilenet_v2")
    base = {"array.rows": 16, "array.cols": 16, "sram.undersized": "stream"}
    previous = None
    for kib in (16, 32, 64, 128, 256):
        chip = ChipConfig().with_values(
            {**base, "sram.ifmap.size_kib": kib, "sram.weight.size_kib": kib}
        )
        clear_cache()
        start = time.perf_counter()
        simulate_network(network, chip)
        cold = time.perf_counter() - start
        if previous is None:
            print(f"mobilenet_v2, 16x16, {kib:3} KiB buffers: {cold:.3f} s cold")
        else:
            clear_cache()
            simulate_network(network, previous)
            start = time.perf_counter()
            simulate_network(network, chip)
            shared = time.perf_counter() - start
            print(f"mobilenet_v2, 16x16, {kib:3} KiB buffers: {cold:.3f} s cold, {shared:.3f} s "
                  "after the size before it")  # fmt: skip
        previous = chip


def _sweep(points: int) -> None:
    network = load_network("mobilenet_v2")
    grid = itertools.product([2, 4, 8, 16, 32, 64], [8, 16, 32, 64], [1.0, 1.5])
    chips = [
        ChipConfig().with_values(
            {"dram.bandwidth_bytes_per_cycle": bandwidth * scale, "array.rows": rows,
             "array.cols": rows}
        )
        for (bandwidth, rows, scale), _ in zip(grid, range(points), strict=False)
    ]
    start = time.perf_counter()
    for chip in chips:
        simulate_network(network, chip)
    per_point = (time.perf_counter() - start) / len(chips)
    print(
        f"mobilenet_v2 sweep: {len(chips)} points, {per_point:.3f} s per point, "
        f"{per_point * 1000 / 60:.1f} min per 1000 points on one core"
    )


if __name__ == "__main__":
    main()

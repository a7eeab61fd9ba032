"""Time to simulate each built-in network with the analytic model, whole network, batch 1.

For every zoo network on the chosen chip this prints the best of --repeat runs of
`simulate_network` (mapping, timing, memory and energy of every layer) and of the timing stage
alone (`map_layer` + `time_layer` per layer), and the network's compute cycles.

    python benchmarks/analytic_speed.py
    python benchmarks/analytic_speed.py --chip configs/tpu_v1_like.yaml --repeat 50
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's accel

from accel.config import ChipConfig
from accel.io.sources import load_chip, load_network, zoo_names
from accel.mapping.mapper import map_layer
from accel.model.network import Network
from accel.perf.timing import time_layer
from accel.simulation import simulate_network


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def timing_only(network: Network, chip: ChipConfig) -> int:
    return sum(time_layer(map_layer(layer, chip), chip).compute_cycles for layer in network)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chip", default=None, help="chip YAML, .cfg or built-in name")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    chip = load_chip(args.chip)
    print(
        f"chip {chip.name} ({chip.array.rows}x{chip.array.cols} {chip.array.dataflow}), "
        f"best of {args.repeat}"
    )
    print(
        f"{'network':20s} {'layers':>6s} {'simulate ms':>12s} {'timing ms':>10s} "
        f"{'compute cycles':>15s}"
    )
    slowest = 0.0
    for name in zoo_names():
        network = load_network(name)
        whole = best_seconds(partial(simulate_network, network, chip), args.repeat)
        timing = best_seconds(partial(timing_only, network, chip), args.repeat)
        slowest = max(slowest, whole)
        print(
            f"{name:20s} {len(network):6d} {whole * 1e3:12.3f} {timing * 1e3:10.3f} "
            f"{timing_only(network, chip):15,d}"
        )
    print(f"slowest whole network: {slowest * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

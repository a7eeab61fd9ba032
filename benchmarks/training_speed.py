"""How long one simulated training step takes: cold (a fresh process, empty caches) and warm.

    python benchmarks/training_speed.py                       # ResNet-18, bf16, batch 1, SGD
    python benchmarks/training_speed.py -n vgg16 --precision fp32 --batch 8 --optimizer adam

Prints the wall time of `simulate_training` on the default chip at the given precision, the
first call (cold: every tiling searched) and the median of three more (warm: memoized).
"""

from __future__ import annotations

import argparse
import statistics
import time

from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.simulation import simulate_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--network", default="resnet18")
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    args = parser.parse_args()
    network = load_network(args.network)
    chip = ChipConfig().with_values({"array.precision": args.precision})
    start = time.perf_counter()
    result = simulate_training(network, chip, args.batch, args.optimizer)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(3):
        start = time.perf_counter()
        simulate_training(network, chip, args.batch, args.optimizer)
        warm.append(time.perf_counter() - start)
    items = len(result.layers)
    print(f"{args.network} {args.precision} batch {args.batch} {args.optimizer}: {items} work "
          f"items, cold {cold:.2f} s, warm {statistics.median(warm):.2f} s")


if __name__ == "__main__":
    main()

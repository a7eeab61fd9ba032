"""What a change of the tiling search did to the results: totals of two checkouts side by side.

    python benchmarks/search_totals.py --old ../main          # this checkout against ../main

For the zoo networks and shipped chips of `results_digest.py`, each checkout simulates every
network in its own interpreter (`simulate_network`, batch 1) and reports the end-to-end cycles
and DRAM bytes; printed side by side with the change. A search that only ever finds faster
tilings shows no cycle count going up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NETWORKS = ("resnet50", "mobilenet_v2", "googlenet", "vgg16", "mobilenet_v3_small")
CHIPS = ("configs/default.yaml", "configs/eyeriss_like.yaml", "configs/tpu_v1_like.yaml")
RUN = """
import json, sys
from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.simulation import simulate_network
totals = {}
for chip_path in sys.argv[2].split(","):
    chip = ChipConfig.from_yaml(sys.argv[1] + "/" + chip_path)
    for name in sys.argv[3].split(","):
        result = simulate_network(load_network(name), chip)
        moved = sum(layer.memory.dram_bytes for layer in result.layers)
        totals[chip_path + " " + name] = (result.total_cycles, moved)
print(json.dumps(totals))
"""


def totals(checkout: Path) -> dict[str, list[int]]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    args = [sys.executable, "-c", RUN, str(REPO), ",".join(CHIPS), ",".join(NETWORKS)]
    run = subprocess.run(args, env=env, cwd=checkout, check=True, capture_output=True, text=True)
    output = run.stdout
    found: dict[str, list[int]] = json.loads(output)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the checkout to compare with")
    args = parser.parse_args()
    old, new = totals(args.old.resolve()), totals(REPO)
    print(f"{'chip':28} {'network':20} {'old cycles':>12} {'new cycles':>12} {'change':>7} "
          f"{'old DRAM B':>12} {'new DRAM B':>12} {'change':>7}")  # fmt: skip
    for key, (cycles, moved) in new.items():
        chip, network = key.split(" ")
        before, before_moved = old[key]
        print(f"{chip:28} {network:20} {before:12,} {cycles:12,} {cycles / before - 1:+7.2%} "
              f"{before_moved:12,} {moved:12,} {moved / before_moved - 1:+7.2%}")  # fmt: skip


if __name__ == "__main__":
    main()

"""DRAM bytes and cycles of a network layer by layer, with activation residency, and fused.

    python benchmarks/fusion_dram.py                       # MobileNetV2 on the default chip
    python benchmarks/fusion_dram.py -n resnet18 -c configs/eyeriss_like.yaml

Simulates the network five ways on one chip (the chip's `memory` section set each time):
layer by layer (both features off, today's numbers), `activation_residency: on`,
`fusion: auto` with halo recomputation and with halo caching, and fusion with residency. Prints
each one's DRAM bytes, their ratio to the compulsory bound (network input, weights and outputs
once each), the end-to-end cycles, the MACs spent recomputing halos and the simulation's time.
"""

from __future__ import annotations

import argparse
import time

from accel.config import ChipConfig
from accel.io.sources import load_chip, load_network
from accel.simulation import simulate_network

WAYS = (
    ("layer by layer", {}),
    ("residency", {"memory.activation_residency": "on"}),
    ("fused, recompute", {"memory.fusion": "auto", "memory.fusion_halo": "recompute"}),
    ("fused, cache", {"memory.fusion": "auto", "memory.fusion_halo": "cache"}),
    ("fused + residency", {"memory.fusion": "auto", "memory.activation_residency": "on"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--network", default="mobilenet_v2")
    parser.add_argument("-c", "--chip", default=None, help="chip YAML (default: embedded)")
    args = parser.parse_args()
    network = load_network(args.network)
    base: ChipConfig = load_chip(args.chip)
    print(f"{network.name} on {base.name}")
    print(f"{'schedule':20} {'DRAM bytes':>12} {'x bound':>8} {'cycles':>11} "
          f"{'recompute MACs':>15} {'groups':>6} {'seconds':>8}")  # fmt: skip
    baseline = None
    for label, updates in WAYS:
        chip = base.with_values(updates) if updates else base
        start = time.perf_counter()
        summary = simulate_network(network, chip).summary()
        seconds = time.perf_counter() - start
        moved = summary["dram_read_bytes"] + summary["dram_write_bytes"]
        baseline = baseline or moved
        block = summary.get("activations", {})
        print(f"{label:20} {moved:>12,} {summary['dram_over_compulsory']:>8.3f} "
              f"{summary['total_cycles']:>11,} {block.get('recompute_macs', 0):>15,} "
              f"{len(block.get('fused_groups', [])):>6} {seconds:>8.3f}")  # fmt: skip
    print(f"compulsory bound: {summary['compulsory_network_dram_bytes']:,} bytes")


if __name__ == "__main__":
    main()

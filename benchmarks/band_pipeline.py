"""Batch-1 schedules of a multi-core chip: split, the stages one image after another, bands.

    python benchmarks/band_pipeline.py                    # a conv chain, ResNet-18, MobileNetV2
    python benchmarks/band_pipeline.py -n googlenet --cores 4 --bandwidth 64

For each network, core count and DRAM bandwidth (bytes/cycle) on copies of the default core,
prints the end-to-end cycles of the three batch-1 schedules: `split` (every layer cut over the
cores), whole-image pipelining (the stages one after another: at batch 1 nothing overlaps) and
the band pipeline (one image streaming through the stages in bands of rows), the slowest
stage's compute (the floor of any pipelined schedule on these stages) and which one `auto`
keeps. `chain` is four 3×3 64→64 convs at 56×56 (`tests/test_core_bands.py`).
"""

from __future__ import annotations

import argparse

from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.memory.core_bands import band_pipeline
from accel.memory.core_stages import image_pipeline, stages_of
from accel.memory.multicore import split_schedule
from accel.model.network import LayerEntry, Network
from accel.model.ops import Conv, Shape
from accel.simulation import simulate_network


def chain() -> Network:
    entries = [LayerEntry(f"conv{i}", Conv(kernel=3, padding=1, out_channels=64))
               for i in range(4)]  # fmt: skip
    return Network.build("chain", Shape(64, 56, 56), entries)


def slowest_stage(network: Network, chip: ChipConfig) -> int:
    plan = stages_of(network, chip)
    one = simulate_network(network, ChipConfig().with_values(
        {"dram.bandwidth_bytes_per_cycle": chip.dram.bandwidth_bytes_per_cycle}))  # fmt: skip
    per_stage = [0] * chip.core_count
    for layer in one.layers:
        per_stage[plan.core_of[layer.mapping.layer.name]] += layer.timing.compute_cycles
    return max(per_stage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--network", action="append",
                        help="built-in name or workload file, or chain (repeatable)")
    parser.add_argument("--cores", type=int, action="append", help="core count (repeatable)")
    parser.add_argument("--bandwidth", type=float, action="append",
                        help="DRAM bytes/cycle (repeatable)")  # fmt: skip
    args = parser.parse_args()
    names = args.network or ["chain", "resnet18", "mobilenet_v2"]
    print(f"{'network':13} {'cores':>5} {'B/cycle':>7} {'split':>10} {'images':>10} "
          f"{'bands':>10} {'stage floor':>11}  auto")  # fmt: skip
    for name in names:
        network = chain() if name == "chain" else load_network(name)
        for cores in args.cores or [2, 4]:
            for bandwidth in args.bandwidth or [16.0, 256.0]:
                chip = ChipConfig().with_values(
                    {"cores": cores, "dram.bandwidth_bytes_per_cycle": bandwidth})
                split = split_schedule(network, chip).total_cycles
                images = image_pipeline(network, chip, 1).total_cycles
                bands = band_pipeline(network, chip).total_cycles
                auto = "bands" if bands < split else "split"
                print(f"{name:13} {cores:>5} {bandwidth:>7g} {split:>10,} {images:>10,} "
                      f"{bands:>10,} {slowest_stage(network, chip):>11,}  {auto}")  # fmt: skip


if __name__ == "__main__":
    main()

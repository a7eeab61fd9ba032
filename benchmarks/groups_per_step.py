"""Whole groups per tile step: end-to-end cycles of MobileNetV2 and VGG16 with and without them.

For each network at 16 B/cycle (the default chip) and 4096 B/cycle, prints the total cycles
with one group per tile step (the chooser's group blocks switched off, as before they existed),
with groups per step, the compute-bound total (the timing model's compute cycles) and how far
above it each run is, plus the DRAM bytes (the same both ways).

    python benchmarks/groups_per_step.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's accel

from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.memory import tiling
from accel.memory.model import clear_cache
from accel.simulation import simulate_network


def run(name: str, bandwidth: float, blocks: bool) -> tuple[int, int, int]:
    """(total cycles, compute cycles, DRAM bytes) of `name` at `bandwidth` B/cycle."""
    chip = ChipConfig().with_values({"dram.bandwidth_bytes_per_cycle": bandwidth})
    clear_cache()
    with mock.patch.object(tiling, "group_blocks", tiling.group_blocks if blocks else _none):
        result = simulate_network(load_network(name), chip)
    compute = sum(layer.timing.compute_cycles for layer in result.layers)
    moved = sum(layer.memory.dram_bytes for layer in result.layers)
    return result.total_cycles, compute, moved


def _none(*_: object) -> list[tiling.Tiling]:
    return []


def main() -> None:
    print(f"{'network':<14}{'B/cycle':>8}{'one group':>12}{'groups/step':>13}"
          f"{'compute':>12}{'over (1)':>10}{'over (G)':>10}{'DRAM bytes':>13}")  # fmt: skip
    for name in ("mobilenet_v2", "vgg16"):
        for bandwidth in (16.0, 4096.0):
            single, compute, moved = run(name, bandwidth, blocks=False)
            blocked, _, moved_blocked = run(name, bandwidth, blocks=True)
            assert moved == moved_blocked, "group blocks must move the same bytes"
            print(
                f"{name:<14}{bandwidth:>8.0f}{single:>12,}{blocked:>13,}{compute:>12,}"
                f"{single / compute - 1:>10.2%}{blocked / compute - 1:>10.2%}{moved:>13,}"
            )


if __name__ == "__main__":
    main()

"""How good is the tiling search? Its pick against an exhaustive replay of every candidate.

    python benchmarks/search_quality.py

For each layer × chip below, the memory model's pick (a Pareto shortlist of the candidate grid
in array cycles and bus bytes, each shortlisted tiling replayed) is set against the best of
*every* valid candidate of the same grid, each built into its schedule and replayed: the
exhaustive optimum by the model's own rule (fewest cycles, then fewest DRAM bytes). Prints both
and the gap in cycles, then how many picks are worse and the largest gap. Slow on purpose: the
exhaustive side replays up to a few hundred tilings per layer.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import chip_with, single_layer  # noqa: E402

from accel.config import ChipConfig  # noqa: E402
from accel.errors import InputError  # noqa: E402
from accel.mapping.mapper import map_layer  # noqa: E402
from accel.memory import model as memory  # noqa: E402
from accel.memory.geometry import LayerGeometry  # noqa: E402
from accel.memory.replay import replay_layer  # noqa: E402
from accel.memory.traffic import TRAFFIC  # noqa: E402
from accel.model.network import Layer  # noqa: E402
from accel.model.ops import Conv, FullyConnected  # noqa: E402
from accel.perf.timing import time_layer  # noqa: E402

LAYERS = {
    "conv3x3 16->32 @14": single_layer(Conv(kernel=3, out_channels=32, padding=1), 16, 14),
    "conv1x1 32->64 @14": single_layer(Conv(kernel=1, out_channels=64), 32, 14),
    "conv3x3/2 8->16 @28": single_layer(
        Conv(kernel=3, out_channels=16, stride=2, padding=1), 8, 28
    ),
    "fc 256->100": single_layer(FullyConnected(out_features=100), 256, 1),
}  # fmt: skip
CHIPS = {
    "default": {},
    "8x8 os": {"array__rows": 8, "array__cols": 8, "array__dataflow": "os"},
    "4 KiB buffers, 4 B/cycle": {
        "sram__ifmap__size_kib": 4, "sram__weight__size_kib": 4, "sram__ofmap__size_kib": 4,
        "dram__bandwidth_bytes_per_cycle": 4,
    },
    "is, 2 B/cycle": {"array__dataflow": "is", "dram__bandwidth_bytes_per_cycle": 2},
}  # fmt: skip


def exhaustive(layer: Layer, chip: ChipConfig) -> tuple[int, int, int]:
    """(cycles, DRAM bytes, candidates replayed) of the best valid candidate of the grid."""
    mapping = map_layer(layer, chip)
    array, compute = mapping.array, time_layer(mapping, chip).compute_cycles
    assert array is not None
    geometry, has_bias = LayerGeometry.of(layer, 1), layer.bias_elements > 0
    grid = memory._candidates(array, geometry)
    sizes = memory.tiles.tile_bytes(grid, geometry, array, chip, has_bias)
    compulsory = memory.compulsory_traffic(layer, 1)
    orders, per_order, fit = memory._fitting(grid, geometry, sizes, array, chip, compulsory[1])
    best, count = (sys.maxsize, sys.maxsize), 0
    for index, (traffic, fits) in enumerate(zip(orders, fit, strict=True)):
        valid = memory._valid(traffic, fits, compulsory)
        for flat in np.flatnonzero(valid.ravel()):
            tiling, moved = memory._tiling(orders, index * valid.size + int(flat), grid,
                                           per_order, array)  # fmt: skip
            schedule = memory._schedule(tiling, geometry, array, chip, has_bias, compute)
            best = min(best, (replay_layer(schedule, chip), sum(moved[k] for k in TRAFFIC)))
            count += 1
    return best[0], best[1], count


def main() -> None:
    print(f"{'layer':22} {'chip':26} {'candidates':>10} {'exhaustive':>18} {'picked':>18} gap")
    gaps = []
    for (name, layer), (chip_name, fields) in itertools.product(LAYERS.items(), CHIPS.items()):
        chip = chip_with(**fields)
        try:
            cycles, moved, count = exhaustive(layer, chip)
        except (InputError, memory._NoFit) as err:
            print(f"{name:22} {chip_name:26} does not fit: {str(err)[:60]}")
            continue
        mapping = map_layer(layer, chip)
        picked = memory.model_memory(mapping, time_layer(mapping, chip), chip)
        total = picked.stall_cycles + time_layer(mapping, chip).compute_cycles
        gap = total / cycles - 1
        gaps.append(gap)
        print(f"{name:22} {chip_name:26} {count:10} {cycles:9,} {moved:8,} "
              f"{total:9,} {picked.dram_bytes:8,} {gap:+.1%}")  # fmt: skip
    worse = sum(gap > 0 for gap in gaps)
    print(f"picks worse than the exhaustive optimum: {worse} of {len(gaps)}; "
          f"largest gap {max(gaps):+.1%}")


if __name__ == "__main__":
    main()

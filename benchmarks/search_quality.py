"""How good is the tiling search? Its pick against an exhaustive replay of every candidate.

    python benchmarks/search_quality.py

For each layer × chip below, the memory model's pick (every valid candidate of the grid bounded
in closed form, replayed in order of its lower bound until no bound can beat the best replayed,
`accel/memory/search.py`) is set against the best of *every* valid candidate of the same grid,
each built into its schedule and replayed: the exhaustive optimum by the model's own rule
(fewest cycles, then fewest DRAM bytes). Prints both with the time each took (the search from
empty caches: cold), then how many picks are better, equal and worse. The search can beat the
exhaustive side only through the groups-per-step variants it adds (`tiling.group_blocks`).
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import chip_with, single_layer  # noqa: E402

from accel.errors import InputError  # noqa: E402
from accel.mapping.mapper import map_layer  # noqa: E402
from accel.memory import model as memory  # noqa: E402
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


def main() -> None:
    print(f"{'layer':22} {'chip':26} {'tilings':>7} {'exhaustive':>18} {'ms':>7} "
          f"{'search':>18} {'ms':>6}")  # fmt: skip
    outcome = {"better": 0, "equal": 0, "worse": 0}
    times = [0.0, 0.0]
    for (name, layer), (chip_name, fields) in itertools.product(LAYERS.items(), CHIPS.items()):
        chip = chip_with(**fields)
        mapping = map_layer(layer, chip)
        timing = time_layer(mapping, chip)
        memory.clear_cache()
        start = time.perf_counter()
        try:
            picked = memory.model_memory(mapping, timing, chip)
        except InputError as err:
            print(f"{name:22} {chip_name:26} does not fit: {str(err)[:60]}")
            continue
        searched = time.perf_counter() - start
        memory.clear_cache()
        start = time.perf_counter()
        runs = memory.every_candidate(mapping, timing, chip)
        exhausted = time.perf_counter() - start
        best = min((cycles, moved) for _, cycles, moved, _ in runs)
        got = (timing.compute_cycles + picked.stall_cycles, picked.dram_bytes)
        outcome["better" if got < best else "equal" if got == best else "worse"] += 1
        times[0] += exhausted
        times[1] += searched
        print(f"{name:22} {chip_name:26} {len(runs):7} {best[0]:9,} {best[1]:8,} "
              f"{exhausted * 1e3:7.1f} {got[0]:9,} {got[1]:8,} {searched * 1e3:6.1f}")  # fmt: skip
    print(", ".join(f"{count} {what}" for what, count in outcome.items())
          + f" than the exhaustive optimum; exhaustive {times[0]:.2f} s, search {times[1]:.2f} s")


if __name__ == "__main__":
    main()

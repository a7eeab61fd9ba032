"""How many exact replays the tiling search makes: searches and replays per zoo network.

    python benchmarks/search_replays.py                        # default, edge 16x16 os, TPU v1
    python benchmarks/search_replays.py --chip configs/default.yaml --detail 6

The 12 networks of DESIGN.md's zoo are simulated one after another in one process per chip, as
`cli_startup.py` does (identical layer shapes share one search, across networks too). Each
search (`accel.memory.search.best_tiling`, wrapped here to count) replays candidates in order of
their lower bound until no bound can beat the best; with exact bounds it would replay one per
search. Prints per network the searches, the replays and their ratio, then the totals and how
many searches needed 1, 2, 3, ... replays. `--detail N` also lists, for every search that
replayed N or more, each replayed tiling with its bound, its cycles and whether it was picked:
where the bounds are loose.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accel.config import ChipConfig  # noqa: E402
from accel.io.sources import load_network  # noqa: E402
from accel.memory import search  # noqa: E402
from accel.memory.bounds import Grid, lower_bounds  # noqa: E402
from accel.memory.model import clear_cache  # noqa: E402
from accel.memory.tiling import Tiling  # noqa: E402
from accel.simulation import simulate_network  # noqa: E402

ZOO = ("lenet5", "alexnet", "vgg16", "vgg19", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large",
       "mobilenet_v3_small", "resnet18", "resnet34", "resnet50", "googlenet")  # fmt: skip
CHIPS = ("configs/default.yaml", "configs/edge_16x16_os.yaml", "configs/tpu_v1_like.yaml")
Search = tuple[Grid, ChipConfig, list[tuple[Tiling, int]], Tiling]  # replayed, picked
BestTiling = Callable[[Grid, ChipConfig, search.Replay], tuple[search.Picked, int, int]]


def counted(searches: list[Search]) -> BestTiling:
    """`search.best_tiling`, recording each search's replays in `searches`."""
    original = search.best_tiling

    def best_tiling(
        table: Grid, chip: ChipConfig, replay: search.Replay
    ) -> tuple[search.Picked, int, int]:
        replayed: list[tuple[Tiling, int]] = []

        def logged(tiling: Tiling) -> int:
            cycles = replay(tiling)
            replayed.append((tiling, cycles))
            return cycles

        found = original(table, chip, logged)
        searches.append((table, chip, replayed, found[0][0]))
        return found

    search.best_tiling = best_tiling
    return original


def detail(network: str, found: Search) -> None:
    """Each replayed tiling of one search: its bound (variants: no table row) and cycles."""
    table, chip, replayed, picked = found
    bound = lower_bounds(table, chip)
    rows = {search.candidate(table, flat)[0]: i for i, flat in enumerate(table.flat.tolist())}
    print(f"  {network}: {len(replayed)} replays of {len(table)} candidates, "
          f"compute {table.compute_cycles:,} cycles")  # fmt: skip
    for tiling, cycles in replayed:
        row = rows.get(tiling)
        low = f"{int(bound[row]):>10,}" if row is not None else f"{'variant':>10}"
        mark = "  picked" if tiling == picked else ""
        print(f"    {tiling.describe():44} bound {low} replayed {cycles:>10,}{mark}")


def run(chip_path: str, least: int) -> None:
    chip = ChipConfig.from_yaml(ROOT / chip_path)
    clear_cache()
    searches: list[Search] = []
    original = counted(searches)
    print(f"{chip_path}\n{'network':20} {'searches':>8} {'replays':>8} {'per search':>10}")
    try:
        for name in ZOO:
            start = len(searches)
            simulate_network(load_network(name), chip, 1)
            mine = [len(replayed) for _, _, replayed, _ in searches[start:]]
            ratio = f"{np.mean(mine):10.2f}" if mine else f"{'-':>10}"
            print(f"{name:20} {len(mine):8} {sum(mine):8} {ratio}")
            for found in searches[start:]:
                if least and len(found[2]) >= least:
                    detail(name, found)
    finally:
        search.best_tiling = original
    counts = [len(replayed) for _, _, replayed, _ in searches]
    print(f"{'total':20} {len(counts):8} {sum(counts):8} {np.mean(counts):10.2f}")
    spread = ", ".join(f"{k}: {v}" for k, v in sorted(Counter(counts).items()))
    print(f"searches by replays ({{replays: searches}}): {spread}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chip", action="append", help="chip YAML, from the repository root "
                        "(repeatable; default: three shipped chips)")  # fmt: skip
    parser.add_argument("--detail", type=int, default=0, metavar="N",
                        help="list the replays of searches that made N or more")  # fmt: skip
    args = parser.parse_args()
    for chip_path in args.chip or CHIPS:
        run(chip_path, args.detail)


if __name__ == "__main__":
    main()

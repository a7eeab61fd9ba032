"""Instructions to build the candidate tables of the 12 zoo networks' array layers, cold.

Run from the repository root:

    python benchmarks/layer_tables.py                       # every stage, this checkout
    python benchmarks/layer_tables.py --checkout ../old     # another checkout beside it
    python benchmarks/layer_tables.py --batch 4 --stage grid

A layer's table (`memory/plans.py` `layer_table`) is everything its tiling search computes
before the first replay: the candidate grid (`grid`: tile sizes and their ifmap bytes), every
loop order's traffic (`traffic`) and the whole table with the fit and the bound inputs
(`table`). Each distinct layer of the zoo on the default chip is built once, as the zoo's
simulations would, after every cache is emptied. Each figure is the difference of two runs
under valgrind's cachegrind (one BLAS thread, a fixed hash seed), one that stops just before
the stage, so it does not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cli_startup  # the counting of benchmarks/cli_startup.py, beside this script

CHECKOUT = Path(__file__).resolve().parent.parent
STAGES = ("grid", "traffic", "table")
SCRIPT = f"""
import sys
from accel.io.sources import load_chip, load_network
from accel.mapping.mapper import map_layer
from accel.memory import model, plans, tiling, traffic
from accel.memory.geometry import LayerGeometry
from accel.model.network import Layer
from accel.perf.timing import time_layer
try:
    from accel.memory.tile_grid import candidates
except ImportError:  # a checkout from before tile_grid.py
    from accel.memory.tiling import candidates
stage, run, batch = sys.argv[1], sys.argv[2] == "run", int(sys.argv[3])
chip, calls = load_chip(None), {{}}
for name in {cli_startup.ZOO!r}:
    for layer in load_network(name).layers:
        mapping = map_layer(layer, chip, batch)
        if mapping.array is None or mapping.row_stationary is not None:
            continue
        layer = mapping.array_layer
        call = (layer.op, layer.input_shapes, layer.output_shape, batch, mapping.array,
                time_layer(mapping, chip).compute_cycles, plans.layout_chip(chip))
        calls[call] = None
inputs = []
for op, shapes, output, _, array, _, plain in calls:
    layer = Layer("layer", op, ("input",), shapes, output)
    weight = layer.weight_bytes_at(plain.array.element_bytes)
    inputs.append((array, LayerGeometry.of(layer, batch), weight, plain))
grids = [candidates(array, geometry) for array, geometry, *_ in inputs if stage == "traffic"]
model.clear_cache()
if run and stage == "grid":
    for array, geometry, _, _ in inputs:
        candidates(array, geometry)
elif run and stage == "traffic":
    for (array, _, weight, plain), grid in zip(inputs, grids):
        traffic.order_traffics(tiling.LOOP_ORDERS, grid, array, plain, weight)
elif run and stage == "table":
    for call in calls:
        plans.layer_table(*call)
print(len(calls))
"""


def instructions(checkout: Path, stage: str, batch: int) -> int:
    """Instructions of `stage` over the zoo's tables on `checkout`."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    counts = [
        cli_startup.instructions(
            [sys.executable, "-c", SCRIPT, stage, run, str(batch)], checkout, env
        )
        for run in ("skip", "run")
    ]
    return counts[1] - counts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, action="append", help="another checkout")
    parser.add_argument("--stage", choices=STAGES, action="append", help="(repeatable)")
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    checkouts = [CHECKOUT, *(path.resolve() for path in args.checkout or [])]
    print(f"{'checkout':40s} {'stage':8s} {'M instructions':>15s}  (batch {args.batch})")
    for checkout in checkouts:
        for stage in args.stage or STAGES:
            count = instructions(checkout, stage, args.batch)
            print(f"{checkout!s:40s} {stage:8s} {count / 1e6:15,.1f}")


if __name__ == "__main__":
    main()

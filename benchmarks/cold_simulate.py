"""Instructions of one cold in-process `simulate_network` call, imports excluded.

Run from the repository root:

    python benchmarks/cold_simulate.py                         # VGG16 and MobileNetV2
    python benchmarks/cold_simulate.py -n resnet18 -n vgg16    # others
    python benchmarks/cold_simulate.py --profile -n vgg16      # cProfile of the call instead,
                                                               # and how many searches it made
    python benchmarks/cold_simulate.py --bandwidth 8           # also a bandwidth-only re-run
    python benchmarks/cold_simulate.py -n mobilenet.csv -c google.cfg  # a topology on its chip

Each network is counted by two runs under valgrind's cachegrind (one BLAS thread, a fixed hash
seed): one that imports, loads the network and chip and empties every cache, and one that then
also calls `simulate_network(network, chip, 1)` once. The difference is the call's cold cost,
the same from run to run (the counts, unlike times, do not depend on the machine's load).
With `--bandwidth B`, one more run counts a second call on the same chip at another DRAM
bandwidth (`B` bytes/cycle) after the first: a sweep point that differs only in DRAM timing,
whose tilings' tables and schedules are cached and whose replays are not.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cli_startup  # the counting of benchmarks/cli_startup.py, beside this script

CHECKOUT = Path(__file__).resolve().parent.parent
SETUP = (
    "import sys\n"
    "from accel.io.sources import load_chip, load_network\n"
    "from accel.memory.model import clear_cache\n"
    "from accel.simulation import simulate_network\n"
    "network, chip = load_network(sys.argv[1]), load_chip(sys.argv[2] or None)\n"
    "clear_cache()\n"
)
CALL = "simulate_network(network, chip, 1)\n"
RERUN = (
    "other = chip.with_values({'dram.bandwidth_bytes_per_cycle': float(sys.argv[3])})\n"
    "simulate_network(network, other, 1)\n"
)


def instructions(script: str, name: str, *more: str) -> int:
    """Instructions that `python -c script name ...` executes, counted by cachegrind."""
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    return cli_startup.instructions([sys.executable, "-c", script, name, *more], CHECKOUT, env)


def profile(name: str, chip_path: str) -> None:
    """cProfile of one cold call, the 25 functions with the most cumulative time."""
    import cProfile
    import pstats

    sys.path.insert(0, str(CHECKOUT))
    from accel.io.sources import load_chip, load_network
    from accel.memory.model import _array_memory, clear_cache
    from accel.simulation import simulate_network

    network, chip = load_network(name), load_chip(chip_path or None)
    clear_cache()
    profiler = cProfile.Profile()
    profiler.runcall(simulate_network, network, chip, 1)
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(25)
    searches = _array_memory.cache_info()  # identical layer shapes share one search
    print(f"{name}: {searches.hits + searches.misses} array layers, {searches.misses} searches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--network", action="append",
                        help="zoo network, workload or topology file (repeatable)")
    parser.add_argument("-c", "--chip", default="", help="chip: built-in name, YAML or SCALE-Sim "
                        ".cfg (default chip if not given)")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="cProfile instead of counting")
    parser.add_argument("--bandwidth", type=float, help="also count a re-run at this DRAM "
                        "bandwidth (bytes/cycle) after the first call")  # fmt: skip
    args = parser.parse_args()
    names = args.network or ["vgg16", "mobilenet_v2"]
    if args.profile:
        for name in names:
            profile(name, args.chip)
        return
    rerun = f" {f'bandwidth {args.bandwidth:g} re-run':>24s}" if args.bandwidth else ""
    print(f"{'network':20s} {'M instructions, cold call':>26s}{rerun}")
    for name in names:
        base = instructions(SETUP, name, args.chip)
        called = instructions(SETUP + CALL, name, args.chip)
        line = f"{name:20s} {(called - base) / 1e6:26,.1f}"
        if args.bandwidth:
            again = instructions(SETUP + CALL + RERUN, name, args.chip, str(args.bandwidth))
            line += f" {(again - called) / 1e6:24,.1f}"
        print(line)


if __name__ == "__main__":
    main()

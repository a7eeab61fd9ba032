"""Instructions of one cold in-process `simulate_network` call, imports excluded.

Run from the repository root:

    python benchmarks/cold_simulate.py                         # VGG16 and MobileNetV2
    python benchmarks/cold_simulate.py -n resnet18 -n vgg16    # others
    python benchmarks/cold_simulate.py --profile -n vgg16      # cProfile of the call instead,
                                                               # and how many searches it made
    python benchmarks/cold_simulate.py --bandwidth 8           # also a bandwidth-only re-run
    python benchmarks/cold_simulate.py -n mobilenet.csv -c google.cfg  # a topology on its chip
    python benchmarks/cold_simulate.py --sram 128 --sram 256   # also SRAM-only re-runs
    python benchmarks/cold_simulate.py --checkout ../old       # another checkout beside this

Each network is counted by two runs under valgrind's cachegrind (one BLAS thread, a fixed hash
seed): one that imports, loads the network and chip and empties every cache, and one that then
also calls `simulate_network(network, chip, 1)` once. The difference is the call's cold cost,
the same from run to run (the counts, unlike times, do not depend on the machine's load).
With `--bandwidth B`, one more run counts a second call on the same chip at another DRAM
bandwidth (`B` bytes/cycle) after the first: a sweep point that differs only in DRAM timing,
whose tilings' tables and schedules are cached and whose replays are not. With `--sram KIB`
(repeatable), one more run per size counts a call with the ifmap and weight buffers at `KIB`
KiB after the first call and the re-runs at the sizes before it: sweep points that differ
only in SRAM sizes, which share a layer's candidate grid and bound inputs, not its fit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
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
SRAM_RERUN = (  # the re-run at the `index`-th size of `--sram`, argument 4 + index
    "other = chip.with_values({f'sram.{op}.size_kib': float(sys.argv[{index}])\n"
    "                          for op in ('ifmap', 'weight')})\n"
    "simulate_network(network, other, 1)\n"
)


def instructions(checkout: Path, script: str, name: str, *more: str) -> int:
    """Instructions that `python -c script name ...` executes on `checkout`, counted by
    cachegrind."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return cli_startup.instructions([sys.executable, "-c", script, name, *more], checkout, env)


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
    parser.add_argument("--sram", type=float, action="append", default=[], help="also count "
                        "a re-run with the ifmap and weight buffers at this size (KiB) after "
                        "the first call and the re-runs before it (repeatable)")  # fmt: skip
    parser.add_argument("--checkout", type=Path, action="append", default=[],
                        help="another checkout to count beside this one (repeatable)")
    args = parser.parse_args()
    names = args.network or ["vgg16", "mobilenet_v2"]
    if args.profile:
        for name in names:
            profile(name, args.chip)
        return
    # Modules a call imports lazily are read from bytecode, as an installed package's are, even
    # where PYTHONDONTWRITEBYTECODE is set: compiling them would count as the call's work.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    pycache = tempfile.TemporaryDirectory()
    os.environ["PYTHONPYCACHEPREFIX"] = pycache.name
    rerun = f" {f'bandwidth {args.bandwidth:g} re-run':>24s}" if args.bandwidth else ""
    rerun += "".join(f" {f'SRAM {size:g} KiB re-run':>22s}" for size in args.sram)
    for checkout in [CHECKOUT, *(path.resolve() for path in args.checkout)]:
        print(f"{checkout}\n{'network':20s} {'M instructions, cold call':>26s}{rerun}")
        for name in names:
            print(f"{name:20s} {_counts(checkout, name, args):s}")


def _counts(checkout: Path, name: str, args: argparse.Namespace) -> str:
    """The cold call's count and each re-run's, as `main` prints them (after an uncounted run
    that writes the bytecode of every module the runs import)."""
    sizes = [str(size) for size in args.sram] or ["64"]
    warm_up = SETUP + CALL + RERUN + SRAM_RERUN.replace("{index}", "4")
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    subprocess.run([sys.executable, "-c", warm_up, name, args.chip, "8", sizes[0]],
                   cwd=checkout, env=env, check=True, capture_output=True)  # fmt: skip
    base = instructions(checkout, SETUP, name, args.chip)
    called = instructions(checkout, SETUP + CALL, name, args.chip)
    line = f"{(called - base) / 1e6:26,.1f}"
    if args.bandwidth:
        again = instructions(checkout, SETUP + CALL + RERUN, name, args.chip,
                             str(args.bandwidth))  # fmt: skip
        line += f" {(again - called) / 1e6:24,.1f}"
    script, before, sizes = SETUP + CALL, called, [str(size) for size in args.sram]
    for index in range(len(sizes)):
        script += SRAM_RERUN.replace("{index}", str(4 + index))
        after = instructions(checkout, script, name, args.chip, "0", *sizes)
        line += f" {(after - before) / 1e6:22,.1f}"
        before = after
    return line


if __name__ == "__main__":
    main()

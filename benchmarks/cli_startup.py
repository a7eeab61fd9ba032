"""Whole-process time of the `accel` command: interpreter start, imports, and whole runs, each
beside the target issue 14 sets for it.

Each command runs --repeat times in a fresh Python process (as a user's shell would run it);
the script prints the median and the best wall time, and the target where there is one:

- VGG16 on the default chip, `-q`: 0.15 s; at batch 8: 0.3 s; with its per-layer table printed
  (stdout a pipe, no target); MobileNetV2, `-q` (no target: the tiling search's largest share);
- SCALE-Sim's MobileNet topology on its TPU config, `-q`: 0.2 s, when --scalesim-cfg and
  --scalesim-topology name existing files (SCALE-Sim's `configs/google.cfg` and
  `topologies/conv_nets/mobilenet.csv`, not shipped here; see benchmarks/vs_scalesim.py);
- a ResNet-18 ONNX file, `-q`: 0.5 s (exported once, untimed, by `accel export -n resnet18
  --format onnx --seed 0`: float weights, seeded);
- the 12 networks of DESIGN.md's zoo (lenet5 ... googlenet) loaded and simulated on the default
  chip in one process through the library (`load_network`, `simulate_network`): 0.5 s.

"import numpy" is the floor under every run (the tiling search is numpy).
"imports of a simulate-network run" loads every module a quiet run on a built-in network loads
(no work): the gap to the run itself is the work. Bytecode is cached (in a temporary folder,
after one warm-up run) as it is for an installed package, even where PYTHONDONTWRITEBYTECODE is
set; --cold compiles every module from source each time instead. --checkout times another
checkout's accel (e.g. the commit before a change, `git archive COMMIT | tar -x -C
../accel-before`) with this script; given more than once, the checkouts run side by side, in
turn within every repeat of every command, so a neighbour's load slows them alike, and the last
column is the first checkout's best over the last's.

    python benchmarks/cli_startup.py
    python benchmarks/cli_startup.py --repeat 20 --checkout ../accel-before --checkout .
    python benchmarks/cli_startup.py --scalesim-cfg google.cfg --scalesim-topology mobilenet.csv
    python benchmarks/cli_startup.py --instructions   # valgrind: counts, not times

On a shared machine wall times swing by tens of percent with the neighbours' load;
--instructions instead runs each command once under valgrind's cachegrind and prints the
instructions it executed (one BLAS thread, a fixed hash seed): the same from run to run
within a percent or so, so two checkouts compare on it however busy the machine is.

Where the import time goes: `python -X importtime -c "import accel.cli.argv,
accel.cli.simulate, accel.io.sources, accel.simulation, accel.results" 2>&1 | sort -t'|' -k2 -n`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
# The console script's entry (`run`; `main` in checkouts from before it was added).
CLI = "from accel import cli; getattr(cli, 'run', cli.main)()"
# Every module a quiet `accel simulate-network` of a built-in network imports on its way (a
# checkout from before the fast path imports typer and rich for it instead).
RUN_IMPORTS = (
    "try:\n    import accel.cli.argv, accel.cli.simulate\n"
    "except ImportError:\n    import accel.cli, rich.table\n"
    "import accel.io.sources, accel.simulation, accel.results\n"
)
# DESIGN.md §3's built-in networks, simulated one after another in one process.
ZOO = ("lenet5", "alexnet", "vgg16", "vgg19", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large",
       "mobilenet_v3_small", "resnet18", "resnet34", "resnet50", "googlenet")  # fmt: skip
ZOO_RUN = (
    "from accel.io.sources import load_chip, load_network\n"
    "from accel.simulation import simulate_network\n"
    "chip = load_chip(None)\n"
    f"for name in {ZOO!r}:\n"
    "    simulate_network(load_network(name), chip, 1)\n"
)


def wall_seconds(
    argv: list[str], checkouts: list[Path], env: dict[str, str], repeat: int
) -> list[list[float]]:
    """Each checkout's wall times of `argv`, the checkouts in turn within every repeat."""
    # The working directory comes first on sys.path, so `checkout`'s accel is the one imported.
    for checkout in checkouts:  # warm-up
        subprocess.run(argv, cwd=checkout, env=env, check=True, capture_output=True)
    times: list[list[float]] = [[] for _ in checkouts]
    for _ in range(repeat):
        for checkout, found in zip(checkouts, times, strict=True):
            start = time.perf_counter()
            subprocess.run(argv, cwd=checkout, env=env, check=True, capture_output=True)
            found.append(time.perf_counter() - start)
    return times


def instructions(argv: list[str], checkout: Path, env: dict[str, str]) -> int:
    """Instructions one run of `argv` executes, counted by valgrind's cachegrind."""
    counting = {**env, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run(argv, cwd=checkout, env=env, check=True, capture_output=True)  # warm-up
    valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
                "--cachegrind-out-file=/dev/null"]  # fmt: skip
    run = subprocess.run([*valgrind, *argv], cwd=checkout, env=counting, check=True,
                         capture_output=True, text=True)  # fmt: skip
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    assert found, run.stderr
    return int(found[1].replace(",", ""))


Commands = dict[str, tuple[list[str], float | None]]  # label → (command line, target seconds)


def commands(args: argparse.Namespace, out: str, scratch: Path) -> Commands:
    """The commands to time, with their targets (None: no target)."""
    python = sys.executable
    run = [python, "-c", CLI, "simulate-network", "--out", out]
    vgg16 = [*run, "-n", "vgg16"]
    found: Commands = {
        "python -c pass": ([python, "-c", "pass"], None),
        "import numpy": ([python, "-c", "import numpy"], None),  # the floor of every run
        "import accel": ([python, "-c", "import accel"], None),
        "import accel.cli": ([python, "-c", "import accel.cli"], None),
        "imports of a simulate-network run": ([python, "-c", RUN_IMPORTS], None),
        "accel --help": ([python, "-c", CLI, "--help"], None),
        "VGG16, its table printed": (vgg16, None),
        "VGG16 -q": ([*vgg16, "-q"], 0.15),
        "VGG16 --batch 8 -q": ([*vgg16, "--batch", "8", "-q"], 0.3),
        "MobileNetV2 -q": ([*run, "-n", "mobilenet_v2", "-q"], None),
    }
    cfg, topology = args.scalesim_cfg, args.scalesim_topology
    if cfg is not None and topology is not None and cfg.is_file() and topology.is_file():
        found["SCALE-Sim MobileNet, its cfg, -q"] = (
            [*run, "-n", str(topology.resolve()), "-c", str(cfg.resolve()), "-q"], 0.2)
    onnx = scratch / "resnet18.onnx"
    export = [python, "-c", CLI, "export", "-n", "resnet18", "--format", "onnx", "--seed", "0",
              "--out", str(onnx)]  # fmt: skip
    if subprocess.run(export, cwd=args.checkout[-1], capture_output=True).returncode == 0:
        found["ResNet-18 ONNX -q"] = ([*run, "-n", str(onnx), "-q"], 0.5)
    found["12 zoo networks, one process"] = ([python, "-c", ZOO_RUN], 0.5)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--checkout", type=Path, action="append",
                        help="accel checkout to time (again: side by side; default this one)")
    parser.add_argument("--cold", action="store_true", help="no bytecode cache")
    parser.add_argument("--scalesim-cfg", type=Path, help="SCALE-Sim's google.cfg")
    parser.add_argument("--scalesim-topology", type=Path, help="SCALE-Sim's mobilenet.csv")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under valgrind instead of timing")  # fmt: skip
    args = parser.parse_args()
    args.checkout = args.checkout or [CHECKOUT]
    with (tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as pycache,
          tempfile.TemporaryDirectory() as scratch):  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        if args.cold:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        found = commands(args, out, Path(scratch))
        cache = "no bytecode cache" if args.cold else "bytecode cached"
        what = "instructions" if args.instructions else f"wall time, {args.repeat} runs each"
        for number, checkout in enumerate(args.checkout, 1):
            print(f"[{number}] {checkout.resolve()}")
        print(f"({cache}): fresh processes, {what}")
        if not any(label.startswith("SCALE-Sim") for label in found):
            print("(SCALE-Sim's MobileNet case skipped: --scalesim-cfg / --scalesim-topology "
                  "name no files)")
        if args.instructions:
            _print_instructions(found, args.checkout, env)
        else:
            _print_walls(found, args.checkout, env, args.repeat)
    return 0


def _print_instructions(found: Commands, checkouts: list[Path], env: dict[str, str]) -> None:
    heads = "".join(f"{f'[{n}] M instr.':>15s}" for n in range(1, len(checkouts) + 1))
    print(f"{'command':36s}{heads}")
    for label, (argv, _) in found.items():
        counts = "".join(f"{instructions(argv, c, env) / 1e6:15,.0f}" for c in checkouts)
        print(f"{label:36s}{counts}")


def _print_walls(found: Commands, checkouts: list[Path], env: dict[str, str], repeat: int) -> None:
    """Per checkout the median and best seconds and whether the best meets the target; with
    several checkouts, the first's best over the last's (above 1: the last is faster)."""
    heads = "".join(f"{f'[{n}] median':>11s}{'best':>7s}{'met':>4s}"
                    for n in range(1, len(checkouts) + 1))  # fmt: skip
    ratio = f"{'[1]/[' + str(len(checkouts)) + ']':>9s}" if len(checkouts) > 1 else ""
    print(f"{'command':36s}{heads}{'target s':>9s}{ratio}")
    for label, (argv, target) in found.items():
        times = wall_seconds(argv, checkouts, env, repeat)
        cells = ""
        for found_times in times:
            met = "" if target is None else ("yes" if min(found_times) <= target else "no")
            cells += f"{statistics.median(found_times):11.3f}{min(found_times):7.3f}{met:>4s}"
        goal = f"{target:9.2f}" if target else f"{'':9s}"
        share = f"{min(times[0]) / min(times[-1]):8.2f}x" if len(checkouts) > 1 else ""
        print(f"{label:36s}{cells}{goal}{share}")


if __name__ == "__main__":
    sys.exit(main())

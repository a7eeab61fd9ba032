"""Wall time of the `accel` command: interpreter start, imports, and whole runs.

Each command runs --repeat times in a fresh Python process (as a user's shell would run it);
the script prints the median and the best wall time. "imports of a simulate-network run" loads
every module such a run loads (no work): the gap to the run itself is the work. The whole runs
are VGG16 on the default chip, with its per-layer table (stdout a pipe) and with -q, and, when
--scalesim-cfg and --scalesim-topology name existing files (SCALE-Sim's `configs/google.cfg`
and `topologies/conv_nets/mobilenet.csv`, not shipped here; see benchmarks/vs_scalesim.py),
SCALE-Sim's MobileNet case. Bytecode is cached (in a temporary folder, after one warm-up run)
as it is for an installed package, even where PYTHONDONTWRITEBYTECODE is set; --cold compiles
every module from source each time instead. --checkout times another checkout's accel (e.g.
the commit before a change, `git archive COMMIT | tar -x -C ../accel-before`) with this script.

    python benchmarks/cli_startup.py
    python benchmarks/cli_startup.py --repeat 20 --checkout ../accel-before
    python benchmarks/cli_startup.py --scalesim-cfg google.cfg --scalesim-topology mobilenet.csv
    python benchmarks/cli_startup.py --instructions   # valgrind: counts, not times

On a shared machine wall times swing by tens of percent with the neighbours' load;
--instructions instead runs each command once under valgrind's cachegrind and prints the
instructions it executed (one BLAS thread, a fixed hash seed): the same from run to run
within a percent or so, so two checkouts compare on it however busy the machine is.

Where the import time goes: `python -X importtime -c "import accel.cli, accel.io.sources,
accel.simulation, accel.results, rich.table" 2>&1 | sort -t'|' -k2 -n`.
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
CLI = "from accel.cli import main; main()"
# Every module `accel simulate-network` imports on its way (its table included).
RUN_IMPORTS = "import accel.cli, accel.io.sources, accel.simulation, accel.results, rich.table"


def wall_seconds(argv: list[str], checkout: Path, env: dict[str, str], repeat: int) -> list[float]:
    # The working directory comes first on sys.path, so `checkout`'s accel is the one imported.
    subprocess.run(argv, cwd=checkout, env=env, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=checkout, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--checkout", type=Path, default=CHECKOUT, help="accel checkout to time")
    parser.add_argument("--cold", action="store_true", help="no bytecode cache")
    parser.add_argument("--scalesim-cfg", type=Path, help="SCALE-Sim's google.cfg")
    parser.add_argument("--scalesim-topology", type=Path, help="SCALE-Sim's mobilenet.csv")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under valgrind instead of timing")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        if args.cold:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        vgg16 = [sys.executable, "-c", CLI, "simulate-network", "-n", "vgg16", "--out", out]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import accel": [sys.executable, "-c", "import accel"],
            "import accel.cli": [sys.executable, "-c", "import accel.cli"],
            "imports of a simulate-network run": [sys.executable, "-c", RUN_IMPORTS],
            "accel --help": [sys.executable, "-c", CLI, "--help"],
            "accel simulate-network -n vgg16": vgg16,
            "accel simulate-network -n vgg16 -q": [*vgg16, "-q"],
        }
        cfg, topology = args.scalesim_cfg, args.scalesim_topology
        if cfg is not None and topology is not None and cfg.is_file() and topology.is_file():
            commands["SCALE-Sim MobileNet, google.cfg, -q"] = [
                sys.executable, "-c", CLI, "simulate-network", "-n", str(topology.resolve()),
                "-c", str(cfg.resolve()), "--out", out, "-q",
            ]  # fmt: skip
        cache = "no bytecode cache" if args.cold else "bytecode cached"
        what = "instructions" if args.instructions else f"wall time, {args.repeat} runs each"
        print(f"{args.checkout.resolve()} ({cache}): fresh processes, {what}")
        if "SCALE-Sim MobileNet, google.cfg, -q" not in commands:
            print("(SCALE-Sim's MobileNet case skipped: --scalesim-cfg / --scalesim-topology "
                  "name no files)")
        if args.instructions:
            print(f"{'command':40s} {'M instructions':>15s}")
            for label, argv in commands.items():
                print(f"{label:40s} {instructions(argv, args.checkout, env) / 1e6:15,.0f}")
            return 0
        print(f"{'command':40s} {'median ms':>10s} {'best ms':>9s}")
        for label, argv in commands.items():
            times = wall_seconds(argv, args.checkout, env, args.repeat)
            print(f"{label:40s} {statistics.median(times) * 1e3:10.1f} {min(times) * 1e3:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

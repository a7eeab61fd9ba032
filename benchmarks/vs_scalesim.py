"""Run SCALE-Sim 3.0.0 and accel on the same .cfg + topology and compare time and cycles.

SCALE-Sim runs in its own venv through a subprocess (it is never imported by accel); the child
times only its simulation (`run_scale` with traces off) and prints the seconds. accel is timed
in this process: loading the inputs, then simulating every layer cold (the first call, every
cache empty: what one run costs) and warm (best of --repeat runs with the tilings cached: what a
repeated point of a sweep costs); its command line is timed end to end as well (interpreter
start, imports, files written: best and median of --cli-repeat runs after an untimed one,
modules read from bytecode as an installed package's are). Prints the wall times, the speed
ratios (cold simulation against SCALE-Sim's simulation, and process against process) and each
layer's compute cycles (SCALE-Sim's Total Cycles − Stall Cycles) side by side.

    python benchmarks/vs_scalesim.py                       # AlexNet on 32x32 os (~4-6 min)
    python benchmarks/vs_scalesim.py --cfg tests/data/scalesim/mixed_8x8_os.cfg \\
        --topology tests/data/scalesim/topo_mixed.csv      # ~1 s in SCALE-Sim

Set the SCALE-Sim venv up once (see tools/scalesim_golden.py); without it the script says so
and times accel alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # time this checkout's accel, not another installed copy

from accel.io.scalesim import load_scalesim_config, load_topology  # noqa: E402
from accel.memory.model import clear_cache  # noqa: E402
from accel.simulation import simulate_network  # noqa: E402

DATA = REPO / "tests" / "data" / "scalesim"
SCALESIM_PYTHON = REPO / ".venv-scalesim" / "bin" / "python"  # python3 -m venv .venv-scalesim
CHILD = r"""
import contextlib, io, json, sys, time
from scalesim.scale_sim import scalesim
cfg, topology, layout, out, kind = sys.argv[1:6]
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topology,
                   layout=layout, input_type_gemm=kind == "gemm")
    sim.run_scale(top_path=out)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def is_gemm_topology(path: Path) -> bool:
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    return [cell.strip().upper() for cell in header[1:4]] == ["M", "N", "K"]


def run_scalesim(python: Path, cfg: Path, topology: Path) -> tuple[float, float, list[int]]:
    """(simulation seconds, child wall seconds, compute cycles per layer) from SCALE-Sim."""
    with tempfile.TemporaryDirectory(prefix="vs_scalesim_") as scratch:
        layout = Path(scratch) / "layout.csv"
        layout.write_text("Layer name,\n", encoding="utf-8")
        out = Path(scratch) / "out"
        kind = "gemm" if is_gemm_topology(topology) else "conv"
        start = time.perf_counter()
        child = subprocess.run(
            [str(python), "-c", CHILD, str(cfg), str(topology), str(layout), str(out), kind],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - start
        seconds = json.loads(child.stdout.splitlines()[-1])["seconds"]
        (report,) = out.glob("*/COMPUTE_REPORT.csv")
        with report.open(newline="", encoding="utf-8") as handle:
            rows = [[cell.strip() for cell in row] for row in csv.reader(handle) if row]
    header = rows[0]
    total, stall = header.index("Total Cycles"), header.index("Stall Cycles")
    return seconds, wall, [int(row[total]) - int(row[stall]) for row in rows[1:]]


def time_accel(
    cfg: Path, topology: Path, repeat: int
) -> tuple[float, float, float, list[int], list[str]]:
    """(load seconds, cold and best warm simulation seconds, compute cycles and names per
    layer)."""
    start = time.perf_counter()
    chip, network = load_scalesim_config(cfg), load_topology(topology)
    load = time.perf_counter() - start
    clear_cache()
    start = time.perf_counter()
    result = simulate_network(network, chip)
    cold = time.perf_counter() - start
    warm = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = simulate_network(network, chip)
        warm = min(warm, time.perf_counter() - start)
    cycles = [layer.timing.compute_cycles for layer in result.layers]
    return load, cold, warm, cycles, [layer.name for layer in result.layers]


def time_cli(cfg: Path, topology: Path, repeat: int) -> tuple[float, float]:
    """(best, median) wall seconds of `accel simulate-network` in a fresh interpreter, files
    written, over `repeat` runs after an untimed one. Modules are read from bytecode that run
    compiled, as an installed package's are, even where PYTHONDONTWRITEBYTECODE is set (else
    every run would compile all of accel: ~0.1-0.15 s more)."""
    with (tempfile.TemporaryDirectory(prefix="vs_scalesim_cli_") as out,
          tempfile.TemporaryDirectory(prefix="vs_scalesim_pyc_") as pycache):  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        command = [
            sys.executable,
            "-c",
            "from accel import cli; getattr(cli, 'run', cli.main)()",
            "simulate-network",
            "--network",
            str(topology),
            "--chip",
            str(cfg),
            "--out",
            out,
            "--quiet",
        ]
        walls = []
        for _ in range(repeat + 1):
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, env=env, capture_output=True, check=True)
            walls.append(time.perf_counter() - start)
        return min(walls[1:]), statistics.median(walls[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cfg", type=Path, default=DATA / "alexnet_32x32_os.cfg")
    parser.add_argument("--topology", type=Path, default=DATA / "topo_alexnet.csv")
    parser.add_argument("--scalesim-python", type=Path, default=SCALESIM_PYTHON)
    parser.add_argument("--repeat", type=int, default=20, help="warm accel runs (best is kept)")
    parser.add_argument("--cli-repeat", type=int, default=7, help="CLI runs (best and median)")
    args = parser.parse_args()
    cfg, topology = args.cfg.resolve(), args.topology.resolve()
    load, cold, warm, ours, names = time_accel(cfg, topology, args.repeat)
    cli, cli_median = time_cli(cfg, topology, args.cli_repeat)
    print(f"inputs: {cfg.name} + {topology.name}, {len(names)} layers")
    print(
        f"accel:     simulate cold {cold * 1e3:9.3f} ms (first call, empty caches), warm "
        f"{warm * 1e3:.3f} ms (best of {args.repeat}, cached tilings), load inputs "
        f"{load * 1e3:.1f} ms, CLI end to end {cli:.3f} s best, {cli_median:.3f} s median "
        f"of {args.cli_repeat}"
    )
    if not args.scalesim_python.is_file():
        print(
            f"SCALE-Sim: skipped, no interpreter at {args.scalesim_python} (create the venv: "
            "python3 -m venv .venv-scalesim && .venv-scalesim/bin/pip install "
            "scalesim==3.0.0 'numpy<2.4')"
        )
        return 0
    seconds, wall, theirs = run_scalesim(args.scalesim_python, cfg, topology)
    print(f"SCALE-Sim: simulate {seconds:9.3f} s, child process wall {wall:.2f} s")
    print(
        f"speed ratio: {wall / cli:,.1f}x (process vs CLI's best, both end to end; "
        f"{wall / cli_median:,.1f}x vs its median), "
        f"{seconds / cold:,.0f}x (simulation vs accel's cold simulation)"
    )
    print(f"{'layer':28s} {'SCALE-Sim':>12s} {'accel':>12s} {'diff':>6s}")
    for name, their, our in zip(names, theirs, ours, strict=True):
        print(f"{name:28s} {their:12,d} {our:12,d} {our - their:6d}")
    worst = max(abs(our - their) for our, their in zip(ours, theirs, strict=True))
    print(f"largest per-layer difference: {worst} cycles")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())

"""How fast does a sweep run? Whole `accel sweep` processes, --workers 1 beside --workers 2.

    python benchmarks/sweep_speed.py                      # from the repo root
    python benchmarks/sweep_speed.py --repeat 5 --grid large
    python benchmarks/sweep_speed.py --checkout /tmp/old  # another checkout, side by side
    python benchmarks/sweep_speed.py --costs              # what a point costs, by what it shares
    python benchmarks/sweep_speed.py --instructions --grid issue --checkout /tmp/old

Each run is a fresh process (`accel sweep --restart`: imports, planning, worker start-up, every
cache empty, the journal and the table included; modules read from bytecode compiled by an untimed
run first, as an installed package's are, even where PYTHONDONTWRITEBYTECODE is set), run
alternately for each worker count and checkout so that a busy machine slows all of them alike. Per
configuration it prints the best and median wall time, points per second of the best, the CPU
seconds of every process of the run together, and the CPU seconds of the busiest process (what the
wall time would be on an otherwise idle machine, start-up included): the machine is shared, so wall
times vary by tens of percent from run to run, CPU seconds much less.

Grids (MobileNetV2, `sram.undersized: stream`):
- `issue`: issue 14's sweep, 128 points: array shape (rows, cols ∈ {16, 64}) × dataflow (os, ws)
  × ifmap/weight SRAM (32–256 KiB) × DRAM bandwidth (4–32 B/cycle). Every array and SRAM size
  needs its own tilings (32 groups); the four bandwidths of each share them.
- `large`: the same axes with 4 × 4 array shapes, 512 points (128 tiling groups).
- `cheap`: one array and SRAM size, 256 DRAM bandwidths: every point after the first reuses the
  tilings, so the sweep's own per-point costs (chip building, records, journal) show.
- `analytic`: the issue grid asking only for metrics that need no memory model.
- `clock`: one array and SRAM size, 2 DRAM bandwidths × 4 MAC energies × 16 clocks, 128 points:
  the points of one bandwidth differ only in clock and energy, so their cycles are the same.

--instructions counts instead of timing (valgrind's cachegrind: the same from run to run within
a percent or so, however busy the machine): per grid and checkout, the instructions of the
start-up alone (`accel sweep --dry-run`: imports and planning), of a whole `--workers 1` run, and
of each process of a `--workers 2` run, with the serial run's count over the busiest process's
(what 2 workers would gain on an otherwise idle machine if no process ever waited). A forked
worker's count includes the sweep process's instructions before the fork (~580 M: cachegrind's
counters are copied with the process), as its timeline does: the "2 workers" sum counts them
twice.

Last, in one process per checkout (serial, planning excluded): the issue grid warm (run again
with every tiling cached, never the headline), the issue and large grids asking only for
analytic metrics, and the per-point cost of the `cheap` grid split into the model and the rest
(each the best of --repeat alternated runs).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

COMMON = """
chip: {name: speed, sram: {undersized: stream}}
networks: [mobilenet_v2]
"""
GRIDS = {
    "issue": """
name: issue
grid:
  array.rows: [16, 64]
  array.cols: [16, 64]
  array.dataflow: [os, ws]
  dram.bandwidth_bytes_per_cycle: [4, 8, 16, 32]
zip:
  sram.ifmap.size_kib: [32, 64, 128, 256]
  sram.weight.size_kib: [32, 64, 128, 256]
""",
    "large": """
name: large
grid:
  array.rows: [8, 16, 32, 64]
  array.cols: [16, 32, 64, 128]
  array.dataflow: [os, ws]
  dram.bandwidth_bytes_per_cycle: [4, 8, 16, 32]
zip:
  sram.ifmap.size_kib: [32, 64, 128, 256]
  sram.weight.size_kib: [32, 64, 128, 256]
""",
    "cheap": "name: cheap\ngrid:\n  array.rows: [32]\n  dram.bandwidth_bytes_per_cycle: ["
    + ", ".join(f"{4 + i / 8:g}" for i in range(256)) + "]\n",
}
GRIDS["clock"] = (
    "name: clock\ngrid:\n  array.rows: [32]\n  dram.bandwidth_bytes_per_cycle: [8, 16]\n"
    "  energy.mac_pj: [0.2, 0.3, 0.4, 0.5]\n  clock_mhz: ["
    + ", ".join(f"{250 + 50 * i}" for i in range(16)) + "]\n"
)
ANALYTIC = "metrics: [compute_cycles, macs, compulsory_dram_bytes, peak_footprint_bytes]\n"
GRIDS["analytic"] = GRIDS["issue"].replace("name: issue", "name: analytic") + ANALYTIC
# The console script's entry (`run`; `main` in checkouts from before it was added).
CLI = "import sys; from accel import cli; sys.argv[0] = 'accel'; getattr(cli, 'run', cli.main)()"
_PR_SET_CHILD_SUBREAPER = 36


def whole_process(
    checkout: Path, sweep: Path, out: Path, workers: int
) -> tuple[float, float, float]:
    """(wall s, CPU s of all processes, CPU s of the busiest) of one `accel sweep` process."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", CLI, "sweep", str(sweep), "--out", str(out),
               "--workers", str(workers), "--restart"]  # fmt: skip
    before = os.times()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=checkout, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    busiest = _poll_busiest(process)
    _, stderr = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"accel sweep failed in {checkout}:\n{stderr.decode()}")
    _reap_orphans()
    after = os.times()
    total = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, total, busiest


def _poll_busiest(process: subprocess.Popen[bytes]) -> float:
    """The most CPU seconds any one process of the run used (sampled every 20 ms; psutil)."""
    try:
        import psutil
    except ImportError:
        process.wait()
        return float("nan")
    seen: dict[int, float] = {}
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            for proc in (root, *root.children(recursive=True)):
                cpu = proc.cpu_times()
                seen[proc.pid] = cpu.user + cpu.system
        except psutil.Error:
            pass
        time.sleep(0.02)
    return max(seen.values(), default=float("nan"))


def _reap_orphans() -> None:
    """The forkserver outlives the sweep process; as subreaper this process inherits and waits
    for it, so its CPU time (and its workers') counts in `os.times().children_*`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def compare(
    grid: str, checkouts: list[Path], workers: list[int], repeat: int, scratch: Path
) -> None:
    sweep = scratch / f"{grid}.yaml"
    sweep.write_text(COMMON + GRIDS[grid])
    points = _point_count(sweep)
    runs: dict[tuple[Path, int], list[tuple[float, float, float]]] = {}
    for _ in range(repeat):  # alternate, so load changes hit every configuration alike
        for checkout in checkouts:
            for count in workers:
                out = scratch / f"{grid}-{len(runs)}"
                runs.setdefault((checkout, count), []).append(
                    whole_process(checkout, sweep, out, count)
                )
    print(f"\n{grid}: {points} points, whole process, {repeat} runs each "
          f"(load average {os.getloadavg()[0]:.1f} at the end)")  # fmt: skip
    print(f"  {'checkout':24s} {'workers':>7s} {'best s':>7s} {'median s':>8s} {'points/s':>8s} "
          f"{'CPU s':>6s} {'busiest CPU s':>13s} {'vs 1 worker':>11s}")  # fmt: skip
    for checkout in checkouts:
        serial = runs.get((checkout, 1))
        for count in workers:
            found = runs[(checkout, count)]
            walls = [wall for wall, _, _ in found]
            cpu = statistics.median(total for _, total, _ in found)
            busiest = statistics.median(top for _, _, top in found)
            ratio = ""
            if serial and count > 1:
                wall_ratio = statistics.median(w for w, _, _ in serial) / statistics.median(walls)
                cpu_ratio = statistics.median(t for _, t, _ in serial) / busiest
                ratio = f"{wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU"
            print(f"  {_label(checkout):24s} {count:7d} {min(walls):7.2f} "
                  f"{statistics.median(walls):8.2f} {points / min(walls):8.1f} {cpu:6.2f} "
                  f"{busiest:13.2f}  {ratio}")  # fmt: skip
    if any(count > 1 for count in workers):
        print("  (vs 1 worker: median wall of 1 worker / median wall of N; CPU: the serial run's "
              "CPU s / the N-worker run's busiest process)")


def instructions(checkout: Path, sweep: Path, out: Path, *options: str) -> list[int]:
    """Instructions each process of one `accel sweep` run executed, counted by valgrind's
    cachegrind (one BLAS thread, a fixed hash seed), the sweep's own process first."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}  # fmt: skip
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
               "--cachegrind-out-file=/dev/null", sys.executable, "-c", CLI, "sweep", str(sweep),
               "--out", str(out), "--restart", *options]  # fmt: skip
    run = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"accel sweep failed in {checkout}:\n{run.stderr}")
    found = re.findall(r"==(\d+)== I\s+refs:\s+([\d,]+)", run.stderr)
    counts = {int(pid): int(count.replace(",", "")) for pid, count in found}
    return [counts[pid] for pid in sorted(counts)]  # the sweep's process started first


def count(grid: str, checkouts: list[Path], scratch: Path) -> None:
    sweep = scratch / f"{grid}.yaml"
    sweep.write_text(COMMON + GRIDS[grid])
    print(f"\n{grid}: {_point_count(sweep)} points, instructions (millions, cachegrind)")
    print(f"  {'checkout':24s} {'start-up':>9s} {'1 worker':>9s} {'2 workers':>10s} "
          f"{'busiest':>9s} {'1 / busiest':>11s}")  # fmt: skip
    for checkout in checkouts:
        out = scratch / f"{grid}-count"
        startup = instructions(checkout, sweep, out, "--dry-run")[0]
        serial = sum(instructions(checkout, sweep, out, "--workers", "1"))
        processes = instructions(checkout, sweep, out, "--workers", "2")
        print(f"  {_label(checkout):24s} {startup / 1e6:9,.0f} {serial / 1e6:9,.0f} "
              f"{sum(processes) / 1e6:10,.0f} {max(processes) / 1e6:9,.0f} "
              f"{serial / max(processes):10.2f}x", flush=True)  # fmt: skip


def _label(checkout: Path) -> str:
    return "this checkout" if checkout == REPO else str(checkout)[-24:]


def _point_count(sweep: Path) -> int:
    from accel.sweep.plan import load_plan

    return len(load_plan(sweep).points)


def in_process(scratch: Path, repeat: int) -> None:
    """Warm figures and the cheap grid's per-point split, in this process (serial)."""
    from accel.simulation import simulate_network
    from accel.sweep.executors import SerialExecutor
    from accel.sweep.plan import load_plan
    from accel.sweep.runner import run_sweep

    sweep = scratch / "warm.yaml"
    sweep.write_text(COMMON + GRIDS["issue"])
    plan = load_plan(sweep)
    run_sweep(plan, scratch / "warm", SerialExecutor(), restart=True)
    gc.collect()  # each figure pays for its own garbage, not for an earlier one's
    start = time.process_time()
    run_sweep(plan, scratch / "warm", SerialExecutor(), restart=True)
    warm = time.process_time() - start
    print(f"in process, issue grid again with every tiling cached (warm): "
          f"{len(plan.points) / warm:,.0f} points per CPU second")  # fmt: skip
    for grid in ("issue", "large"):
        sweep.write_text(COMMON + GRIDS[grid] + ANALYTIC)
        plan = load_plan(sweep)
        gc.collect()
        start = time.process_time()
        run_sweep(plan, scratch / grid, SerialExecutor(), restart=True)
        rate = len(plan.points) / (time.process_time() - start)
        print(f"in process, {grid} grid ({len(plan.points)} points), analytic metrics only: "
              f"{rate:,.0f} points per CPU second")  # fmt: skip
    sweep.write_text(COMMON + GRIDS["cheap"])
    plan = load_plan(sweep)
    run_sweep(plan, scratch / "cheap", SerialExecutor(), restart=True)  # tilings cached
    network = plan.networks["mobilenet_v2"]
    wholes, models = [], []
    # The rest is a difference of two figures of ~6-13 ms that a shared machine's load moves
    # by more than the rest itself (0.7 then 2.3 ms in two runs a minute apart): each is the
    # best of `repeat` runs, alternated so that a change of load hits both alike.
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        run_sweep(plan, scratch / "cheap", SerialExecutor(), restart=True)
        wholes.append((time.process_time() - start) / len(plan.points) * 1000)
        chips = [plan.chip.with_values(dict(point.values)) for point in plan.points]
        gc.collect()
        start = time.process_time()
        for chip in chips:
            simulate_network(network, chip, 1).summary()
        models.append((time.process_time() - start) / len(plan.points) * 1000)
    whole, model = min(wholes), min(models)
    print(f"cheap grid, per point (tilings cached, best of {repeat}): {whole:.2f} ms CPU in the "
          f"sweep, of which the model (simulate_network + summary) {model:.2f} ms, the rest "
          f"{whole - model:.2f} ms (chip building, records, journal, table)")  # fmt: skip


def point_costs() -> None:
    """CPU ms of a MobileNetV2 point on a new array, a new SRAM size on a searched array, and a
    new DRAM bandwidth on a searched tiling: what `accel/sweep/schedule.py`'s costs estimate."""
    from accel.config import ChipConfig
    from accel.io.sources import load_network
    from accel.memory.model import clear_cache
    from accel.simulation import simulate_network

    network = load_network("mobilenet_v2")
    base = ChipConfig().with_values({"sram.undersized": "stream"})

    def cost(values: dict[str, object]) -> float:
        chip = base.with_values(values)
        start = time.process_time()
        simulate_network(network, chip, 1).summary()
        return (time.process_time() - start) * 1000

    found: dict[str, list[float]] = {"new array": [], "new SRAM size": [], "new bandwidth": []}
    for rows, cols in ((16, 16), (32, 32), (64, 64), (128, 128), (16, 128), (128, 16)):
        for dataflow in ("os", "ws"):
            clear_cache()
            array = {"array.rows": rows, "array.cols": cols, "array.dataflow": dataflow}
            found["new array"].append(cost({**array, "sram.ifmap.size_kib": 64}))
            found["new SRAM size"] += [cost({**array, "sram.ifmap.size_kib": kib})
                                       for kib in (32, 128, 256)]  # fmt: skip
            found["new bandwidth"] += [cost({**array, "sram.ifmap.size_kib": 64,
                                             "dram.bandwidth_bytes_per_cycle": bandwidth})
                                       for bandwidth in (4, 8, 32)]  # fmt: skip
    print("MobileNetV2 point, CPU ms, median (min-max) over 12 arrays:")
    for label, times in found.items():
        print(f"  {label:14s} {statistics.median(times):6.0f} ({min(times):.0f}-{max(times):.0f})")


def _cache_bytecode(checkouts: list[Path], scratch: Path) -> None:
    """Every process from here on reads compiled bytecode, as an installed package's would, even
    where PYTHONDONTWRITEBYTECODE is set (which would otherwise add every module's compilation,
    ~0.5 G instructions, to each run's start-up): the bytecode goes to a folder in `scratch`,
    written by one untimed sweep per checkout."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    sweep = scratch / "warm-up.yaml"
    sweep.write_text(COMMON + "name: warm-up\ngrid: {dram.bandwidth_bytes_per_cycle: [8, 16]}\n")
    for checkout in checkouts:
        whole_process(checkout, sweep, scratch / "warm-up", 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker count beside 1")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--grid", choices=[*GRIDS, "all"], action="append",
                        help="grid(s) to run (default: issue, cheap, analytic)")  # fmt: skip
    parser.add_argument("--checkout", type=Path, action="append", default=[],
                        help="another accel checkout to run side by side")  # fmt: skip
    parser.add_argument("--in-process", type=Path, metavar="CHECKOUT",
                        help="only the in-process figures, with accel from CHECKOUT")  # fmt: skip
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions (valgrind) instead of timing")  # fmt: skip
    parser.add_argument("--costs", action="store_true",
                        help="only the CPU ms of a new array, SRAM size, bandwidth")  # fmt: skip
    args = parser.parse_args()
    if args.costs:
        sys.path.insert(0, str(REPO))
        point_costs()
        return
    if args.in_process:
        sys.path.insert(0, str(args.in_process))
        with tempfile.TemporaryDirectory() as scratch:
            in_process(Path(scratch), args.repeat)
        return
    grids = args.grid or ["issue", "cheap", "analytic"]
    grids = list(GRIDS) if "all" in grids else grids
    sys.path.insert(0, str(REPO))
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    checkouts = [REPO, *(path.resolve() for path in args.checkout)]
    print(f"{os.cpu_count()} cores here, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as scratch:
        _cache_bytecode(checkouts, Path(scratch))
        for grid in grids:
            if args.instructions:
                count(grid, checkouts, Path(scratch))
            else:
                compare(grid, checkouts, [1, args.workers], args.repeat, Path(scratch))
    if args.instructions:
        return
    for checkout in checkouts:  # a fresh process each, importing that checkout's accel
        print(f"\n{_label(checkout)}:", flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        command = [sys.executable, __file__, "--in-process", str(checkout),
                   "--repeat", str(args.repeat)]  # fmt: skip
        subprocess.run(command, check=True, cwd=checkout, env=env)


if __name__ == "__main__":
    main()

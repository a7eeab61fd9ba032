"""How fast does a sweep run? A 1000-point MobileNetV2 sweep, serial and with local workers.

    python benchmarks/sweep_speed.py            # from the repo root
    python benchmarks/sweep_speed.py --workers 4

Prints the time of one simulate_network call, cold (every cache emptied first: a point that
shares nothing) and warm (the same point again: a point that shares everything), then points per
second for the whole sweep (planning excluded; worker start-up, journaling and the table
included) in this process and with a pool of local worker processes. Points of one array and
SRAM differ in DRAM bandwidth only, so they share tilings, as a real sweep's often do. Last, the
same sweep asking only for metrics that need no memory model (its analytic path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from accel.memory.model import clear_cache
from accel.simulation import simulate_network
from accel.sweep.executors import Executor, LocalExecutor, SerialExecutor
from accel.sweep.plan import SweepPlan, load_plan
from accel.sweep.runner import run_sweep

# 5 rows × 5 cols × 2 dataflows × 4 bandwidths × 5 SRAM sizes (zipped) = 1000 points
# Buffers of 16 KiB are too small for one fold of a 64×128 or 128×128 ws array's weights: those
# points stream their weights (sram.undersized: stream) rather than fail.
SWEEP = """
name: speed
chip: {name: speed, sram: {undersized: stream}}
networks: [mobilenet_v2]
grid:
  array.rows: [8, 16, 32, 64, 128]
  array.cols: [8, 16, 32, 64, 128]
  array.dataflow: [os, ws]
  dram.bandwidth_bytes_per_cycle: [4, 8, 16, 32]
zip:
  sram.ifmap.size_kib: [16, 32, 64, 128, 256]
  sram.weight.size_kib: [16, 32, 64, 128, 256]
"""


# The same sweep asking only for metrics that need no memory model (mapping and timing only).
ANALYTIC = "metrics: [compute_cycles, macs, compulsory_dram_bytes, peak_footprint_bytes]\n"


def per_point_ms(plan: SweepPlan, samples: int = 20) -> tuple[float, float]:
    """Median (cold, warm) milliseconds of one point's simulation."""
    network = plan.networks["mobilenet_v2"]
    cold, warm = [], []
    for point in plan.points[:: len(plan.points) // samples][:samples]:
        chip = plan.chip.with_values(dict(point.values))
        for times in (cold, warm):
            if times is cold:
                clear_cache()
            start = time.perf_counter()
            simulate_network(network, chip, point.batch).summary()
            times.append(time.perf_counter() - start)
    return statistics.median(cold) * 1000, statistics.median(warm) * 1000


def points_per_second(plan: SweepPlan, executor: Executor, folder: Path) -> float:
    start = time.perf_counter()
    outcome = run_sweep(plan, folder, executor, restart=True)
    elapsed = time.perf_counter() - start
    assert outcome.simulated == len(plan.points) and outcome.failed == 0
    return outcome.simulated / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    workers = parser.parse_args().workers
    with tempfile.TemporaryDirectory() as scratch:
        sweep = Path(scratch) / "speed.yaml"
        sweep.write_text(SWEEP)
        plan = load_plan(sweep)
        print(f"sweep: {len(plan.points)} points of mobilenet_v2 ({os.cpu_count()} cores here)")
        cold, warm = per_point_ms(plan)
        print(f"one simulate_network call: {cold:.1f} ms cold, {warm:.1f} ms warm (median of 20)")
        serial = points_per_second(plan, SerialExecutor(), Path(scratch) / "serial")
        print(f"serial (--workers 1): {serial:,.0f} points/s")
        local = points_per_second(plan, LocalExecutor(workers), Path(scratch) / "local")
        print(f"local (--workers {workers}): {local:,.0f} points/s ({local / serial:.2f}x serial)")
        sweep.write_text(SWEEP + ANALYTIC)
        plan = load_plan(sweep)
        serial = points_per_second(plan, SerialExecutor(), Path(scratch) / "a_serial")
        local = points_per_second(plan, LocalExecutor(workers), Path(scratch) / "a_local")
        print(f"analytic metrics only ({', '.join(plan.metrics)}): {serial:,.0f} points/s "
              f"serial, {local:,.0f} with --workers {workers}")


if __name__ == "__main__":
    main()

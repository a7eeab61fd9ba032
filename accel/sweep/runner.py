"""Running a planned sweep: skip the points the journal already has, simulate the rest on an
executor, journal each finished chunk, then write the results table sorted by point order.

A point that fails is journaled with its error and counted, never retried and never fatal. Rows
are ordered by the plan, not by completion, and hold no timing, so a table is byte-for-byte the
same whichever executor and however many workers produced it, and however often it was resumed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from accel.results import ANALYTIC_METRICS
from accel.sweep.evaluate import SweepContext
from accel.sweep.executors import Executor
from accel.sweep.plan import RESERVED_COLUMNS, Point, SweepPlan
from accel.sweep.schedule import chunk_points
from accel.sweep.store import Journal, write_table

ProgressCallback = Callable[[int, int, int], None]  # (points finished, total, failed)
_SYNC_S = 0.25  # points are counted done once fsynced, at most this long after they finish


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed, and built at import
# without compiling generated methods (Python 3.11 compiles a dataclass's at every start-up).
class SweepOutcome(NamedTuple):
    """What a run did: where the table is and how many points were reused, run and failed."""

    tables: tuple[Path, ...]
    points: int
    reused: int  # finished by an earlier, interrupted run
    simulated: int
    failed: int


def run_sweep(
    plan: SweepPlan,
    out_dir: Path,
    executor: Executor,
    on_progress: ProgressCallback | None = None,
    restart: bool = False,
) -> SweepOutcome:
    """Finish every point of `plan` in `out_dir` and write the table; resumable after a kill."""
    journal = Journal(out_dir)
    try:
        if restart:
            journal.clear()
        done = journal.read()
        pending = [point for point in plan.points if point.point_id not in done]
        total, reused = len(plan.points), len(plan.points) - len(pending)
        failed = sum(1 for p in plan.points if done.get(p.point_id, {}).get("status") == "error")
        report = on_progress or (lambda finished, total, failed: None)
        report(reused, total, failed)
        analytic = set(plan.metrics) <= ANALYTIC_METRICS
        context = SweepContext(plan.chip, plan.networks, analytic)
        layers = {label: len(network.layers) for label, network in plan.networks.items()}
        chunks = chunk_points(pending, layers, executor.parallelism, shared=not analytic)
        finished, synced = reused, time.monotonic()
        for records in executor.run(context, chunks):
            journal.append(records)
            for record in records:
                done[record["id"]] = record
                failed += record["status"] == "error"
            finished += len(records)
            if time.monotonic() - synced >= _SYNC_S:  # one fsync (~10 ms) per interval
                journal.sync()
                report(finished, total, failed)
                synced = time.monotonic()
        journal.sync()
        report(finished, total, failed)
        rows = [table_row(plan, point, done[point.point_id]) for point in plan.points]
        writer = getattr(executor, "table_writer", None)  # a worker may have it ready
        tables = write_table(out_dir, table_columns(plan), rows, _metadata(plan, failed), writer)
    finally:
        journal.close()
    return SweepOutcome(tuple(tables), total, reused, len(pending), failed)


def table_columns(plan: SweepPlan) -> list[str]:
    head, sizes, tail = RESERVED_COLUMNS[:4], RESERVED_COLUMNS[4:7], RESERVED_COLUMNS[7:]
    return [*head, *plan.axes, *sizes, *plan.metrics, *tail]


def table_row(plan: SweepPlan, point: Point, record: dict[str, Any]) -> dict[str, Any]:
    """One row: the point's inputs, its chip size, the kept metrics, and its status."""
    metrics = record.get("metrics", {})
    return {
        "point": point.index,
        "point_id": point.point_id,
        "network": point.network,
        "batch": point.batch,
        **dict(point.values),
        "pe_count": record.get("pe_count"),
        "sram_bytes": record.get("sram_bytes"),
        "area_mm2": record.get("area_mm2"),
        **{name: metrics.get(name) for name in plan.metrics},
        "status": record["status"],
        "error": record["error"] or None,  # empty in CSV, null in Parquet
    }


def _metadata(plan: SweepPlan, failed: int) -> dict[str, Any]:
    return {
        "name": plan.name,
        "chip": plan.chip.name,
        "networks": list(plan.networks),
        "axes": list(plan.axes),
        "metrics": list(plan.metrics),
        "metrics_chosen": plan.metrics_chosen,
        "points": len(plan.points),
        "failed": failed,
        "excluded_by_constraints": plan.excluded,
        "duplicates_dropped": plan.duplicates,
    }

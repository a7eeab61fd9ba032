"""`accel sweep SWEEP.yaml`: plan the sweep, run it with a progress bar, write the table.

Registered on the `accel` app by `accel.cli`; like the rest of the CLI it only parses options,
calls the library and prints what was written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from accel.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from accel.sweep.executors import Executor
    from accel.sweep.plan import SweepPlan
    from accel.sweep.runner import SweepOutcome


def sweep_command(
    sweep: Annotated[Path, typer.Argument(help="sweep YAML (see configs/sweeps/)")],
    out: Annotated[
        Path | None, typer.Option(help="output folder (default reports/sweeps/NAME)")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="local worker processes (default: all cores)")
    ] = os.cpu_count() or 1,
    executor: Annotated[
        Literal["local", "dask"], typer.Option(help="local processes or a Dask cluster")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    ] = None,
    restart: Annotated[
        bool, typer.Option(help="forget finished points and simulate all again")
    ] = False,
    report: Annotated[bool, typer.Option(help="also write report.html")] = False,
    dry_run: Annotated[
        bool, typer.Option(help="plan only: print the point count and a sample, simulate nothing")
    ] = False,
) -> None:
    """Simulate every point of a design-space sweep; resumable after any interruption.

    Example:

        accel sweep configs/sweeps/array_shapes.yaml --workers 2 --report
    """
    # Imported here, not at the top: `accel --help` registers this command without loading them.
    from rich.console import Console

    from accel.sweep.executors import DaskExecutor
    from accel.sweep.plan import load_plan
    from accel.sweep.runner import run_sweep

    # Local workers first: their server imports accel while this process plans the sweep.
    local = executor == "local" and not scheduler and not dry_run
    runner = _executor(executor, scheduler, workers) if local else None
    plan = load_plan(sweep)
    from accel.results import safe_name

    out_dir = out or Path("reports") / "sweeps" / safe_name(plan.name, "sweep")
    console = Console(stderr=True)
    console.print(
        f"[bold]{plan.name}[/bold]: {len(plan.points):,} points over {len(plan.networks)} "
        f"network(s), axes {', '.join(plan.axes) or '(none)'}"
        + (f"; {plan.excluded:,} excluded by constraints" if plan.excluded else "")
        + (f"; {plan.duplicates:,} duplicates dropped" if plan.duplicates else "")
    )
    if dry_run:
        _print_sample(console, plan)
        return
    runner = runner or _executor(executor, scheduler, workers)
    started = time.perf_counter()
    try:
        with _progress(console) as bar:
            task = bar.add_task("simulating", total=len(plan.points))

            def advance(finished: int, total: int, failed: int) -> None:
                label = f"simulating ({failed:,} failed)" if failed else "simulating"
                bar.update(task, completed=finished, total=total, description=label)

            outcome = run_sweep(plan, out_dir, runner, advance, restart)
    finally:
        if isinstance(runner, DaskExecutor):
            runner.close()
    _print_outcome(console, outcome, time.perf_counter() - started)
    if report:
        from accel.report.sweep_report import write_sweep_report

        console.print(f"  wrote {write_sweep_report(out_dir)}")


def _print_sample(console: Console, plan: SweepPlan, count: int = 5) -> None:
    """The first, last and evenly spread points of the plan, one line each."""
    points = plan.points
    picks = sorted({round(i * (len(points) - 1) / max(count - 1, 1)) for i in range(count)})
    for index in picks if points else []:
        point = points[index]
        values = ", ".join(f"{name}={value}" for name, value in point.values) or "(base chip)"
        console.print(f"  point {point.index}: {point.network}, batch {point.batch}: {values}")
    console.print(f"dry run: {len(points):,} points planned, none simulated")


def _executor(kind: str, scheduler: str | None, workers: int) -> Executor:
    from accel.sweep.executors import DaskExecutor, LocalExecutor, SerialExecutor

    if kind == "dask":
        if not scheduler:
            raise InputError("--scheduler must give the Dask scheduler address for --executor dask")
        return DaskExecutor(scheduler)
    if scheduler:
        raise InputError(f"--scheduler needs --executor dask, not {kind!r}")
    return SerialExecutor() if workers == 1 else LocalExecutor(workers)


def _progress(console: Console) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )


def _print_outcome(console: Console, outcome: SweepOutcome, seconds: float) -> None:
    rate = outcome.simulated / seconds if seconds > 0 else 0.0
    console.print(
        f"{outcome.points:,} points: {outcome.reused:,} from an earlier run, "
        f"{outcome.simulated:,} simulated in {seconds:.1f} s ({rate:,.1f} points/s), "
        f"{outcome.failed:,} failed"
    )
    for path in outcome.tables:
        console.print(f"  wrote {path}")

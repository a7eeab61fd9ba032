"""An `accel sweep SWEEP.yaml` run: plan the sweep, run it with a progress bar, write the table.

`accel.cli.sweep` registers the command's options on typer; a plain line (`sweep FILE` with
options written out, each once, `--scheduler` and help aside) is read here without typer
(`sweep_options`): typer's import and its option coercion (which builds pydantic validators)
cost ~0.12 s of CPU at the start of every sweep, before any worker has work. Whatever this
reader is not sure of it leaves to typer, so help, usage errors and their exit codes stay
typer's own; `tests/test_cli_sweep.py` checks that both read every line alike.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from accel.cli.argv import option_pairs, typer_acts_alone
from accel.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from accel.sweep.executors import Executor
    from accel.sweep.plan import SweepPlan
    from accel.sweep.runner import SweepOutcome

COMMAND = "sweep"
DEFAULT_WORKERS = os.cpu_count() or 1
MAX_WORKERS = 1 << 16  # a plain --workers larger than this is left to typer


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed, and built at import
# without compiling generated methods (Python 3.11 compiles a dataclass's at every start-up).
class SweepOptions(NamedTuple):
    """What an `accel sweep` line asks for (the command's options, see `accel.cli.sweep`)."""

    sweep: Path
    out: Path | None = None
    workers: int = DEFAULT_WORKERS
    executor: str = "local"
    scheduler: str | None = None
    restart: bool = False
    report: bool = False
    dry_run: bool = False


# Flags: command-line name → (field, value it sets).
_FLAGS = {
    "--restart": ("restart", True), "--no-restart": ("restart", False),
    "--report": ("report", True), "--no-report": ("report", False),
    "--dry-run": ("dry_run", True), "--no-dry-run": ("dry_run", False),
}  # fmt: skip
_VALUED = {"--out": "out", "--workers": "workers", "--executor": "executor"}
_EXECUTORS = ("local", "dask")


def sweep_options(args: list[str]) -> SweepOptions | None:
    """The options of a plain `sweep FILE ...` line (`args` without the program name), or None
    for anything else (another command, help, an error, `--scheduler`): typer's to read."""
    if args[:1] != [COMMAND] or typer_acts_alone():
        return None
    pairs = option_pairs(args[1:], _FLAGS, _VALUED)
    if pairs is None:
        return None
    values: dict[str, object] = {}
    for named, value in pairs:
        field = named or "sweep"  # the one positional argument: the sweep file
        if field in values:
            return None
        if field == "workers":
            if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
                return None
            values[field] = int(value)
        elif field == "executor":
            if value not in _EXECUTORS:
                return None
            values[field] = value
        elif field in ("sweep", "out"):
            values[field] = Path(value)
        else:
            values[field] = value  # a flag's bool
    if "sweep" not in values:
        return None
    return SweepOptions(**values)  # type: ignore[arg-type]


def sweep_run(options: SweepOptions) -> int:
    """Simulate every point of the sweep (or plan it only, `dry_run`); the exit code."""
    from accel.results import safe_name
    from accel.sweep.executors import DaskExecutor, LocalExecutor
    from accel.sweep.plan import load_plan
    from accel.sweep.runner import run_sweep

    kind, scheduler, workers = options.executor, options.scheduler, options.workers
    # Local workers first: their server imports accel while this process plans the sweep.
    local = kind == "local" and not scheduler and not options.dry_run
    runner = _executor(kind, scheduler, workers) if local else None
    plan = load_plan(options.sweep)
    out_dir = options.out or Path("reports") / "sweeps" / safe_name(plan.name, "sweep")
    display = _Display(plan)
    if options.dry_run:
        _print_sample(display.console(), plan)
        return 0
    runner = runner or _executor(kind, scheduler, workers)
    started = time.perf_counter()
    try:
        outcome = run_sweep(plan, out_dir, runner, display.report, options.restart)
    finally:
        display.close()
        if isinstance(runner, DaskExecutor):
            runner.close()
    _print_outcome(display.console(), outcome, time.perf_counter() - started)
    if isinstance(runner, LocalExecutor):
        runner.close()  # its workers exited while the table was written: reaped only now
    if options.report:
        from accel.report.sweep_report import write_sweep_report

        display.console().print(f"  wrote {write_sweep_report(out_dir)}")
    return 0


class _Display:
    """The sweep's first line and its progress bar, on stderr, shown from the second progress
    report on: the first comes before the workers have their first points, and loading rich
    (~0.06 s CPU) then would keep them waiting; from the second on, they simulate meanwhile."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.reports = 0
        self._console: Console | None = None
        self._bar: Progress | None = None

    def console(self) -> Console:
        """The console, with the sweep's first line printed."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
            _print_plan(self._console, self.plan)
        return self._console

    def report(self, finished: int, total: int, failed: int) -> None:
        self.reports += 1
        if self.reports == 1:
            return
        if self._bar is None:
            self._bar = _progress(self.console())
            self._bar.start()
            self._bar.add_task("simulating", total=total)
        label = f"simulating ({failed:,} failed)" if failed else "simulating"
        self._bar.update(self._bar.task_ids[0], completed=finished, total=total, description=label)

    def close(self) -> None:
        """Stop the bar; the first line is printed even if the run ended before any report."""
        self.console()
        if self._bar is not None:
            self._bar.stop()


def _print_plan(console: Console, plan: SweepPlan) -> None:
    console.print(
        f"[bold]{plan.name}[/bold]: {len(plan.points):,} points over {len(plan.networks)} "
        f"network(s), axes {', '.join(plan.axes) or '(none)'}"
        + (f"; {plan.excluded:,} excluded by constraints" if plan.excluded else "")
        + (f"; {plan.duplicates:,} duplicates dropped" if plan.duplicates else "")
    )


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

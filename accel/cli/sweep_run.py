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
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from accel.cli.argv import option_pairs, typer_acts_alone
from accel.errors import InputError

if TYPE_CHECKING:
    from accel.sweep.executors import Executor
    from accel.sweep.plan import SweepPlan
    from accel.sweep.runner import SweepOutcome

COMMAND = "sweep"
DEFAULT_WORKERS = os.cpu_count() or 1
MAX_WORKERS = 1 << 16  # a plain --workers larger than this is left to typer
_BAR_WIDTH = 40


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
        _print_sample(display, plan)
        return 0
    runner = runner or _executor(kind, scheduler, workers)
    started = time.perf_counter()
    try:
        outcome = run_sweep(plan, out_dir, runner, display.report, options.restart)
    finally:
        display.close()
        if isinstance(runner, DaskExecutor):
            runner.close()
    _print_outcome(display, outcome, time.perf_counter() - started)
    if isinstance(runner, LocalExecutor):
        runner.close()  # its workers exited while the table was written: reaped only now
    if options.report:
        from accel.report.sweep_report import write_sweep_report

        display.line(f"  wrote {write_sweep_report(out_dir)}")
    return 0


class _Display:
    """The sweep's first line and, on a terminal, a progress bar redrawn in place; on stderr.

    Plain text, not rich: the sweep's own process simulates points too, and rich (its import
    ~115 M instructions, its live bar with its refresh thread, its console) cost that process
    ~235 M instructions of a 2-worker issue-grid run, on the sweep's critical path. Elsewhere
    (a pipe, a log file) no bar: the last line says it all."""

    def __init__(self, plan: SweepPlan, stream: TextIO | None = None) -> None:
        self.plan = plan
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.first: int | None = None  # points already done at the first report
        self._planned = False
        self._bar = False

    def line(self, text: str) -> None:
        """Print a line (after the sweep's first line, and below the bar)."""
        self._show_plan()
        if self._bar:
            self.stream.write("\n")
            self._bar = False
        print(text, file=self.stream, flush=True)

    def report(self, finished: int, total: int, failed: int) -> None:
        self._show_plan()
        if self.first is None:
            self.first = finished
        if not self.terminal:
            return
        label = f"simulating ({failed:,} failed)" if failed else "simulating"
        elapsed = time.monotonic() - self.started
        run = finished - self.first
        # The bar fits the terminal: a longer line would wrap, and each redraw add a line.
        room = shutil.get_terminal_size().columns - 1 - len(
            progress_line(label, finished, total, elapsed, run, width=0)
        )
        text = progress_line(label, finished, total, elapsed, run, max(0, min(room, _BAR_WIDTH)))
        self.stream.write(f"\r{text}\x1b[K")
        self.stream.flush()
        self._bar = True

    def close(self) -> None:
        """End the bar's line; the first line is printed even if the run ended before any
        report."""
        self._show_plan()
        if self._bar:
            self.stream.write("\n")
            self.stream.flush()
            self._bar = False

    def _show_plan(self) -> None:
        if not self._planned:
            self._planned = True
            print(_plan_line(self.plan), file=self.stream, flush=True)


def progress_line(
    label: str, finished: int, total: int, elapsed: float, run: int, width: int = _BAR_WIDTH
) -> str:
    """`simulating ━━━━━━━━━━      64/128  50% elapsed 0:00:02 ETA 0:00:02`: the bar, points done
    of all, the elapsed time, and the time left at this run's rate (`run` points done by it:
    unknown before its first); the bar `width` characters wide."""
    fraction = finished / total if total else 1.0
    filled = round(fraction * width)
    bar = "━" * filled + " " * (width - filled)
    left = 0.0 if finished >= total else (total - finished) * elapsed / run if run > 0 else None
    eta = _clock(left) if left is not None else "-:--:--"
    return (f"{label} {bar} {finished:,}/{total:,} {fraction:4.0%} elapsed {_clock(elapsed)} "
            f"ETA {eta}")  # fmt: skip


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _plan_line(plan: SweepPlan) -> str:
    return (
        f"{plan.name}: {len(plan.points):,} points over {len(plan.networks)} network(s), "
        f"axes {', '.join(plan.axes) or '(none)'}"
        + (f"; {plan.excluded:,} excluded by constraints" if plan.excluded else "")
        + (f"; {plan.duplicates:,} duplicates dropped" if plan.duplicates else "")
    )


def _print_sample(display: _Display, plan: SweepPlan, count: int = 5) -> None:
    """The first, last and evenly spread points of the plan, one line each."""
    points = plan.points
    picks = sorted({round(i * (len(points) - 1) / max(count - 1, 1)) for i in range(count)})
    for index in picks if points else []:
        point = points[index]
        values = ", ".join(f"{name}={value}" for name, value in point.values) or "(base chip)"
        display.line(f"  point {point.index}: {point.network}, batch {point.batch}: {values}")
    display.line(f"dry run: {len(points):,} points planned, none simulated")


def _executor(kind: str, scheduler: str | None, workers: int) -> Executor:
    from accel.sweep.executors import DaskExecutor, LocalExecutor, SerialExecutor

    if kind == "dask":
        if not scheduler:
            raise InputError("--scheduler must give the Dask scheduler address for --executor dask")
        return DaskExecutor(scheduler)
    if scheduler:
        raise InputError(f"--scheduler needs --executor dask, not {kind!r}")
    return SerialExecutor() if workers == 1 else LocalExecutor(workers)


def _print_outcome(display: _Display, outcome: SweepOutcome, seconds: float) -> None:
    rate = outcome.simulated / seconds if seconds > 0 else 0.0
    display.line(
        f"{outcome.points:,} points: {outcome.reused:,} from an earlier run, "
        f"{outcome.simulated:,} simulated in {seconds:.1f} s ({rate:,.1f} points/s), "
        f"{outcome.failed:,} failed"
    )
    for path in outcome.tables:
        display.line(f"  wrote {path}")

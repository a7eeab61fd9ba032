"""`accel sweep SWEEP.yaml`: the command's options on typer; the run is `accel.cli.sweep_run`.

Registered on the `accel` app by `accel.cli`; like the rest of the CLI it only parses options,
calls the library and prints what was written. A plain line skips typer (`sweep_options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from accel.cli.sweep_run import DEFAULT_WORKERS, SweepOptions, sweep_run


def sweep_command(
    sweep: Annotated[Path, typer.Argument(help="sweep YAML (see configs/sweeps/)")],
    out: Annotated[
        Path | None, typer.Option(help="output folder (default reports/sweeps/NAME)")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="local worker processes (default: all cores)")
    ] = DEFAULT_WORKERS,
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
    options = SweepOptions(sweep, out, workers, executor, scheduler, restart, report, dry_run)
    sweep_run(options)

"""`accel report PATH`: the HTML report of a simulation folder or of a sweep's results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    path: Annotated[
        Path,
        typer.Argument(help="simulate-network output folder, sweep folder, or results table"),
    ],
    out: Annotated[
        Path | None, typer.Option(help="HTML file (default: report.html beside)")
    ] = None,
) -> None:
    """Write a self-contained HTML report (opens offline) of a run or a sweep.

    Example:

        accel report reports/mobilenet_v2

        accel report reports/sweeps/array_shapes
    """
    from rich.console import Console

    from accel.report.write import write_report

    written = write_report(path, out)
    Console().print(f"wrote {written}")

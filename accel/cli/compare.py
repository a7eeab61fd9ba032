"""`accel compare -n NETWORK CHIP_A CHIP_B ...`: one network on several chips, side by side.

Registered on the `accel` app by `accel.cli`. Totals per chip with the ratio to the first
chip, then each layer's total cycles per chip; `--json` prints the same as one JSON object,
`--report` writes the comparison page (`accel.report.compare_report`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from accel.errors import InputError


def compare_command(
    chips: Annotated[
        list[str], typer.Argument(help="two or more chips: built-in names, YAML or .cfg files")
    ],
    network: Annotated[
        str, typer.Option("--network", "-n", help="built-in name (see `accel networks`) or a file")
    ],
    batch: Annotated[int, typer.Option(min=1, max=4096, help="images per inference")] = 1,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="network parameter, e.g. alpha=0.5")
    ] = None,
    layers: Annotated[bool, typer.Option(help="also print each layer's cycles per chip")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
    report: Annotated[
        bool,
        typer.Option(help="also write an HTML comparison page (default "
                          "reports/compare_NET/report.html, with parameters and batch)"),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="where the page goes: a .html file, else a folder for report.html; "
                          "implies --report"),
    ] = None,
) -> None:
    """Simulate one network on several chips and compare them side by side.

    Examples:

        accel compare -n mobilenet_v2 default eyeriss_like tpu_v1_like

        accel compare -n resnet18 default eyeriss_like --report
    """
    from accel.io.sources import load_chip, load_network, parse_params
    from accel.report.compare_report import compare, write_compare_report
    from accel.simulation import simulate_network

    if len(chips) < 2:
        raise InputError(f"compare needs at least two chips, not {len(chips)}")
    params = parse_params(param or [])
    net = load_network(network, params)
    path = _report_path(out, net.name, params, batch) if report or out is not None else None
    results = {_label(chip, seen): simulate_network(net, load_chip(chip), batch)
               for seen, chip in enumerate(chips)}  # fmt: skip
    comparison = compare(results)
    if as_json:
        print(json.dumps(comparison, indent=2))
    else:
        _print(comparison, layers)
    if path is not None:
        written = write_compare_report(comparison, path)
        if not as_json:
            print(f"wrote {written}")


def _label(chip: str, index: int) -> str:
    """A column name for the chip as given: a file's stem, a built-in name; numbered if seen."""
    return f"{index + 1}:{Path(chip).stem}"


def _report_path(out: Path | None, name: str, params: dict[str, float | int], batch: int) -> Path:
    """--out as given (a .html file, or a folder for report.html), else
    reports/compare_NET/report.html, the folder named like simulate-network's (parameters and a
    batch above 1 in its name)."""
    from accel.results import variant_name

    if out is not None and out.suffix.lower() == ".html":
        return out
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(f"--out must be a .html file or a folder, not the existing file "
                         f"{str(out)!r}")  # fmt: skip
    folder = out if out is not None else Path("reports") / variant_name(f"compare_{name}", params,
                                                                       batch)  # fmt: skip
    return folder / "report.html"


def _print(comparison: dict[str, Any], layers: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from accel.report.compare_report import TOTALS

    console = Console(width=None if sys.stdout.isatty() else 150)
    labels = list(comparison["chips"])
    table = Table(title=f"{comparison['network']} (batch {comparison['batch']}) on "
                        f"{len(labels)} chips; × = ratio to {labels[0]}")  # fmt: skip
    table.add_column("")
    for label in labels:
        table.add_column(label, justify="right")
    for key, title, form in TOTALS:
        cells = []
        for label in labels:
            value = comparison["totals"][label][key]
            ratio = comparison["ratio_to_first"][label][key]
            suffix = f" ({ratio:.2f}×)" if ratio is not None and label != labels[0] else ""
            cells.append(form.format(value) + suffix)
        table.add_row(title, *cells)
    console.print(table)
    if not layers:
        return
    detail = Table(title="total cycles per layer")
    detail.add_column("layer")
    for label in labels:
        detail.add_column(label, justify="right")
    for row in comparison["layers"]:
        base = row["cycles"][labels[0]]
        cells = [f"{row['cycles'][labels[0]]:,}"] + [
            f"{row['cycles'][label]:,}" + (f" ({row['cycles'][label] / base:.2f}×)" if base else "")
            for label in labels[1:]
        ]
        detail.add_row(row["layer"], *cells)
    console.print(detail)

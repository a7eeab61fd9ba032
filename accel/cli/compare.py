"""`accel compare -n NETWORK CHIP_A CHIP_B ...`: one network on several chips, side by side.

Registered on the `accel` app by `accel.cli`. Totals per chip with the ratio to the first
chip, then each layer's total cycles per chip; `--json` prints the same as one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from accel.errors import InputError

if TYPE_CHECKING:
    from accel.results import NetworkResult

# (summary key, label, format) of the totals compared.
_TOTALS = (
    ("total_cycles", "total cycles", "{:,}"),
    ("stall_cycles", "stall cycles", "{:,}"),
    ("utilization", "utilization", "{:.1%}"),
    ("latency_ms", "latency ms", "{:,.3f}"),
    ("energy_uj", "energy µJ", "{:,.1f}"),
    ("dram_bytes", "DRAM bytes", "{:,}"),
)


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
) -> None:
    """Simulate one network on several chips and compare them side by side.

    Example:

        accel compare -n mobilenet_v2 default eyeriss_like tpu_v1_like
    """
    from accel.io.sources import load_chip, load_network, parse_params
    from accel.simulation import simulate_network

    if len(chips) < 2:
        raise InputError(f"compare needs at least two chips, not {len(chips)}")
    net = load_network(network, parse_params(param or []))
    results = {_label(chip, seen): simulate_network(net, load_chip(chip), batch)
               for seen, chip in enumerate(chips)}  # fmt: skip
    comparison = compare(results)
    if as_json:
        print(json.dumps(comparison, indent=2))
        return
    _print(comparison, layers)


def _label(chip: str, index: int) -> str:
    """A column name for the chip as given: a file's stem, a built-in name; numbered if seen."""
    return f"{index + 1}:{Path(chip).stem}"


def compare(results: dict[str, NetworkResult]) -> dict[str, Any]:
    """The totals of each chip, their ratios to the first chip's, and each layer's cycles."""
    labels = list(results)
    summaries = {label: result.summary() for label, result in results.items()}
    for summary in summaries.values():
        summary["dram_bytes"] = summary["dram_read_bytes"] + summary["dram_write_bytes"]
    first = summaries[labels[0]]
    totals = {label: {key: summary[key] for key, _, _ in _TOTALS}
              for label, summary in summaries.items()}  # fmt: skip
    ratios = {
        label: {key: (summary[key] / first[key] if first[key] else None) for key, _, _ in _TOTALS}
        for label, summary in summaries.items()
    }
    per_layer = [
        {"layer": rows[0].name,
         "cycles": {label: row.total_cycles for label, row in zip(labels, rows, strict=True)}}
        for rows in zip(*(results[label].layers for label in labels), strict=True)
    ]  # fmt: skip
    return {
        "network": first["network"],
        "batch": first["batch"],
        "chips": {label: summaries[label]["chip"] for label in labels},
        "totals": totals,
        "ratio_to_first": ratios,
        "layers": per_layer,
    }


def _print(comparison: dict[str, Any], layers: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 150)
    labels = list(comparison["chips"])
    table = Table(title=f"{comparison['network']} (batch {comparison['batch']}) on "
                        f"{len(labels)} chips; × = ratio to {labels[0]}")  # fmt: skip
    table.add_column("")
    for label in labels:
        table.add_column(label, justify="right")
    for key, title, form in _TOTALS:
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

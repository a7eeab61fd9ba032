"""The `accel` command line: parse arguments, call the library, write files, set the exit code.

Exit codes: 0 success, 2 bad input (one line on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_chip, load_network, parse_params, zoo_names
from accel.io.workload_yaml import parse_workload
from accel.io.yaml_errors import load_yaml_mapping
from accel.results import NetworkResult, write_results
from accel.simulate import simulate_network

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Simulate CNNs on accelerator chips: cycles, memory traffic, energy, int8 outputs.",
)
console = Console(width=None if sys.stdout.isatty() else 150)

NetworkOption = Annotated[
    str, typer.Option("--network", "-n", help="built-in name (see `accel networks`) or a file")
]
ChipOption = Annotated[
    Path | None,
    typer.Option("--chip", "-c", help="chip YAML or SCALE-Sim .cfg (default: embedded)"),
]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="network parameter, e.g. alpha=0.5")
]


@app.command("simulate-network")
def simulate_network_command(
    network: NetworkOption,
    chip: ChipOption = None,
    batch: Annotated[int, typer.Option(min=1, help="images per inference")] = 1,
    param: ParamOption = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default reports/NET)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no per-layer table")] = False,
) -> None:
    """Simulate every layer of a network on a chip; write layers.csv and summary.json.

    Example:

        accel simulate-network -n mobilenet_v1 --param alpha=0.5 --chip eyeriss_like
    """
    chip_config = load_chip(chip)
    net = load_network(network, parse_params(param or []))
    result = simulate_network(net, chip_config, batch)
    out_dir = out or Path("reports") / net.name
    write_results(result, out_dir)
    if not quiet:
        console.print(_layer_table(result))
    _print_summary(result, out_dir)


@app.command("networks")
def networks_command() -> None:
    """List the built-in networks with their parameters, MACs and layer counts."""
    table = Table(title="built-in networks (224×224 unless noted, batch 1)")
    for column in ("name", "input", "layers", "params", "MACs"):
        table.add_column(column, justify="left" if column in ("name", "input") else "right")
    for name in zoo_names():
        net = load_network(name)
        table.add_row(
            name, str(net.input_shape), str(len(net)), f"{net.params:,}", f"{net.macs / 1e6:,.1f} M"
        )
    console.print(table)


@app.command("validate")
def validate_command(
    file: Annotated[Path, typer.Argument(help="chip YAML, SCALE-Sim .cfg or workload YAML")],
) -> None:
    """Check a chip or workload file; print OK or a one-line error (exit 2)."""
    if file.suffix.lower() == ".cfg":
        load_chip(file)
    else:
        data = load_yaml_mapping(file, "config")
        if "layers" in data:
            net = parse_workload(data, str(file), {})
            console.print(f"OK: workload {net.name}, {len(net)} layers, {net.params:,} params")
            return
        ChipConfig.from_dict(data, str(file))
    console.print(f"OK: chip config {file}")


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of chip configs (for editor completion and validation)."""
    print(json.dumps(ChipConfig.model_json_schema(), indent=2))


def _layer_table(result: NetworkResult) -> Table:
    table = Table(title=f"{result.network} on {result.chip.name} (batch {result.batch})")
    columns = (
        "layer",
        "kind",
        "unit",
        "M",
        "K",
        "N",
        "MACs",
        "compute",
        "stall",
        "bound",
        "util",
        "DRAM KiB",
        "energy µJ",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:3] else "right")
    for row in result.rows():
        dram = (
            row["dram_ifmap_bytes"]
            + row["dram_weight_bytes"]
            + row["dram_ofmap_write_bytes"]
            + row["dram_ofmap_read_bytes"]
        ) / 1024
        table.add_row(
            row["layer"],
            row["kind"],
            row["unit"],
            str(row["M"]),
            str(row["K"]),
            str(row["N"]),
            f"{row['macs']:,}",
            f"{row['compute_cycles']:,}",
            f"{row['stall_cycles']:,}",
            row["bound"],
            f"{row['utilization']:.1%}",
            f"{dram:,.1f}",
            f"{row['energy_pj'] / 1e6:,.2f}",
        )
    return table


def _print_summary(result: NetworkResult, out_dir: Path) -> None:
    s = result.summary()
    console.print(
        f"[bold]{s['network']}[/bold] on [bold]{s['chip']}[/bold] ({s['array']}, "
        f"{s['clock_mhz']:g} MHz), batch {s['batch']}: {s['layers']} layers, "
        f"{s['params']:,} params, {s['macs']:,} MACs\n"
        f"  cycles {s['total_cycles']:,} (compute {s['compute_cycles']:,}, stall "
        f"{s['stall_cycles']:,}), utilization {s['utilization']:.1%}\n"
        f"  latency {s['latency_ms']:.3f} ms, {s['fps']:,.1f} fps, "
        f"energy {s['energy_uj']:,.1f} µJ, "
        f"DRAM read {s['dram_read_bytes'] / 2**20:,.2f} MiB, write "
        f"{s['dram_write_bytes'] / 2**20:,.2f} MiB\n"
        f"  wrote {out_dir / 'layers.csv'} and {out_dir / 'summary.json'}"
    )


def main() -> None:
    """Entry point of the `accel` console script."""
    try:
        app()  # standalone: usage errors print themselves and exit 2
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)

"""The small `accel` commands: `export` a network, list the built-in `networks`, `validate` a
file, print the chip `schema` (registered on the app by `accel.cli.typer_app`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from accel.cli.output import console
from accel.errors import InputError

NetworkOption = Annotated[
    str, typer.Option("--network", "-n", help="built-in name (see `accel networks`) or a file")
]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="network parameter, e.g. alpha=0.5")
]


def export_command(
    network: NetworkOption,
    format: Annotated[str, typer.Option("--format", "-f", help="onnx, scalesim-csv or yaml")],
    out: Annotated[Path | None, typer.Option(help="output file (default NET.onnx/stdout)")] = None,
    param: ParamOption = None,
    seed: Annotated[int, typer.Option(help="seed of the random float weights (onnx)")] = 0,
    quantized: Annotated[bool, typer.Option(help="calibrated int8 QOperator model")] = False,
) -> None:
    """Write a network as an ONNX model, a SCALE-Sim topology CSV or a workload YAML.

    Example:

        accel export -n resnet18 --format scalesim-csv --out resnet18.csv
    """
    from accel.io.export import export_network
    from accel.io.sources import load_network, parse_params

    net = load_network(network, parse_params(param or []))
    data = export_network(net, format, seed, quantized)
    if out is None and format == "onnx":
        out = Path(f"{net.name}.onnx")
    if out is None:
        sys.stdout.write(data.decode())
        return
    out.write_bytes(data)
    console().print(f"wrote {out} ({format}, {len(net)} layers)")


def networks_command() -> None:
    """List the built-in networks with their parameters, MACs and layer counts."""
    from rich.table import Table

    from accel.io.sources import load_network, zoo_names

    table = Table(title="built-in networks (224×224 unless noted, batch 1)")
    for column in ("name", "input", "layers", "params", "MACs"):
        table.add_column(column, justify="left" if column in ("name", "input") else "right")
    for name in zoo_names():
        net = load_network(name)
        table.add_row(
            name, str(net.input_shape), str(len(net)), f"{net.params:,}", f"{net.macs / 1e6:,.1f} M"
        )
    console().print(table)


# Keys only a sweep file has (a chip has array/sram/dram, a workload has layers).
_SWEEP_KEYS = frozenset(("networks", "grid", "zip", "random", "constraints", "metrics"))


def validate_command(
    file: Annotated[
        Path, typer.Argument(help="chip YAML, SCALE-Sim .cfg, workload YAML or sweep YAML")
    ],
) -> None:
    """Check a chip, workload or sweep file; print OK or a one-line error (exit 2)."""
    from accel.config import ChipConfig
    from accel.io.sources import load_chip
    from accel.io.workload_yaml import parse_workload
    from accel.user_input import load_yaml_mapping

    try:
        if file.suffix.lower() == ".cfg":
            load_chip(file)
        else:
            data = load_yaml_mapping(file, "config")
            if "layers" in data:
                net = parse_workload(data, str(file), {})
                console().print(f"OK: workload {net.name}, {len(net)} layers, "
                                 f"{net.params:,} params")
                return
            if _SWEEP_KEYS & data.keys():
                from accel.sweep.plan import load_plan

                plan = load_plan(file)
                console().print(f"OK: sweep {plan.name}, {len(plan.points):,} points over "
                                 f"{len(plan.networks)} network(s)")
                return
            ChipConfig.from_dict(data, str(file))
    except InputError as err:  # every problem, one line each
        for line in err.all_errors:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    console().print(f"OK: chip config {file}")


def schema_command() -> None:
    """Print the JSON Schema of chip configs (for editor completion and validation)."""
    from accel.config import ChipConfig

    print(json.dumps(ChipConfig.model_json_schema(), indent=2))

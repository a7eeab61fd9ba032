"""The typer application behind `accel`: every command with its options, help and usage errors.

Commands are registered in the order `accel --help` lists them.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Annotated

import typer

from accel.cli.commands import (
    NetworkOption,
    ParamOption,
    export_command,
    networks_command,
    schema_command,
    validate_command,
)
from accel.cli.compare import compare_command
from accel.cli.explain import explain_command
from accel.cli.report import report_command
from accel.cli.simulate import SimulateOptions, simulate_network_run
from accel.cli.sweep import sweep_command

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Simulate CNNs on accelerator chips: cycles, memory traffic, energy, int8 outputs.",
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from accel.version import DISTRIBUTION, version

        print(f"accel {version()} (distribution {DISTRIBUTION}, Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="print the version and exit"),
    ] = False,
) -> None:
    """Simulate CNNs on accelerator chips: cycles, memory traffic, energy, int8 outputs."""


ChipOption = Annotated[
    Path | None,
    typer.Option("--chip", "-c", help="chip YAML or SCALE-Sim .cfg (default: embedded)"),
]
InputShapeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input-shape",
        help="fix a model input's dims, e.g. 1x3x224x224 or data=1x3x224x224 (.onnx/.tflite)",
    ),
]

CheckOption = Annotated[
    bool, typer.Option(help="compute the int8 outputs and check every layer bit for bit")
]
InputsOption = Annotated[
    Path | None, typer.Option(help="input images (.npy NCHW float32 or int8 codes; .npz)")
]
DumpOption = Annotated[Path | None, typer.Option(help="write every layer's int8 output here")]


@app.command("simulate-network")
def simulate_network_command(
    network: NetworkOption,
    chip: ChipOption = None,
    batch: Annotated[int, typer.Option(min=1, max=4096, help="images per inference")] = 1,
    param: ParamOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="output folder (default reports/NET, with parameters and batch, "
                          "e.g. reports/mobilenet_v1_alpha=0.5_batch8)"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no per-layer table")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print summary.json on stdout instead of the tables")
    ] = False,
    columns: Annotated[
        list[str] | None,
        typer.Option(help="table columns to show, e.g. compute,stall,util (default: all that "
                          "fit the terminal)"),
    ] = None,
    timeline: Annotated[
        Path | None,
        typer.Option(help="write the run's event timeline (DMA loads, compute steps, write-backs "
                          "per layer) as Chrome trace-event JSON for Perfetto / chrome://tracing"),
    ] = None,
    input_shape: InputShapeOption = None,
    allow_unsupported: Annotated[
        bool,
        typer.Option(help="cost unsupported model operators as zero and list them in the report"),
    ] = False,
    report: Annotated[bool, typer.Option(help="also write report.html (opens offline)")] = False,
    report_timeline: Annotated[
        str | None,
        typer.Option(help="layers the report's timeline chart shows: FIRST[:LAST], names or "
                          "positions from 0 (default: the busiest layer); implies --report"),
    ] = None,
    check: CheckOption = False,
    inputs: InputsOption = None,
    dump: DumpOption = None,
    training: Annotated[
        bool,
        typer.Option("--training", help="simulate one training step (forward, loss, backward, "
                                        "optimizer update) at the chip's precision"),
    ] = False,
    optimizer: Annotated[
        str, typer.Option(help="the training step's optimizer: sgd (with momentum) or adam")
    ] = "sgd",
    residency: Annotated[
        str | None,
        typer.Option(help="keep activations on chip between layers where they fit: on or off "
                          "(default: the chip's memory.activation_residency)"),
    ] = None,
    fusion: Annotated[
        str | None,
        typer.Option(help="fuse chains of layers depth-first: auto or off (default: the chip's "
                          "memory.fusion)"),
    ] = None,
) -> None:
    """Simulate every layer of a network on a chip; write layers.csv and summary.json.

    With --check, --inputs or --dump the int8 outputs are computed too: a quantized model file
    runs its own int8 weights and scales and --check compares with onnxruntime running the file
    (default session options); otherwise weights (the file's float weights, or seeded ones) are
    calibrated and --check compares every layer with onnxruntime (or TFLite's reference kernels
    when the chip's requantization is tflite). A mismatch exits 1.

    Examples:

        accel simulate-network -n mobilenet_v1 --param alpha=0.5 --chip eyeriss_like

        accel simulate-network -n resnet50.onnx --input-shape data=1x3x224x224

        accel simulate-network -n vgg16 --check

        accel simulate-network -n model_int8.onnx --check --inputs images.npy

        accel simulate-network -n resnet18 --training --optimizer adam --batch 8 -c bf16.yaml

        accel simulate-network -n mobilenet_v2 --fusion auto --residency on
    """
    code = simulate_network_run(SimulateOptions(
        network=network, chip=chip, batch=batch, param=tuple(param or ()), out=out, quiet=quiet,
        as_json=as_json, columns=tuple(columns or ()), timeline=timeline,
        input_shape=tuple(input_shape or ()), allow_unsupported=allow_unsupported, report=report,
        report_timeline=report_timeline, check=check, inputs=inputs, dump=dump,
        training=training, optimizer=optimizer, residency=residency, fusion=fusion,
    ))  # fmt: skip
    if code:
        raise typer.Exit(code)


app.command("sweep")(sweep_command)
app.command("compare")(compare_command)
app.command("explain")(explain_command)
app.command("report")(report_command)
app.command("export")(export_command)
app.command("networks")(networks_command)
app.command("validate")(validate_command)
app.command("schema")(schema_command)


def _only_the_command(args: list[str]) -> typer.Typer:
    """`app` with only the command named first on the line, if any: typer builds the options of
    every registered command before it parses, and one is all a run needs (its help, usage and
    errors are the same; anything else, `--help` or `--version` first, gets the whole app)."""
    chosen = [command for command in app.registered_commands if args[:1] == [command.name]]
    if not chosen:
        return app
    single = copy.copy(app)
    single.registered_commands = chosen
    return single


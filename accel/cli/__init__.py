"""The `accel` command line: parse arguments, call the library, write files, set the exit code.

Exit codes: 0 success, 2 bad input (one line on stderr, no traceback), 1 internal error.

Each command imports the library modules it uses when it runs, so `accel --help` or
`accel report` never load numpy, pydantic or the int8 engine, and `simulate-network` without
`--check` never loads the functional stack (`python benchmarks/cli_startup.py` times it).
"""

from __future__ import annotations

import copy
import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from accel.cli.compare import compare_command
from accel.cli.explain import explain_command
from accel.cli.report import report_command
from accel.cli.sweep import sweep_command
from accel.errors import InputError, closest

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from accel.config import ChipConfig
    from accel.io.imported import ImportedModel
    from accel.model.network import Network
    from accel.model.training import Optimizer
    from accel.results import NetworkResult
    from accel.simulation import FunctionalResult, Progress

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


@cache
def _console() -> Console:
    import os

    from rich.console import Console

    columns = os.environ.get("COLUMNS", "")
    fixed = int(columns) if columns.isdigit() and int(columns) >= 40 else 150
    return Console(width=None if sys.stdout.isatty() else fixed)


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
    """
    from dataclasses import replace

    from accel.io.sources import load_chip, load_source, parse_params
    from accel.results import write_results
    from accel.simulation import simulate_network

    chip_config = load_chip(chip)
    params = parse_params(param or [])
    net, model = load_source(network, params, input_shape or [], allow_unsupported)
    timeline_layers = _timeline_layers(net, report_timeline)
    if training:
        _require_training_options(optimizer, check or inputs is not None or dump is not None)
    if check or inputs is not None or dump is not None:
        from accel.functional.memory_budget import require_memory
        from accel.simulation import require_int8

        require_int8(chip_config)  # refused at once, before anything is simulated
        require_memory(net, batch)  # refused at once, before the cost model runs the batch
    if training:
        from accel.simulation import simulate_training

        result = simulate_training(net, chip_config, batch, _optimizer(optimizer))
    else:
        result = simulate_network(net, chip_config, batch)
    functional = None
    if check or inputs is not None or dump is not None:
        what = "computing the int8 outputs" + (" and checking every layer" if check else "")
        with _working(what) as progress:
            functional = _run_functional(net, chip_config, batch, model, check, inputs, dump,
                                         result, progress)  # fmt: skip
        result = replace(result, functional=functional.summary())
    out_dir = out or _default_out(net.name + ("_training" if training else ""), params, batch)
    write_results(result, out_dir)
    if timeline is not None:
        _write_timeline(result, chip_config, timeline)
    if as_json:
        print(json.dumps(result.summary(), indent=2))
    else:
        if not quiet:
            _console().print(_layer_table(result, _console().width, columns))
        _print_summary(result, out_dir)
        if result.training is not None:
            _print_training(result.training)
        if functional is not None:
            _print_functional(functional.summary(), dump)
    if report or timeline_layers is not None:
        from accel.report.run_report import write_run_report

        written = write_run_report(out_dir, result, timeline_layers)
        if not as_json:
            _console().print(f"  wrote {written}")
    if functional is not None and functional.check is not None and functional.check.failed:
        raise typer.Exit(1)


def _optimizer(name: str) -> Optimizer:
    if name == "sgd":
        return "sgd"
    if name == "adam":
        return "adam"
    raise InputError(f"--optimizer must be sgd or adam, not {name!r}")


def _require_training_options(optimizer: str, functional: bool) -> None:
    _optimizer(optimizer)
    if functional:
        raise InputError("--training simulates cycles, traffic and memory only: it cannot be "
                         "combined with --check, --inputs or --dump")  # fmt: skip


def _print_training(section: dict[str, Any]) -> None:
    memory, cycles = section["memory_bytes"], section["cycles"]
    mib = 2**20
    _console().print(
        f"  training step ({section['optimizer']}, {section['precision']}): "
        f"{section['macs']:,} MACs (forward {section['forward_macs']:,}, backward "
        f"{section['backward_macs']:,}), {section['update_ops']:,} update ops\n"
        f"  cycles forward {cycles['forward']:,}, backward data {cycles['backward_data']:,}, "
        f"backward weight {cycles['backward_weight']:,}, update {cycles['update']:,}; "
        f"{section['steps_per_s']:,.3f} steps/s\n"
        f"  memory {memory['total'] / mib:,.1f} MiB: weights {memory['weights'] / mib:,.1f}, "
        f"gradients {memory['gradients'] / mib:,.1f}, optimizer state "
        f"{memory['optimizer_state'] / mib:,.1f}, stored activations "
        f"{memory['activations'] / mib:,.1f} (peak live {memory['peak_live'] / mib:,.1f}); "
        f"max batch {section['max_batch']:,} in {section['dram_capacity_bytes'] / mib:,.0f} MiB"
    )


@contextmanager
def _working(what: str) -> Iterator[Progress | None]:
    """A progress bar on stderr while the int8 run goes (a terminal only): the step it is at,
    steps done of all, the elapsed time. Yields the `Progress` callback to give the run."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Bar(*columns, console=console, transient=True) as bar:
        task = bar.add_task(what, total=None)

        def advance(done: int, total: int, step: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{what} · {step}")

        yield advance


def _timeline_layers(net: Network, spec: str | None) -> range | None:
    """The layers --report-timeline names, checked before the run."""
    if spec is None:
        return None
    from accel.report.timeline import layer_range

    return layer_range([layer.name for layer in net.layers], spec)


def _write_timeline(result: NetworkResult, chip: ChipConfig, path: Path) -> None:
    from accel.memory.replay import trace_events
    from accel.results import write_atomically

    names = [layer.name for layer in result.layers]
    if result.core_run is not None:  # a multi-core chip: its cores' event schedule
        from accel.memory.multicore import core_trace_events

        write_atomically(path, json.dumps(core_trace_events(names, result.core_run, chip)))
        return
    trace = trace_events(names, [layer.memory.schedule for layer in result.layers], chip)
    write_atomically(path, json.dumps(trace))


def _default_out(name: str, params: dict[str, float | int], batch: int) -> Path:
    """reports/NAME, with each parameter and a batch above 1 in the folder's name."""
    from accel.results import variant_name

    return Path("reports") / variant_name(name, params, batch)


def _run_functional(
    net: Network,
    chip: ChipConfig,
    batch: int,
    model: ImportedModel | None,
    check: bool,
    inputs: Path | None,
    dump: Path | None,
    result: NetworkResult,
    progress: Progress | None,
) -> FunctionalResult:
    """The int8 run behind --check, --inputs and --dump; only these load the int8 engine. It
    runs the tiles of the simulation just done (`result`), not a second search for them."""
    from accel.functional.engine import schedules_from
    from accel.io.tensors import load_inputs, write_dump
    from accel.simulation import run_functional

    arrays = load_inputs(inputs, net) if inputs is not None else None
    functional = run_functional(net, chip, batch, arrays, check, model=model,
                                schedules=schedules_from(result.layers),
                                progress=progress)  # fmt: skip
    if dump is not None:
        write_dump(functional.run.outputs, functional.qnet, dump)
    return functional


app.command("sweep")(sweep_command)
app.command("compare")(compare_command)
app.command("explain")(explain_command)
app.command("report")(report_command)


@app.command("export")
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
    _console().print(f"wrote {out} ({format}, {len(net)} layers)")


@app.command("networks")
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
    _console().print(table)


# Keys only a sweep file has (a chip has array/sram/dram, a workload has layers).
_SWEEP_KEYS = frozenset(("networks", "grid", "zip", "random", "constraints", "metrics"))


@app.command("validate")
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
                _console().print(f"OK: workload {net.name}, {len(net)} layers, "
                                 f"{net.params:,} params")
                return
            if _SWEEP_KEYS & data.keys():
                from accel.sweep.plan import load_plan

                plan = load_plan(file)
                _console().print(f"OK: sweep {plan.name}, {len(plan.points):,} points over "
                                 f"{len(plan.networks)} network(s)")
                return
            ChipConfig.from_dict(data, str(file))
    except InputError as err:  # every problem, one line each
        for line in err.all_errors:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    _console().print(f"OK: chip config {file}")


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of chip configs (for editor completion and validation)."""
    from accel.config import ChipConfig

    print(json.dumps(ChipConfig.model_json_schema(), indent=2))


# The per-layer table: column title, and how a layers.csv row fills it.
_TABLE_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("layer", lambda row: str(row["layer"])),
    ("kind", lambda row: str(row["kind"])),
    ("unit", lambda row: str(row["unit"])),
    ("M", lambda row: _on_array(row, "M")),
    ("K", lambda row: _on_array(row, "K")),
    ("N", lambda row: _on_array(row, "N")),
    ("MACs", lambda row: f"{row['macs']:,}"),
    ("compute", lambda row: f"{row['compute_cycles']:,}"),
    ("stall", lambda row: f"{row['stall_cycles']:,}"),
    ("bound", lambda row: str(row["verdict"])),
    ("util", lambda row: f"{row['utilization']:.1%}"),
    ("DRAM KiB", lambda row: f"{_dram_bytes(row) / 1024:,.1f}"),
    ("energy µJ", lambda row: f"{row['energy_pj'] / 1e6:,.2f}"),
)


def _on_array(row: dict[str, Any], dim: str) -> str:
    """A GEMM dimension, blank for a layer off the array (it has no GEMM)."""
    return str(row[dim]) if row["unit"] == "array" else ""


def _dram_bytes(row: dict[str, Any]) -> int:
    return int(
        row["dram_ifmap_bytes"]
        + row["dram_weight_bytes"]
        + row["dram_ofmap_write_bytes"]
        + row["dram_ofmap_read_bytes"]
    )


# Columns left out, in this order, while the table is wider than the terminal; `layer` and the
# cycles stay, and no number is ever cut (a long layer name is, with an ellipsis).
_DROP_ORDER = ("unit", "M", "K", "N", "bound", "energy µJ", "kind", "MACs", "DRAM KiB", "util")
_TEXT_COLUMNS = 3  # layer, kind, unit: left-aligned
_LAYER_MIN = 12  # the layer column shrinks to this before a number would be cut


def _layer_table(
    result: NetworkResult, width: int, columns: list[str] | None = None
) -> Table:
    """The per-layer table in `width` characters: the chosen `columns`, or as many as fit."""
    from rich.table import Table

    titles = [title for title, _ in _TABLE_COLUMNS]
    bandwidth = result.chip.dram.bandwidth_bytes_per_cycle
    rows = [[cell({**row, "verdict": layer.verdict(bandwidth)}) for _, cell in _TABLE_COLUMNS]
            for layer, row in zip(result.layers, result.rows(), strict=True)]  # fmt: skip
    widths = [max([len(title)] + [len(row[i]) for row in rows]) for i, title in enumerate(titles)]
    if columns:
        keep = [titles.index(name) for name in _chosen(columns, titles)]
    else:
        keep = list(range(len(titles)))
        for title in _DROP_ORDER:
            if _width(widths, keep) <= width:
                break
            keep.remove(titles.index(title))
    table = Table(title=f"{result.network} on {result.chip.name} (batch {result.batch})")
    for i in keep:
        if i == 0:
            room = width - _width(widths, keep[1:]) - 4
            table.add_column(titles[i], overflow="ellipsis", no_wrap=True,
                             max_width=max(room, min(widths[0], _LAYER_MIN)))  # fmt: skip
        else:
            table.add_column(titles[i], justify="left" if i < _TEXT_COLUMNS else "right",
                             no_wrap=True, min_width=widths[i])  # fmt: skip
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def _width(widths: list[int], keep: list[int]) -> int:
    """Characters a rich table of these columns takes: each cell padded, one border each."""
    return sum(widths[i] + 3 for i in keep) + 1


def _chosen(columns: list[str], titles: list[str]) -> list[str]:
    names = [name.strip() for entry in columns for name in entry.split(",") if name.strip()]
    for name in names:
        if name not in titles:
            raise InputError(f"--columns must name table columns ({', '.join(titles)}), "
                             f"not {name!r}{closest(name, titles)}")  # fmt: skip
    return ["layer", *(name for name in names if name != "layer")]


def _print_summary(result: NetworkResult, out_dir: Path) -> None:
    s = result.summary()
    _console().print(
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
    if s.get("unsupported_ops"):
        listed = ", ".join(f"{u['layer']} ({u['op']})" for u in s["unsupported_ops"])
        _console().print(f"  [bold]unsupported, costed as zero:[/bold] {listed}")
    undersized: dict[str, list[str]] = s["undersized_layers"]
    if undersized:
        listed = ", ".join(f"{name} ({'+'.join(ops)})" for name, ops in undersized.items())
        _console().print(
            f"  [bold]streamed through undersized buffers[/bold] (sram.undersized: stream, "
            f"refetched from DRAM on every use): {listed}"
        )


def _print_functional(section: dict[str, Any], dump: Path | None) -> None:
    overflowed = section["overflowed_layers"]
    line = f"  functional ({section['mode']} requantization"
    line += f", {section['accumulator_bits']}-bit {section['accumulator_overflow']} accumulators"
    line += f", {section['weights']})"
    if overflowed:
        line += f": accumulator overflow in {len(overflowed)} layers ({', '.join(overflowed)})"
    _console().print(line)
    if "reference" in section:
        others = section.get("mismatched_tensors", [])
        parts = [f"{section['mismatches']} MISMATCHED: {', '.join(section['mismatched_layers'])}"
                 ] if section["mismatches"] else []  # fmt: skip
        if others:
            parts.append(f"{len(others)} graph inputs/outputs MISMATCHED: {', '.join(others)}")
        verdict = "; ".join(parts) or "all bit-exact"
        _console().print(
            f"  checked {section['layers_checked']} layers against {section['reference']}: "
            f"{verdict}"
        )
        if section.get("layers_not_compared"):
            _console().print(f"  not compared (the reference holds no such tensor): "
                          f"{', '.join(section['layers_not_compared'])}")
        if section.get("inexact_reference_layers"):
            _console().print("  reference not exact (a float32 ConvTranspose sum reaches 2**24, "
                             f"it may round): {', '.join(section['inexact_reference_layers'])}")
    if dump is not None:
        _console().print(f"  wrote every tensor to {dump} (manifest.json lists scales)")


def main() -> None:
    """Entry point of the `accel` console script.

    The last line of defence: bad input is an `InputError` (one line, exit 2); an operating
    system refusal (a full disk, an unreadable file), a recursion or memory limit hit by a
    hostile input are one line and exit 2 too; anything else is an internal error, one line
    and exit 1, with the traceback only under `--debug` (accepted anywhere on the line).
    """
    debug = "--debug" in sys.argv[1:]
    if debug:
        sys.argv = [sys.argv[0], *(arg for arg in sys.argv[1:] if arg != "--debug")]
    # A short-lived process: collect cyclic garbage less often (imports allocate much, free
    # little; `benchmarks/cli_startup.py` times it).
    gc.set_threshold(50_000, 20, 100)
    try:
        _only_the_command(sys.argv[1:])()  # standalone: usage errors print themselves, exit 2
    except InputError as err:
        _fail(f"error: {err}", 2)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as err:
        if debug:
            raise
        _fail(*_unexpected(err))


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


def _unexpected(err: BaseException) -> tuple[str, int]:
    """(one line, exit code) for an exception no command turned into an InputError."""
    from accel.errors import first_line

    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"error: {where}{err.strerror or first_line(err)}", 2
    if isinstance(err, RecursionError):
        return "error: the input is nested too deeply to read", 2
    if isinstance(err, MemoryError):
        return "error: the input needs more memory than this machine has", 2
    return (
        f"internal error: {type(err).__name__}: {first_line(err)} "
        "(a bug in accel: rerun with --debug for the traceback and report it)", 1,
    )  # fmt: skip


def _fail(message: str, code: int) -> None:
    print(message.replace("\n", " "), file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()

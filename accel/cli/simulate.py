"""`accel simulate-network`: what a run does once its options are parsed (by typer in
`accel.cli.typer_app`, or without it by `accel.cli.argv`): load the chip and the network,
simulate, run the int8 engine if asked, write the files, print, give the exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from accel.cli.output import console, say
from accel.cli.tables import layer_table, print_functional, print_summary, print_training
from accel.errors import InputError

if TYPE_CHECKING:
    from accel.config import ChipConfig
    from accel.io.imported import ImportedModel
    from accel.model.network import Network
    from accel.model.training import Optimizer
    from accel.results import NetworkResult
    from accel.simulation import FunctionalResult, Progress


class SimulateOptions(NamedTuple):
    """The options of `accel simulate-network`, as `accel simulate-network --help` lists them.

    A NamedTuple rather than a frozen dataclass (as immutable, equal and hashed alike): Python
    3.11 compiles each generated method of a dataclass at import, 6 M instructions here."""

    network: str
    chip: Path | None = None
    batch: int = 1
    param: tuple[str, ...] = ()
    out: Path | None = None
    quiet: bool = False
    as_json: bool = False
    columns: tuple[str, ...] = ()
    timeline: Path | None = None
    input_shape: tuple[str, ...] = ()
    allow_unsupported: bool = False
    report: bool = False
    report_timeline: str | None = None
    check: bool = False
    inputs: Path | None = None
    dump: Path | None = None
    training: bool = False
    optimizer: str = "sgd"
    residency: str | None = None
    fusion: str | None = None

    @property
    def functional(self) -> bool:
        """Whether the int8 outputs are computed (--check, --inputs or --dump)."""
        return self.check or self.inputs is not None or self.dump is not None


def simulate_network_run(options: SimulateOptions) -> int:
    """Run `accel simulate-network` with `options`; the exit code (1: a --check mismatch)."""
    from dataclasses import replace

    from accel.io.sources import load_chip, load_source, parse_params
    from accel.results import write_results
    from accel.simulation import simulate_network

    o = options
    chip_config = _with_memory_options(load_chip(o.chip), o.residency, o.fusion)
    params = parse_params(list(o.param))
    net, model = load_source(o.network, params, list(o.input_shape), o.allow_unsupported)
    timeline_layers = _timeline_layers(net, o.report_timeline)
    if o.training:
        _require_training_options(o.optimizer, o.functional)
    if o.functional:
        from accel.functional.memory_budget import require_memory
        from accel.simulation import require_int8

        require_int8(chip_config)  # refused at once, before anything is simulated
        require_memory(net, o.batch)  # refused at once, before the cost model runs the batch
    if o.training:
        from accel.simulation import simulate_training

        result = simulate_training(net, chip_config, o.batch, _optimizer(o.optimizer))
    else:
        result = simulate_network(net, chip_config, o.batch)
    functional = None
    if o.functional:
        what = "computing the int8 outputs" + (" and checking every layer" if o.check else "")
        with _working(what) as progress:
            functional = _run_functional(net, chip_config, o, model, result, progress)
        if _codes_feature_maps(chip_config) and not o.training:
            # The run's own zeros drive the run-length coder instead of the stated density.
            from accel.simulation import feature_map_densities

            densities = feature_map_densities(net, functional.run, functional.qnet)
            result = simulate_network(net, chip_config, o.batch, densities)
        result = replace(result, functional=functional.summary())
    out_dir = o.out or _default_out(net.name + ("_training" if o.training else ""), params, o.batch)
    write_results(result, out_dir)
    if o.timeline is not None:
        _write_timeline(result, chip_config, o.timeline)
    _print_run(o, result, functional, out_dir)
    if o.report or timeline_layers is not None:
        from accel.report.run_report import write_run_report

        written = write_run_report(out_dir, result, timeline_layers)
        if not o.as_json:
            say(f"  wrote {written}")
    failed = functional is not None and functional.check is not None and functional.check.failed
    return 1 if failed else 0


def _print_run(
    options: SimulateOptions,
    result: NetworkResult,
    functional: FunctionalResult | None,
    out_dir: Path,
) -> None:
    """summary.json on stdout (--json), or the per-layer table (unless --quiet) and the summary."""
    if options.as_json:
        print(json.dumps(result.summary(), indent=2))
        return
    if not options.quiet:
        console().print(layer_table(result, console().width, list(options.columns) or None))
    print_summary(result, out_dir)
    if result.training is not None:
        print_training(result.training)
    if functional is not None:
        print_functional(functional.summary(), options.dump)

def _with_memory_options(chip: ChipConfig, residency: str | None, fusion: str | None
                         ) -> ChipConfig:  # fmt: skip
    """`chip` with --residency and --fusion applied (each a chip `memory` field)."""
    updates: dict[str, Any] = {}
    if residency is not None:
        if residency not in ("on", "off"):
            raise InputError(f"--residency must be on or off, not {residency!r}")
        updates["memory.activation_residency"] = residency
    if fusion is not None:
        if fusion not in ("auto", "off"):
            raise InputError(f"--fusion must be auto or off, not {fusion!r}")
        updates["memory.fusion"] = fusion
        if fusion == "off" or chip.memory.fusion == "manual":
            updates["memory.fused_groups"] = []
    return chip.with_values(updates) if updates else chip


def _codes_feature_maps(chip: ChipConfig) -> bool:
    """A row-stationary chip that run-length codes its feature maps on the DRAM link."""
    return chip.array.dataflow == "rs" and chip.dram.feature_map_compression == "rlc"


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
    from accel.memory.network_replay import trace_events
    from accel.results import write_atomically

    names = [layer.name for layer in result.layers]
    if result.core_run is not None:  # a multi-core chip: its cores' event schedule
        from accel.memory.core_outputs import core_trace_events

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
    options: SimulateOptions,
    model: ImportedModel | None,
    result: NetworkResult,
    progress: Progress | None,
) -> FunctionalResult:
    """The int8 run behind --check, --inputs and --dump; only these load the int8 engine. It
    runs the tiles of the simulation just done (`result`), not a second search for them."""
    from accel.functional.engine import schedules_from
    from accel.io.tensors import load_inputs, write_dump
    from accel.simulation import run_functional

    arrays = load_inputs(options.inputs, net) if options.inputs is not None else None
    functional = run_functional(net, chip, options.batch, arrays, options.check, model=model,
                                schedules=schedules_from(result.layers),
                                progress=progress)  # fmt: skip
    if options.dump is not None:
        write_dump(functional.run.outputs, functional.qnet, options.dump)
    return functional

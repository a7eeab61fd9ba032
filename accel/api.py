"""The Python API: what a notebook needs in four calls.

    import accel
    result = accel.simulate("mobilenet_v2", chip={"array.rows": 64, "array.cols": 64})
    result.summary()["latency_ms"], result.to_pandas().head()
    table = accel.sweep_table({"name": "s", "networks": ["lenet5"],
                               "grid": {"array.rows": [8, 16]}})

`simulate` takes what the command line takes (a built-in name with parameters, a workload YAML,
an ONNX/TFLite file or SCALE-Sim topology, or a `Network`) and a chip as the embedded default,
a built-in name, a file, a mapping of dotted fields changed from the default, or a
`ChipConfig`. `sweep` takes a sweep YAML file or the same mapping and returns the results table
(pandas, the `pandas` extra). Both raise `InputError` on bad input, as the CLI reports it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_chip as _load_chip_file
from accel.io.sources import load_network
from accel.mapping.mapper import MAX_BATCH
from accel.model.network import Network
from accel.model.training import Optimizer
from accel.results import NetworkResult, import_pandas
from accel.simulation import simulate_network

if TYPE_CHECKING:
    import pandas

    from accel.functional.training import TrainingNumbers

ChipSource = ChipConfig | Mapping[str, Any] | str | Path | None


def load_chip(chip: ChipSource = None) -> ChipConfig:
    """A chip from the embedded default (None), a built-in name or file (YAML, SCALE-Sim .cfg),
    a mapping of dotted fields changed from the default (`{"array.rows": 64}`) or of whole
    sections (`{"array": {"rows": 64}}`), or a `ChipConfig` (returned as is)."""
    if isinstance(chip, ChipConfig):
        return chip
    if isinstance(chip, Mapping):
        dotted = {key: value for key, value in chip.items() if "." in key}
        nested = {key: value for key, value in chip.items() if "." not in key}
        base = ChipConfig.from_dict(dict(nested), "chip") if nested else ChipConfig()
        return base.with_values(dotted) if dotted else base
    return _load_chip_file(chip)


def simulate(
    network: str | Path | Network,
    chip: ChipSource = None,
    batch: int = 1,
    **params: float,
) -> NetworkResult:
    """Simulate `network` on `chip` for `batch` images: cycles, traffic, energy per layer.

    `params` are the network's parameters (`alpha=0.5`, `resolution=160`), as `--param`."""
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= MAX_BATCH:
        raise InputError(f"batch must be an integer from 1 to {MAX_BATCH}, not {batch!r}")
    net = network if isinstance(network, Network) else load_network(str(network), params)
    return simulate_network(net, load_chip(chip), batch)


def train_step(
    network: str | Path | Network,
    chip: ChipSource = None,
    batch: int = 2,
    optimizer: Optimizer = "sgd",
    seed: int = 0,
    **params: float,
) -> TrainingNumbers:
    """The numbers of one training step of `network` on a float `chip` (`array.precision`
    fp32, bf16 or fp16) as the array computes them: seeded N(0, 1) images and random class
    targets, `random_weights(network, seed)`. Forward outputs, loss, every gradient, dW, the
    updated weights (see `accel.functional.training`)."""
    from accel.functional.training import training_numbers  # only a training run pays for it
    from accel.functional.weights import random_weights

    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= MAX_BATCH:
        raise InputError(f"batch must be an integer from 1 to {MAX_BATCH}, not {batch!r}")
    net = network if isinstance(network, Network) else load_network(str(network), params)
    rng = np.random.default_rng(seed)
    shape = net.inputs[0][1]
    images = rng.standard_normal((batch, shape.channels, shape.height, shape.width),
                                 dtype=np.float32)  # fmt: skip
    classes = net.layer(net.outputs[0]).output_shape.elements
    targets = rng.integers(0, classes, batch)
    return training_numbers(net, load_chip(chip), images, targets, random_weights(net, seed),
                            optimizer)  # fmt: skip


def sweep_table(
    spec: str | Path | Mapping[str, Any], out: str | Path | None = None, workers: int = 1
) -> pandas.DataFrame:
    """Run a sweep (a sweep YAML file, or its mapping) and return its results table, one row
    per point. The table and journal go to `out` (a temporary folder if None); a sweep run
    again into the same `out` resumes. `workers` > 1 uses local worker processes."""
    from accel.sweep.executors import LocalExecutor, SerialExecutor
    from accel.sweep.plan import load_plan, plan_sweep
    from accel.sweep.runner import run_sweep
    from accel.sweep.spec import SweepSpec

    pandas_module = import_pandas("accel.sweep_table")
    if isinstance(spec, Mapping):
        plan = plan_sweep(SweepSpec.from_dict(dict(spec)), Path.cwd())
    else:
        plan = load_plan(spec)
    executor = LocalExecutor(workers) if workers > 1 else SerialExecutor()
    with tempfile.TemporaryDirectory(prefix="accel-sweep-") as scratch:
        folder = Path(out) if out is not None else Path(scratch)
        outcome = run_sweep(plan, folder, executor)
        return pandas_module.read_csv(outcome.tables[0])

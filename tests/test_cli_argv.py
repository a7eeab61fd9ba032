"""The fast path of `accel simulate-network` (accel.cli.argv) reads a line as typer does, or
leaves it to typer; a run's text printed without rich reads as rich prints it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from accel.cli.argv import simulate_options
from accel.cli.output import _prints_as_is, say
from accel.cli.simulate import SimulateOptions

# Lines the fast path reads (after the program name).
READ = [
    ["-n", "vgg16"],
    ["--network", "vgg16", "-q"],
    ["--network=mobilenet_v1?alpha=0.5", "--batch", "8", "--quiet", "--json"],
    ["-n", "lenet5", "-c", "configs/tpu_v1_like.yaml", "--batch=4096", "--out", "x/y"],
    ["-n", "m.onnx", "--input-shape", "data=1x3x8x8", "--input-shape=1x3x8x8",
     "--allow-unsupported", "--no-report", "--check", "--inputs", "in.npy", "--dump", "d"],
    ["-p", "alpha=0.5", "-n", "mobilenet_v1", "--param=resolution=160", "--columns", "util",
     "--columns=stall,compute", "--timeline", "t.json", "--report-timeline", "conv1:conv2"],
    ["-n", "resnet18", "--training", "--optimizer", "adam", "--no-check", "--report",
     "--no-allow-unsupported"],
]  # fmt: skip
# Lines left to typer: help, errors, and forms the fast path does not read.
LEFT = [
    [], ["--help"], ["-n", "vgg16", "--help"], ["-q"], ["-n"], ["-nvgg16"], ["-n=vgg16"],
    ["-n", "vgg16", "--batch", "0"], ["-n", "vgg16", "--batch", "4097"],
    ["-n", "vgg16", "--batch", " 8"], ["-n", "vgg16", "--batch", "many"],
    ["-n", "vgg16", "--batch", "٣"], ["-n", "vgg16", "--no-quiet"], ["-n", "vgg16", "--chek"],
    ["-n", "vgg16", "-n", "vgg19"], ["-n", "vgg16", "-q", "-q"], ["-n", "vgg16", "--quiet=1"],
    ["-n", "vgg16", "--out", ""], ["-n", "vgg16", "--out", "-q"], ["-n", "vgg16", "extra"],
    ["-n", "vgg16", "--", "-q"], ["-n", "vgg16", "--version"], ["-n", "vgg16", "-qn", "x"],
]  # fmt: skip


@pytest.mark.parametrize("line", READ)
def test_the_fast_path_reads_a_line_as_typer_does(
    line: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from accel.cli import typer_app

    parsed: list[SimulateOptions] = []
    monkeypatch.setattr(typer_app, "simulate_network_run", lambda o: parsed.append(o) or 0)
    result = CliRunner().invoke(typer_app.app, ["simulate-network", *line])
    assert result.exit_code == 0, result.output
    assert simulate_options(["simulate-network", *line]) == parsed[0]


@pytest.mark.parametrize("line", LEFT)
def test_the_fast_path_leaves_help_errors_and_odd_forms_to_typer(line: list[str]) -> None:
    assert simulate_options(["simulate-network", *line]) is None


def test_a_completion_request_goes_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert simulate_options(["simulate-network", "-n", "vgg16"]) is not None
    monkeypatch.setenv("_ACCEL_COMPLETE", "bash_complete")
    assert simulate_options(["simulate-network", "-n", "vgg16"]) is None


def test_only_simulate_network_takes_the_fast_path() -> None:
    assert simulate_options(["networks"]) is None
    assert simulate_options(["export", "-n", "vgg16"]) is None
    assert simulate_options(["simulate-netwrk", "-n", "vgg16"]) is None
    options = simulate_options(["simulate-network", "-n", "vgg16", "--chip", "c.yaml"])
    assert options == SimulateOptions(network="vgg16", chip=Path("c.yaml"))


SUMMARY = (
    "[bold]vgg16[/bold] on [bold]default[/bold] (32x32 ws, 1000 MHz), batch 1: 22 layers, "
    "138,357,544 params\n  latency 23.998 ms, energy 108,305.7 µJ\n  wrote a/layers.csv"
)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (SUMMARY, True),
        ("  wrote reports/x/report.html", True),
        ("x" * 149, True),
        ("x" * 150, False),  # as wide as the console: rich's to wrap
        ("layer [conv] done", False),  # markup-like text
        ("a :smile: b", False),  # an emoji code
        ("tab\there", False),
        ("bell\x07", False),
        ("trailing ", False),
        ("wide 漢字", False),
    ],
)
def test_text_printed_without_rich_reads_as_rich_prints_it(
    text: str, plain: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.console import Console

    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    stripped = text.replace("[bold]", "").replace("[/bold]", "")
    assert _prints_as_is(stripped) is plain
    rich_output = io.StringIO()
    Console(file=rich_output, width=150).print(text)
    say(text)
    if plain:
        assert capsys.readouterr().out == rich_output.getvalue() == stripped + "\n"
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not _prints_as_is(stripped)


# Third-party packages a plain `simulate-network -q` run does not need: its layers and chip are
# records built without pydantic (accel.user_input.record), which validates only input that
# needs converting or is wrong. Nor hashlib, which loads OpenSSL: zoo.json's check is a CRC-32.
NOT_ON_THE_PATH = ("typer", "click", "rich", "yaml", "simpy", "onnx", "pydantic",
                   "pydantic_core", "annotated_types", "hashlib")  # fmt: skip
# accel's own modules of features such a run (single core, systolic array, fusion and
# residency off, no --training, --check or --report) does not choose: each is imported where a
# run chooses its feature. A package stands for all its modules.
FEATURE_MODULES = (
    "accel.memory.activations", "accel.memory.fusion", "accel.memory.residency",
    "accel.memory.bands", "accel.memory.capacity",  # fusion and residency
    "accel.memory.multicore", "accel.memory.core_pieces", "accel.memory.core_split",
    "accel.memory.core_timeline", "accel.memory.core_outputs", "accel.memory.core_bands",
    "accel.memory.core_stages",  # multi-core chips
    "accel.mapping.training", "accel.model.training", "accel.model.training_items",
    "accel.model.backward",  # --training
    "accel.mapping.row_stationary", "accel.perf.row_stationary",
    "accel.memory.row_stationary",  # a row-stationary (rs) array
    "accel.mapping.conv_transpose",  # transposed convolutions
    "accel.functional", "accel.check", "accel.io.tensors",  # --check, --inputs, --dump
    "accel.simulation.int8",
    "accel.report", "accel.sweep", "accel.oracles", "accel.api",  # --report, sweeps, tests
    "accel.io.scalesim", "accel.io.onnx_import", "accel.io.tflite_import",  # other formats
)  # fmt: skip
SCALESIM = Path(__file__).parent / "data" / "scalesim"
ZOO = ("lenet5", "alexnet", "vgg16", "vgg19", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large",
       "mobilenet_v3_small", "resnet18", "resnet34", "resnet50", "googlenet")  # fmt: skip
RUNS = {
    "built-in network": (
        "from accel.cli import main\n"
        "sys.argv = ['accel', 'simulate-network', '-n', 'lenet5', '-q', '--out', 'out']\n"
        "main()\n", "lenet5 on default",
    ),
    "SCALE-Sim topology and config": (
        "from accel.cli import main\n"
        f"sys.argv = ['accel', 'simulate-network', '-n', {str(SCALESIM / 'topo_mixed.csv')!r},"
        f" '-c', {str(SCALESIM / 'mixed_16x16_ws.cfg')!r}, '-q', '--out', 'out']\n"
        "main()\n", "topo_mixed on ",
    ),
    "the zoo in one process": (
        "from accel.io.sources import load_chip, load_network\n"
        "from accel.simulation import simulate_network\n"
        f"for name in {ZOO!r}:\n"
        "    print(name, simulate_network(load_network(name), load_chip(None), 1).total_cycles)\n",
        "googlenet ",
    ),
    # accel decodes the protobuf and folds the shape arithmetic (this ShuffleNetV2's Shape →
    # Gather → Unsqueeze → Concat → Reshape) itself: no onnx, ml_dtypes or protobuf.
    "ONNX file": (
        "from accel.cli import main\n"
        "sys.argv = ['accel', 'simulate-network', '-n',"
        f" {str(REPO / 'tests' / 'data' / 'onnx' / 'shufflenet_v2_x0_5.onnx')!r},"
        " '--input-shape', 'input=1x3x224x224', '-q', '--out', 'out']\n"
        "main()\n", "shufflenet_v2_x0_5 on default",
    ),
}


def _modules_of(run_name: str, cwd: Path) -> set[str]:
    """The modules a run loads (sys.modules at exit, in a fresh process), not a timing."""
    body, expected = RUNS[run_name]
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules))))\n" + body
    )
    # A short --out and the default width (pytest sets COLUMNS=80): the summary is not wrapped.
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=cwd, env=env)  # fmt: skip
    assert expected in run.stdout
    return set(json.loads(run.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def loaded_modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Each run's modules, each run made once for both tests below."""
    return {name: _modules_of(name, tmp_path_factory.mktemp("run")) for name in RUNS}


@pytest.mark.parametrize("run_name", RUNS)
def test_a_quiet_run_loads_no_package_it_does_not_need(
    run_name: str, loaded_modules: dict[str, set[str]]
) -> None:
    loaded = {name.split(".")[0] for name in loaded_modules[run_name]}
    assert "accel" in loaded
    assert sorted(loaded & {*NOT_ON_THE_PATH, "ml_dtypes", "google"}) == []


@pytest.mark.parametrize("run_name", ["built-in network", "the zoo in one process"])
def test_a_quiet_run_loads_no_feature_it_does_not_choose(
    run_name: str, loaded_modules: dict[str, set[str]]
) -> None:
    modules = loaded_modules[run_name]
    assert {"accel.simulation", "accel.memory.model", "accel.results"} <= modules
    features = sorted(name for name in modules
                      if any(name == f or name.startswith(f + ".") for f in FEATURE_MODULES))
    assert features == []

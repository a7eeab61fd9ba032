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


# Third-party packages a plain `simulate-network -q` run on a built-in network does not need.
NOT_ON_THE_PATH = ("typer", "click", "rich", "yaml", "simpy", "onnx")


# A quiet run on an ONNX file needs none of them either: accel decodes the protobuf and folds the
# shape arithmetic (this ShuffleNetV2's Shape → Gather → Unsqueeze → Concat → Reshape) itself.
RUNS = {
    "lenet5": ["-n", "lenet5"],
    "onnx": ["-n", str(REPO / "tests" / "data" / "onnx" / "shufflenet_v2_x0_5.onnx"),
             "--input-shape", "input=1x3x224x224"],
}


@pytest.mark.parametrize("run", sorted(RUNS))
def test_a_quiet_run_loads_no_package_it_does_not_need(run: str, tmp_path: Path) -> None:
    """The packages a run loads (sys.modules at exit, in a fresh process), not a timing; and
    that a built-in network's run builds no pydantic validator (its layers and the default chip
    need none; the ONNX importer still builds its ops with validation)."""
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules))))\n"
        "from accel.cli import main\n"
        f"sys.argv = ['accel', 'simulate-network', *{RUNS[run]!r}, '-q', '--out', 'out']\n"
        "main()\n"
    )
    # A short --out and the default width (pytest sets COLUMNS=80): the summary is not wrapped.
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    run_ = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=tmp_path, env=env)  # fmt: skip
    modules = set(json.loads(run_.stdout.splitlines()[-1]))
    loaded = {name.split(".")[0] for name in modules}
    assert "accel" in loaded
    unneeded = (*NOT_ON_THE_PATH, "ml_dtypes", "google") if run == "onnx" else NOT_ON_THE_PATH
    assert sorted(loaded & set(unneeded)) == []
    # pydantic loads its plugins when it first builds a model's validators: none was built
    assert "pydantic" in loaded and ("pydantic.plugin._loader" not in modules or run == "onnx")
    name = "lenet5" if run == "lenet5" else "shufflenet_v2_x0_5"
    assert f"{name} on default" in run_.stdout

"""The fast path of `accel sweep` (accel.cli.sweep_run) reads a line as typer does, or leaves
it to typer; a plain sweep line loads neither typer nor pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_accel

from accel.cli.sweep_run import DEFAULT_WORKERS, SweepOptions, sweep_options

# Lines the fast path reads (after the program name and the command).
READ = [
    ["s.yaml"],
    ["s.yaml", "--workers", "2", "--restart"],
    ["--out", "x/y", "s.yaml", "--workers=1", "--no-restart", "--report", "--dry-run"],
    ["a=b.yaml", "--out=o", "--executor", "local", "--no-report", "--no-dry-run"],
    ["s.yaml", "--executor=dask", "--workers", "007"],
]  # fmt: skip
# Lines left to typer: help, errors, and forms the fast path does not read.
LEFT = [
    [], ["--help"], ["s.yaml", "--help"], ["--restart"], ["s.yaml", "t.yaml"],
    ["s.yaml", "--workers", "0"], ["s.yaml", "--workers", "-1"], ["s.yaml", "--workers", "two"],
    ["s.yaml", "--workers", " 2"], ["s.yaml", "--workers", "٢"], ["s.yaml", "--workers"],
    ["s.yaml", "--workers", "2", "--workers", "3"], ["s.yaml", "--restart", "--restart"],
    ["s.yaml", "--restart=1"], ["s.yaml", "--executor", "LOCAL"], ["s.yaml", "--executor", "x"],
    ["s.yaml", "--scheduler", "tcp://h:1"], ["s.yaml", "--out", ""], ["s.yaml", "--out", "-q"],
    ["s.yaml", "--", "-q"], ["-s.yaml"], ["s.yaml", "--dryrun"], ["s.yaml", "--version"],
]  # fmt: skip


@pytest.mark.parametrize("line", READ)
def test_the_fast_path_reads_a_line_as_typer_does(
    line: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from accel.cli import sweep, typer_app

    parsed: list[SweepOptions] = []
    monkeypatch.setattr(sweep, "sweep_run", lambda o: parsed.append(o) or 0)
    result = CliRunner().invoke(typer_app.app, ["sweep", *line])
    assert result.exit_code == 0, result.output
    assert sweep_options(["sweep", *line]) == parsed[0]


@pytest.mark.parametrize("line", LEFT)
def test_the_fast_path_leaves_help_errors_and_odd_forms_to_typer(line: list[str]) -> None:
    assert sweep_options(["sweep", *line]) is None


def test_only_sweep_takes_it_and_a_completion_request_goes_to_typer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sweep_options(["sweep", "s.yaml"]) == SweepOptions(Path("s.yaml"), None, DEFAULT_WORKERS)
    assert sweep_options(["simulate-network", "-n", "vgg16"]) is None
    assert sweep_options(["swep", "s.yaml"]) is None
    monkeypatch.setenv("_ACCEL_COMPLETE", "bash_complete")
    assert sweep_options(["sweep", "s.yaml"]) is None


def test_a_plain_sweep_line_loads_neither_typer_nor_pydantic(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16]}\n")
    code = (
        "import sys\nfrom accel.cli import main\n"
        f"sys.argv = ['accel', 'sweep', {str(sweep)!r}, '--out', {str(tmp_path / 'o')!r}, "
        "'--workers', '1']\n"
        "try:\n    main()\nfinally:\n"
        "    print(sorted(m for m in ('typer', 'click', 'pydantic') if m in sys.modules))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
    assert (tmp_path / "o" / "results.csv").read_text().count("\n") == 3


def test_errors_read_by_either_path_are_the_same(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.yaml")
    for extra in ([], ["--scheduler", "tcp://127.0.0.1:1"]):  # the fast path, then typer
        result = run_accel("sweep", missing, "--workers", "1", *extra, cwd=REPO)
        assert result.returncode == 2
        assert result.stderr.strip() == f"error: sweep file {missing!r} does not exist"
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nnetworks: [lenet5]\n")
    dask = run_accel("sweep", str(sweep), "--executor", "dask", cwd=REPO)
    assert dask.returncode == 2
    assert dask.stderr.strip().splitlines()[-1] == "error: --scheduler must give the Dask scheduler address for --executor dask"
    usage = run_accel("sweep", missing, "--workers", "0", cwd=REPO)
    assert usage.returncode == 2 and "--workers" in usage.stderr


def test_the_display_loads_rich_only_once_the_workers_have_work(
    write_yaml, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """The first progress report comes before any point is sent: nothing is shown (rich is not
    loaded) until the second; the sweep's first line is shown even if no report came."""
    from accel.cli.sweep_run import _Display
    from accel.sweep.plan import load_plan

    plan = load_plan(write_yaml("name: s\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16]}\n"))
    display = _Display(plan)
    display.report(0, 2, 0)
    assert display._console is None and capsys.readouterr().err == ""
    display.report(2, 2, 1)
    display.close()
    shown = capsys.readouterr().err
    assert shown.startswith("s: 2 points over 1 network(s), axes array.rows\n")
    assert "simulating (1 failed)" in shown and "2/2" in shown
    quiet = _Display(plan)
    quiet.close()
    assert capsys.readouterr().err == "s: 2 points over 1 network(s), axes array.rows\n"

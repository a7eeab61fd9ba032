"""The fast path of `accel sweep` (accel.cli.sweep_run) reads a line as typer does, or leaves
it to typer; a plain sweep line loads neither typer nor pydantic."""

from __future__ import annotations

import io
import os
import shutil
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


def test_a_plain_sweep_line_loads_neither_typer_nor_pydantic_nor_rich(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16]}\n")
    code = (
        "import sys\nfrom accel.cli import main\n"
        f"sys.argv = ['accel', 'sweep', {str(sweep)!r}, '--out', {str(tmp_path / 'o')!r}, "
        "'--workers', '1']\n"
        "try:\n    main()\nfinally:\n"
        "    print(sorted(m for m in ('typer', 'click', 'pydantic', 'rich') if m in sys.modules))\n"
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


def test_the_display_shows_a_bar_on_a_terminal_only_and_lines_below_it(
    write_yaml, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The sweep's first line comes with the first report (or at the end if none came); on a
    terminal a bar is redrawn in place at each report and a line printed after it starts below
    it; elsewhere (a pipe, a log) no bar."""
    from accel.cli.sweep_run import _Display
    from accel.sweep.plan import load_plan

    plan = load_plan(write_yaml("name: s\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16]}\n"))
    first = "s: 2 points over 1 network(s), axes array.rows\n"
    piped = io.StringIO()
    display = _Display(plan, piped)
    display.report(0, 2, 0)
    assert piped.getvalue() == first
    display.report(2, 2, 1)
    display.line("2 points")
    display.close()
    assert piped.getvalue() == first + "2 points\n"
    monkeypatch.setattr(shutil, "get_terminal_size", lambda: os.terminal_size((120, 40)))
    shown = _Terminal()
    display = _Display(plan, shown)
    display.report(0, 2, 0)
    display.report(2, 2, 1)
    display.line("2 points")
    display.close()
    bars = "\r" + " ".join(("simulating", " " * 40, "0/2", "  0% elapsed 0:00:00 ETA -:--:--"))
    bars += "\x1b[K\r" + "simulating (1 failed) " + "━" * 40 + " 2/2 100% elapsed 0:00:00 ETA"
    assert shown.getvalue().startswith(first + bars)
    assert shown.getvalue().endswith("\x1b[K\n2 points\n")
    quiet = io.StringIO()
    _Display(plan, quiet).close()
    assert quiet.getvalue() == first
    monkeypatch.setattr(shutil, "get_terminal_size", lambda: os.terminal_size((60, 40)))
    narrow = _Terminal()
    _Display(plan, narrow).report(1, 2, 0)
    assert max(len(line) for line in narrow.getvalue().split("\r")) == len("\x1b[K") + 59


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_counts_the_time_left_at_this_runs_rate() -> None:
    from accel.cli.sweep_run import progress_line

    half = "━" * 20 + " " * 20
    assert progress_line("simulating", 64, 128, 2.5, 64) == (
        f"simulating {half} 64/128  50% elapsed 0:00:02 ETA 0:00:02"
    )
    # 60 points reused from an earlier run, 4 done by this one in 2 s: 64 left take 32 s
    assert progress_line("x", 64, 128, 2.0, 4).endswith(" 64/128  50% elapsed 0:00:02 ETA 0:00:32")
    done = f"x {'━' * 40} 0/0 100% elapsed 1:02:05 ETA 0:00:00"
    assert progress_line("x", 0, 0, 3725.0, 0) == done
    assert progress_line("x", 5, 9, 1.0, 0).endswith("elapsed 0:00:01 ETA -:--:--")
    assert progress_line("x", 5, 10, 1.0, 5, width=4) == "x ━━   5/10  50% elapsed 0:00:01 ETA 0:00:01"

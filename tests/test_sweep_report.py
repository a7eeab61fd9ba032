"""The report of a sweep: Pareto frontiers, metrics against axes, failures and the points table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, run_accel

from accel.errors import InputError
from accel.report.sweep_report import build_sweep_report
from accel.report.write import write_report
from accel.sweep.executors import SerialExecutor
from accel.sweep.plan import load_plan
from accel.sweep.runner import run_sweep
from accel.sweep.store import read_table

SWEEP = """
name: small
networks: [lenet5, "mobilenet_v1?alpha=0.25&resolution=64"]
batch: [1, 2]
grid: {array.rows: [8, 16, 32, 0]}
random: {samples: 20, seed: 1, axes: {clock_mhz: {min: 100, max: 2000}}}
metrics: [latency_ms, energy_uj, utilization, params]
"""


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "s.yaml").write_text(SWEEP)
    run_sweep(load_plan(folder / "s.yaml"), folder / "out", SerialExecutor())
    return folder / "out"


def charts(html: str) -> list[str]:
    return re.findall(r'<svg class="chart"[^>]*aria-label="([^"]+)"', html)


def test_report_has_pareto_axes_failures_and_points(sweep_dir: Path) -> None:
    html = build_sweep_report(sweep_dir)
    names = charts(html)
    assert names[:2] == ["latency vs energy (µJ)", "latency vs area (mm²)"]
    # 3 axes (rows, clock, batch) × 3 metrics that vary; params is the same at every point
    assert len(names) == 2 + 3 * 3
    assert "utilization (fraction) against clock_mhz" in names
    assert "Constant metrics" in html and "<p>params</p>" in html
    assert html.count('class="frontier"') >= 2  # a frontier per network
    assert "Failed points" in html and "array.rows must be &gt; 0, not 0" in html
    points = html.split('id="points"')[1]
    assert points.count("<tr") == 1 + 2 * 2 * 4 * 20  # header + every point
    assert points.count('<tr class="failed">') == 2 * 2 * 20


def test_hover_shows_the_points_parameters(sweep_dir: Path) -> None:
    html = build_sweep_report(sweep_dir)
    hover = re.search(r"<title>(#\d+ lenet5 · array.rows=16, clock_mhz=[\d.]+, batch=\d[^<]*)</title>", html)
    assert hover and "latency" in hover[1] and "energy" in hover[1]


def test_many_axis_values_are_binned(sweep_dir: Path) -> None:
    html = build_sweep_report(sweep_dir)
    chart = next(svg for svg in html.split("<svg")[1:] if 'aria-label="latency (ms) against clock_mhz' in svg)
    assert chart.count("–") >= 8  # eight value ranges on the axis instead of twenty values


def test_area_is_in_mm2_from_the_area_model(sweep_dir: Path) -> None:
    columns, rows, _ = read_table(sweep_dir)
    at = columns.index("pe_count")
    assert columns[at : at + 3] == ["pe_count", "sram_bytes", "area_mm2"]
    areas = {(row["array.rows"], row["area_mm2"]) for row in rows}
    # rows × 32 PEs of 672.232 µm² each and 160 KiB of SRAM (0.907018 mm²); rows=0 fails
    # before it has an area
    assert areas == {(8, 1.07911), (16, 1.251201), (32, 1.595384), (0, None)}


def test_a_table_from_before_the_area_model_still_reports(sweep_dir: Path, tmp_path: Path) -> None:
    text = (sweep_dir / "results.csv").read_text()
    (tmp_path / "results.csv").write_text(text.replace(",area_mm2,", ",area_proxy,", 1))
    html = build_sweep_report(tmp_path / "results.csv")
    assert charts(html)[:2] == ["latency vs energy (µJ)", "latency vs area proxy (PEs + SRAM bytes)"]
    assert len(charts(html)) == 11  # its metrics are still the columns after the area column


def test_csv_without_metadata_still_reports(sweep_dir: Path, tmp_path: Path) -> None:
    table = tmp_path / "results.csv"
    table.write_text((sweep_dir / "results.csv").read_text())
    html = build_sweep_report(table)
    assert "axes: array.rows, clock_mhz" in html and len(charts(html)) == 11


def test_report_command_tells_runs_from_sweeps(sweep_dir: Path, tmp_path: Path) -> None:
    assert write_report(sweep_dir) == sweep_dir / "report.html"
    assert write_report(sweep_dir / "results.csv", tmp_path / "x.html") == tmp_path / "x.html"
    with pytest.raises(InputError, match=r"^report path must be a folder with summary.json, a sweep folder or a results table, not "):
        write_report(tmp_path)


def test_cli_simulate_report_and_sweep_report(tmp_path: Path, write_yaml) -> None:  # type: ignore[no-untyped-def]
    run = run_accel("simulate-network", "-n", "lenet5", "--out", str(tmp_path / "run"), "-q", "--report")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "run" / "report.html").is_file() and (tmp_path / "run" / "chip.yaml").is_file()
    again = run_accel("report", str(tmp_path / "run"), "--out", str(tmp_path / "again.html"))
    assert again.returncode == 0 and (tmp_path / "again.html").is_file()
    sweep = write_yaml("name: c\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16]}\n")
    swept = run_accel("sweep", str(sweep), "--out", str(tmp_path / "sw"), "--workers", "1", "--report", cwd=REPO)
    assert swept.returncode == 0, swept.stderr
    assert (tmp_path / "sw" / "report.html").is_file()
    bad = run_accel("report", str(tmp_path / "nothing"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: report path must be")

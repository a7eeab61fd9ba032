"""The report of a sweep: Pareto frontiers, metrics against axes, failures and the points table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, run_accel

from accel.errors import InputError
from accel.report.plots import heatmap_chart, sequential_color
from accel.report.sweep_axes import describe
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


SHAPES = """
name: shapes
networks: [lenet5]
grid: {array.rows: [8, 16], array.cols: [8, 16, 32], array.dataflow: [os, ws]}
"""


@pytest.fixture(scope="module")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep of array shapes with the default metrics (every summary metric)."""
    folder = tmp_path_factory.mktemp("shapes")
    (folder / "s.yaml").write_text(SHAPES)
    run_sweep(load_plan(folder / "s.yaml"), folder / "out", SerialExecutor())
    return folder / "out"


def charts(html: str) -> list[str]:
    return re.findall(r'<svg class="chart"[^>]*aria-label="([^"]+)"', html)


def test_report_has_pareto_axes_failures_and_points(sweep_dir: Path) -> None:
    html = build_sweep_report(sweep_dir)
    names = charts(html)
    assert names[:2] == ["latency vs energy (µJ)", "latency vs area (mm²)"]
    # 3 axes (rows, clock, batch) × 3 metrics that vary; params is the same at every point; the
    # sweep file named its metrics, so each is charted; no heatmap without array.cols
    assert len(names) == 2 + 3 * 3
    assert "Array shape" not in html and "Metrics not charted" not in html
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
    columns, rows, meta = read_table(sweep_dir)
    at = columns.index("pe_count")
    assert columns[at : at + 3] == ["pe_count", "sram_bytes", "area_mm2"]
    assert meta["metrics_chosen"] is True
    areas = {(row["array.rows"], row["area_mm2"]) for row in rows}
    # rows × 32 PEs of 672.232 µm² each and 160 KiB of SRAM (0.907018 mm²); rows=0 fails
    # before it has an area
    assert areas == {(8, 1.07911), (16, 1.251201), (32, 1.595384), (0, None)}


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


def test_default_metrics_chart_a_short_set_and_name_the_rest(shapes_dir: Path) -> None:
    assert read_table(shapes_dir)[2]["metrics_chosen"] is False
    html = build_sweep_report(shapes_dir)
    # dram write bytes vary: on some array shapes the fastest tiling spills partial sums
    charted = ["latency (ms)", "energy (µJ)", "utilization (fraction)", "dram read bytes",
               "dram write bytes"]  # fmt: skip
    axes = ["array.rows", "array.cols", "array.dataflow"]
    assert charts(html) == [
        "latency vs energy (µJ)",
        "latency vs area (mm²)",
        "lenet5: best latency (ms) by array shape",
        *(f"{metric} against {axis}" for axis in axes for metric in charted),
    ]
    left_out = html.split("<h2>Metrics not charted</h2>")[1].split("</section>")[0]
    assert (
        "the charts show latency_ms, energy_uj, utilization, dram_read_bytes, dram_write_bytes"
        in left_out
    )
    assert "<p>total_cycles, compute_cycles, stall_cycles, fps, tops_per_w," in left_out


def test_heatmap_shows_the_best_latency_per_array_shape(shapes_dir: Path) -> None:
    _, rows, _ = read_table(shapes_dir)
    html = build_sweep_report(shapes_dir)
    heatmap = html.split('aria-label="lenet5: best latency (ms) by array shape"')[1]
    heatmap = heatmap.split("</svg>")[0]
    cells = re.findall(r'<g><title>([^<]+)</title><rect [^>]*fill="(#[0-9a-f]{6})"', heatmap)
    assert len(cells) == 2 * 3  # rows × cols
    latencies = []
    for text, _ in cells:
        shape = re.match(r"lenet5, array.rows=(\d+), array.cols=(\d+): best latency \(ms\) ", text)
        assert shape, text
        group = [row for row in rows
                 if (row["array.rows"], row["array.cols"]) == (int(shape[1]), int(shape[2]))]  # fmt: skip
        best = min(group, key=lambda row: row["latency_ms"])
        assert text.endswith(f"of 2 points, at {describe(best, ['array.rows', 'array.cols', 'array.dataflow'])}")
        latencies.append(best["latency_ms"])
    colours = dict(zip(latencies, (fill for _, fill in cells), strict=True))
    assert colours[min(latencies)] == sequential_color(0.0) == "#440154"  # darkest: the lowest
    assert colours[max(latencies)] == sequential_color(1.0) == "#fde725"
    assert heatmap.count('width="14"') == 10  # the colour bar's swatches
    assert "each cell: the lowest latency_ms over the other axes" in html


def test_heatmap_chart_greys_empty_cells_and_goes_log_over_decades() -> None:
    cells = [[(1.0, "a"), None], [(10.0, "b"), (1000.0, "c")]]
    svg = heatmap_chart(["8", "16"], ["4", "32"], cells, "t", "cols", "rows", "latency (ms)")
    assert svg.count("<title>no successful point</title>") == 1
    assert "latency (ms) (log)" in svg  # 1 to 1000 spans three decades
    fills = re.findall(r"<title>([abc])</title><rect [^>]*fill=\"(#[0-9a-f]{6})\"", svg)
    assert dict(fills) == {"a": "#440154", "b": sequential_color(1 / 3), "c": "#fde725"}
    linear = heatmap_chart(["8"], ["4", "8"], [[(1.0, "a")], [(3.0, "b")]], "t", "c", "r", "v")
    assert "v (log)" not in linear and sequential_color(0.5) == "#21918c"


def test_a_table_from_before_the_area_model_still_reports(sweep_dir: Path, tmp_path: Path) -> None:
    text = (sweep_dir / "results.csv").read_text()
    (tmp_path / "results.csv").write_text(text.replace(",area_mm2,", ",area_proxy,", 1))
    html = build_sweep_report(tmp_path / "results.csv")
    assert charts(html)[:2] == ["latency vs energy (µJ)", "latency vs area proxy (PEs + SRAM bytes)"]
    assert len(charts(html)) == 11  # its metrics are still the columns after the area column

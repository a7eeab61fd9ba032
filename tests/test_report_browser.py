"""Reports opened in a real headless Chromium, as a user would: they render without console
errors, fetch nothing, show their charts and tables, and sort on a click. Screenshots are saved
(into $ACCEL_SCREENSHOTS when set, else the test's temp folder) for a person to look at.

Skipped when Chromium is absent; `.ci/run` installs Debian's `chromium` so CI runs these.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser import chromium_path, open_page

from accel.config import ChipConfig
from accel.io.sources import load_chip, load_network
from accel.report.compare_report import compare, write_compare_report
from accel.report.run_report import write_run_report
from accel.report.sweep_report import write_sweep_report
from accel.results import write_results
from accel.simulation import simulate_network
from accel.sweep.executors import SerialExecutor
from accel.sweep.plan import load_plan
from accel.sweep.runner import run_sweep

pytestmark = [
    pytest.mark.skipif(
        chromium_path() is None,
        reason="Chromium is not installed (apt-get install chromium; .ci/run does this)",
    ),
]
pytest.importorskip("websocket", reason="websocket-client (the test extra) is not installed")

# Counts what a reader sees, then sorts the first sortable table by its 'total_cycles' or
# 'latency_ms' column (a comparison: the first chip's cycles) with a real click, and reports
# whether the column came out ascending.
PROBE = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')];
  const table = document.querySelector('table.sortable');
  const headers = [...table.tHead.rows[0].cells].map(th => th.textContent);
  const column = headers.findIndex(h => h === 'total_cycles' || h === 'latency_ms'
                                         || h.endsWith(' cycles'));
  table.tHead.rows[0].cells[column].click();
  const values = [...table.tBodies[0].rows].map(r => parseFloat(r.cells[column].dataset.v))
    .filter(v => !isNaN(v));
  return {
    charts: charts.length,
    drawn: charts.filter(s => s.getBoundingClientRect().width > 300
                           && s.querySelectorAll('rect, circle, polyline').length > 2).length,
    tables: document.querySelectorAll('table.sortable').length,
    rows: table.tBodies[0].rows.length,
    cards: document.querySelectorAll('.card').length,
    timeline_bars: document.querySelectorAll('#timeline svg rect').length,
    heatmap_cells: [...document.querySelectorAll('svg.chart[aria-label*="by array shape"] g > rect')]
      .filter(r => r.getBoundingClientRect().width > 20).length,
    title: document.querySelector('h1').textContent,
    sorted: values.length > 1 && values.every((v, i) => i === 0 || values[i - 1] <= v),
  };
})()"""


def screenshot_path(tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("ACCEL_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def assert_looks_right(html: Path, shot: Path) -> dict[str, object]:
    visit = open_page(html, PROBE, shot)
    print(f"screenshot: {shot}")
    assert visit.console_errors == []
    assert visit.external_requests == []
    dom = visit.dom
    assert isinstance(dom, dict)
    assert dom["drawn"] == dom["charts"] and dom["sorted"] is True
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert int.from_bytes(png[20:24], "big") > 2000  # the full page, not one screen
    return dom


def test_run_report_renders(tmp_path: Path) -> None:
    result = simulate_network(load_network("mobilenet_v2"), ChipConfig(), 1)
    write_results(result, tmp_path)
    html = write_run_report(tmp_path, result)  # as --report writes it: with the timeline
    dom = assert_looks_right(html, screenshot_path(tmp_path, "run_report.png"))
    assert dom["title"] == "mobilenet_v2 on default"
    assert (dom["charts"], dom["tables"], dom["rows"], dom["cards"]) == (7, 2, 65, 7)
    assert dom["timeline_bars"] == 1 + 576  # the busiest layer's span and its 576 events


def test_compare_report_renders(tmp_path: Path) -> None:
    net = load_network("mobilenet_v2")
    chips = {"1:default": ChipConfig(), "2:eyeriss_like": load_chip("eyeriss_like")}
    comparison = compare({label: simulate_network(net, chip) for label, chip in chips.items()})
    html = write_compare_report(comparison, tmp_path / "report.html")
    dom = assert_looks_right(html, screenshot_path(tmp_path, "compare_report.png"))
    assert dom["title"] == "mobilenet_v2 on 2 chips"
    assert (dom["charts"], dom["tables"], dom["rows"], dom["cards"]) == (3, 1, 65, 10)


def test_sweep_report_renders(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        "name: browser\nnetworks: [lenet5, resnet18]\n"
        "grid: {array.rows: [8, 16, 32], array.cols: [8, 16, 32], array.dataflow: [os, ws]}\n"
        "metrics: [latency_ms, energy_uj, utilization]\n"
    )
    run_sweep(load_plan(sweep), tmp_path / "out", SerialExecutor())
    html = write_sweep_report(tmp_path / "out")
    dom = assert_looks_right(html, screenshot_path(tmp_path, "sweep_report.png"))
    assert dom["title"] == "sweep browser"
    # 2 Pareto plots, a rows × cols heatmap per network, 3 metrics against each of 3 axes
    assert (dom["charts"], dom["tables"], dom["rows"]) == (2 + 2 + 3 * 3, 1, 36)
    assert dom["heatmap_cells"] == 2 * 3 * 3  # drawn, each wider than 20 px


def test_a_broken_page_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><h1>x</h1><img src='http://127.0.0.1:9/a.png'>"
        "<script>console.error('drawn badly'); missingFunction();</script></body></html>"
    )
    visit = open_page(page, "document.title", tmp_path / "broken.png")
    assert "drawn badly" in visit.console_errors
    assert any("missingFunction is not defined" in error for error in visit.console_errors)
    assert visit.external_requests == ["http://127.0.0.1:9/a.png"]  # loopback only

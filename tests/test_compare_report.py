"""The comparison of one network on several chips: its numbers and its HTML page."""

from __future__ import annotations

import html as html_module
import re
from pathlib import Path

import pytest
from conftest import run_accel

from accel.config import ChipConfig
from accel.io.sources import load_chip, load_network
from accel.report.compare_report import build_compare_report, compare, write_compare_report
from accel.results import NetworkResult
from accel.simulation import simulate_network


@pytest.fixture(scope="module")
def results() -> dict[str, NetworkResult]:
    net = load_network("lenet5")
    return {
        "1:default": simulate_network(net, ChipConfig()),
        "2:eyeriss_like": simulate_network(net, load_chip("eyeriss_like")),
        "3:tpu_v1_like": simulate_network(net, load_chip("tpu_v1_like")),
    }


def cards(page: str) -> list[tuple[str, str, str]]:
    """(label, value with unit, detail) of every card, in page order."""
    found = re.findall(
        r'<div class="label">([^<]*)</div><div class="value">([^<]*)<span class="unit">([^<]*)'
        r'</span></div><div class="detail">([^<]*)</div>',
        page,
    )
    return [(label, f"{value} {unit}".strip(), detail) for label, value, unit, detail in found]


def test_per_layer_figures_are_each_chips_rows(results: dict[str, NetworkResult]) -> None:
    comparison = compare(results)
    eyeriss = results["2:eyeriss_like"].layers
    for row, layer in zip(comparison["layers"], eyeriss, strict=True):
        csv_row = layer.row()
        assert row["layer"] == layer.name and row["kind"] == csv_row["kind"]
        assert row["cycles"]["2:eyeriss_like"] == csv_row["total_cycles"]
        assert row["energy_uj"]["2:eyeriss_like"] == pytest.approx(csv_row["energy_pj"] / 1e6)
        assert row["dram_bytes"]["2:eyeriss_like"] == (
            layer.memory.dram_read_bytes + layer.memory.dram_write_bytes)  # fmt: skip
    assert comparison["arrays"]["2:eyeriss_like"] == "12x14 ws, 200 MHz"


def test_page_has_a_card_row_per_chip_with_ratios_to_the_first(
    results: dict[str, NetworkResult],
) -> None:
    page = build_compare_report(compare(results))
    found = cards(page)
    assert len(found) == 3 * 5
    assert [label for label, _, _ in found[:5]] == [
        "latency", "energy", "DRAM traffic", "utilization", "vs 1:default"
    ]  # fmt: skip
    headings = re.findall(r"<h3>([^<]*)</h3>", page)
    assert headings == ["1:default: default (32x32 ws, 1000 MHz)",
                        "2:eyeriss_like: eyeriss_like (12x14 ws, 200 MHz)",
                        "3:tpu_v1_like: tpu_v1_like (256x256 ws, 700 MHz)"]  # fmt: skip
    first = results["1:default"].summary()
    for row, label in enumerate(results):
        summary = results[label].summary()
        latency, _, dram, utilization, versus = found[5 * row : 5 * row + 5]
        assert latency[1] == f"{summary['latency_ms']:.4g} ms"
        assert latency[2] == f"{summary['total_cycles']:,} cycles"
        dram_bytes = summary["dram_read_bytes"] + summary["dram_write_bytes"]
        assert dram[2] == f"{dram_bytes:,} bytes"
        assert utilization[1] == f"{summary['utilization'] * 100:.1f} %"
        if row:
            ratio = summary["latency_ms"] / first["latency_ms"]
            assert versus[1] == f"{ratio:.3g}× latency"
            energy_ratio = summary["energy_uj"] / first["energy_uj"]
            assert versus[2].startswith(f"energy {energy_ratio:.3g}×")
    # eyeriss_like runs at 200 MHz against 1000: latency 17.1× for 3.42× the cycles
    assert found[9][1] == "17.1× latency"


def test_page_charts_and_table_carry_every_layer_on_every_chip(
    results: dict[str, NetworkResult],
) -> None:
    page = build_compare_report(compare(results))
    charts = re.findall(r'<svg class="chart"[^>]*aria-label="([^"]+)"', page)
    assert charts == ["total cycles per layer", "energy per layer", "DRAM traffic per layer"]
    cycles_chart = page[page.index('aria-label="total cycles per layer"'):]
    cycles_chart = cycles_chart[: cycles_chart.index("</svg>")]
    assert cycles_chart.count("<rect") == 7 * 3 + 3  # a bar per layer and chip, 3 swatches
    conv1 = {label: result.layers[0].total_cycles for label, result in results.items()}
    ratio = conv1["2:eyeriss_like"] / conv1["1:default"]
    assert f"conv1 on 2:eyeriss_like: {conv1['2:eyeriss_like']:,} cycles ({ratio:.3g}× " \
           "1:default)" in html_module.unescape(cycles_chart)  # fmt: skip
    body = page[page.index('id="compare-layers"'):]
    rows = re.findall(r"<tr>(.*?)</tr>", body[body.index("<tbody>"):])
    assert len(rows) == 7
    values = re.findall(r'data-v="([^"]*)"', rows[0])
    assert values[:5] == ["conv1", "conv", *(str(cycles) for cycles in conv1.values())]
    assert float(values[5]) == pytest.approx(ratio, rel=1e-4)
    assert values[-1] == min(conv1, key=lambda label: conv1[label])


def test_written_page_goes_where_asked(results: dict[str, NetworkResult], tmp_path: Path) -> None:
    path = write_compare_report(compare(results), tmp_path / "deep" / "cmp.html")
    assert path == tmp_path / "deep" / "cmp.html"
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["cmp.html", "deep"]


def test_cli_compare_report_writes_into_the_variants_folder(tmp_path: Path) -> None:
    result = run_accel("compare", "-n", "mobilenet_v1", "-p", "alpha=0.25", "-p",
                       "resolution=32", "--batch", "2", "default", "eyeriss_like", "--report",
                       "--no-layers", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "reports" / "compare_mobilenet_v1_alpha=0.25_resolution=32_batch2"
    assert f"wrote {folder.relative_to(tmp_path) / 'report.html'}" in result.stdout
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()] == [
        folder.relative_to(tmp_path) / "report.html"
    ]
    page = (folder / "report.html").read_text()
    assert "<h1>mobilenet_v1 on 2 chips</h1>" in page and len(cards(page)) == 10
    named = run_accel("compare", "-n", "lenet5", "default", "eyeriss_like", "--json", "--out",
                      str(tmp_path / "mine.html"))  # fmt: skip
    assert named.returncode == 0 and (tmp_path / "mine.html").is_file()
    assert named.stdout.startswith("{")  # --json keeps stdout to the JSON
    (tmp_path / "taken").write_text("")
    wrong = run_accel("compare", "-n", "lenet5", "default", "eyeriss_like", "--out",
                      str(tmp_path / "taken"))  # fmt: skip
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.strip().endswith("--out must be a .html file or a folder, not the "
                                         f"existing file {str(tmp_path / 'taken')!r}")  # fmt: skip

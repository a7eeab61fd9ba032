"""The report of one run, built from the output folder's files as they are."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.report.run_report import build_run_report, write_run_report
from accel.report.svg import color
from accel.results import write_results
from accel.simulation import simulate_network


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    result = simulate_network(load_network("lenet5"), ChipConfig(), 1)
    write_results(result, tmp_path)
    return tmp_path


def charts(html: str) -> list[str]:
    return re.findall(r'<svg class="chart"[^>]*aria-label="([^"]+)"', html)


def rewrite_layers(folder: Path, drop: str = "", add: dict[str, str] | None = None) -> None:
    with (folder / "layers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    kept = [c for c in rows[0] if not re.match(drop, c)] if drop else list(rows[0])
    columns = kept + list(add or {})
    with (folder / "layers.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**row, **(add or {})} for row in rows)


def test_full_report_has_every_chart_and_table(run_dir: Path) -> None:
    path = write_run_report(run_dir)
    html = path.read_text()
    assert path == run_dir / "report.html"
    assert charts(html) == [
        "cycles per layer", "utilization per layer", "DRAM traffic per layer",
        "energy by component", "energy per layer", "roofline",
    ]  # fmt: skip
    assert html.count('<table class="sortable"') == 2
    assert html.count("<tr>") >= 2 * 7  # seven LeNet layers in both tables
    assert "roof: 1024 MACs/cycle, 16 B/cycle" in html
    assert "array.rows" in html and "dram.bandwidth_bytes_per_cycle" in html
    summary = json.loads((run_dir / "summary.json").read_text())
    assert f"{summary['latency_ms']:.4g}" in html
    assert not re.search(r"(src|href)=\"https?:", html)  # nothing fetched from the network


def test_cycle_tooltips_carry_each_layers_numbers(run_dir: Path) -> None:
    html = build_run_report(run_dir)
    with (run_dir / "layers.csv").open() as handle:
        conv1 = next(csv.DictReader(handle))
    compute, stall = int(conv1["compute_cycles"]), int(conv1["stall_cycles"])
    assert f"conv1 (conv): compute {compute:,} + stall {stall:,} cycles" in html


def test_missing_optional_columns_skip_their_charts(run_dir: Path) -> None:
    rewrite_layers(run_dir, drop=r"^energy_.+_pj$|^compulsory")
    (run_dir / "chip.yaml").unlink()
    html = build_run_report(run_dir)
    assert "no energy_*_pj columns in layers.csv: breakdown skipped" in html
    assert "chip.yaml is missing from this folder" in html
    assert "roof:" not in html  # no bandwidth known, so no roof; the layers are still plotted
    assert "roofline" in charts(html) and "energy by component" not in charts(html)


def test_extra_columns_are_used_when_present(run_dir: Path) -> None:
    rewrite_layers(run_dir, add={"arithmetic_intensity": "12.5", "new_metric": "7"})
    html = build_run_report(run_dir)
    assert re.search(r"conv1 \((compute|memory|mapping)-bound\): 12.5 MACs/byte", html)
    assert "<th>new_metric</th>" in html  # unknown columns reach the full table


def test_without_the_bandwidth_the_bound_column_groups_the_roofline(run_dir: Path) -> None:
    rewrite_layers(run_dir, drop=r"^bound$", add={"bound": "compute"})
    (run_dir / "chip.yaml").unlink()
    html = build_run_report(run_dir)
    assert ">compute-bound</text>" in html and "conv1 (compute-bound): " in html


@pytest.fixture(scope="module")
def mobilenet_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, str]]]:
    folder = tmp_path_factory.mktemp("mobilenet_v2")
    write_results(simulate_network(load_network("mobilenet_v2"), ChipConfig(), 1), folder)
    with (folder / "layers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return build_run_report(folder), rows


def key_table_row(html: str, layer: str) -> list[str]:
    """The cells of one layer's row in the key table (the first table)."""
    key_table = html[html.index('id="layers"'):html.index('id="layers-all"')]
    row = re.search(rf'<tr><td data-v="{re.escape(layer)}">.*?</tr>', key_table)
    assert row is not None
    return re.findall(r'<td[^>]*data-v="([^"]*)"', row[0])


def test_verdicts_name_the_mapping_bound_layers(
    mobilenet_report: tuple[str, list[dict[str, str]]],
) -> None:
    """A depthwise layer computes nearly all the time on an array its mapping fills to 0.9%:
    mapping-bound, though the roofline alone calls it memory-bound by its intensity."""
    html, rows = mobilenet_report
    result = simulate_network(load_network("mobilenet_v2"), ChipConfig(), 1)
    for layer in result.layers:  # the report's verdict from layers.csv is the simulator's
        assert key_table_row(html, layer.name)[-1] == layer.verdict(16.0), layer.name
    dw = next(row for row in rows if row["layer"] == "features.1.dw")
    assert dw["bound"] == "memory" and float(dw["mapping_efficiency"]) < 0.01
    assert key_table_row(html, "features.1.dw")[-1] == "mapping"
    assert "features.1.dw (mapping-bound): " in html
    assert re.search(r"features.0 \(memory-bound\)", html)
    legend = re.findall(r'fill="(#[0-9a-f]+)"/><text[^>]*class="legend">([a-z]+-bound)<', html)
    assert legend == [(color(1), "mapping-bound"), (color(2), "memory-bound")]  # none compute


def test_layers_off_the_array_have_blank_gemm_cells(
    mobilenet_report: tuple[str, list[dict[str, str]]],
) -> None:
    html, _ = mobilenet_report
    cells = key_table_row(html, "features.3.add")
    assert cells[1:6] == ["add", "vector", "", "", ""]  # kind, unit, M, K, N
    assert key_table_row(html, "features.0")[3:6] == ["12544", "27", "32"]


def test_the_layers_with_most_cycles_are_named_on_the_roofline(
    mobilenet_report: tuple[str, list[dict[str, str]]],
) -> None:
    html, rows = mobilenet_report
    array = [row for row in rows if int(row["macs"])]
    busiest = sorted(array, key=lambda row: int(row["total_cycles"]), reverse=True)[:8]
    named = re.findall(r'class="tick point-label">([^<]+)<', html)
    assert sorted(named) == sorted(row["layer"] for row in busiest)


def test_per_layer_charts_fill_the_page_and_scale_their_units(tmp_path: Path) -> None:
    write_results(simulate_network(load_network("vgg16"), ChipConfig(), 1), tmp_path)
    html = build_run_report(tmp_path)
    for title in ("cycles per layer", "DRAM traffic per layer", "energy per layer", "roofline"):
        tag = re.search(rf'<svg class="chart"[^>]*aria-label="{title}"[^>]*>', html)
        assert tag is not None and "max-width" not in tag[0], title
    assert "DRAM traffic (MiB)" in html  # VGG16's fc6 moves ~98 MiB of weights
    assert "energy (mJ)" in html and "energy (µJ)" not in html


@pytest.mark.parametrize(("mismatches", "word", "css"), [(0, "PASS", "pass"), (3, "FAIL", "fail")])
def test_functional_check_card(run_dir: Path, mismatches: int, word: str, css: str) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["functional"] = {"reference": "onnxruntime", "mode": "onnx", "layers_checked": 7,
                             "mismatches": mismatches}  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary))
    html = build_run_report(run_dir)
    assert f'<div class="card {css}">' in html and f">{word}<" in html
    assert f"7 layers vs onnxruntime (onnx), {mismatches} mismatches" in html


def test_folder_without_results_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^report folder must hold summary.json \(from accel simulate-network\), not '"):
        build_run_report(tmp_path)


@pytest.mark.parametrize("network", ["lenet5", "mobilenet_v2"])
def test_the_report_from_memory_equals_the_report_from_the_files(network: str,
                                                                 tmp_path: Path) -> None:
    """`--report` builds the page from the run in memory; `accel report` from the files it
    wrote. The two pages are the same but for the timeline, which only the run in memory has
    (layers.csv holds no events), so the CSV round trip is not needed."""
    result = simulate_network(load_network(network, {}), ChipConfig(), 1)
    write_results(result, tmp_path)
    live, from_files = build_run_report(tmp_path, result), build_run_report(tmp_path)
    timeline = re.compile(r'<section id="timeline">.*?</section>')
    assert "timeline of" in charts(live)[-1] and "timeline of" not in charts(from_files)[-1]
    assert timeline.sub("", live) == timeline.sub("", from_files)


@pytest.mark.parametrize(
    ("microjoules", "shown"),
    [(108_305.7, ("108", "mJ")), (20.9, ("20.9", "µJ")), (0.0123, ("12.3", "nJ")),
     (2.5e7, ("25", "J")), (0, ("0", "µJ"))],
)  # fmt: skip
def test_energy_is_shown_in_the_unit_that_keeps_it_short(
    microjoules: float, shown: tuple[str, str]
) -> None:
    from accel.report.svg import format_energy

    assert format_energy(microjoules) == shown


def test_the_energy_card_of_a_large_network_reads_in_millijoules(tmp_path: Path) -> None:
    result = simulate_network(load_network("vgg16"), ChipConfig(), 1)
    write_results(result, tmp_path)
    html = build_run_report(tmp_path)
    millijoules = result.summary()["energy_uj"] / 1000
    assert f'{millijoules:.3g}<span class="unit">mJ</span>' in html

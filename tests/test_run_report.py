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
    rewrite_layers(run_dir, add={"arithmetic_intensity": "12.5", "bound": "compute", "new_metric": "7"})
    html = build_run_report(run_dir)
    assert "conv1: 12.5 MACs/byte" in html
    assert ">compute</text>" in html  # the bound column names the roofline's groups
    assert "<th>new_metric</th>" in html  # unknown columns reach the full table


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

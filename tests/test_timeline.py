"""The run report's timeline chart: layer ranges, the replayed spans, the cap on events."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_accel

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.report.run_report import build_run_report, write_run_report
from accel.report.timeline import TimelineView, busiest_layer, layer_range, timeline_view
from accel.results import NetworkResult, write_results
from accel.simulation import simulate_network

NAMES = ["conv1", "pool1", "conv2", "a:b"]


@pytest.fixture(scope="module")
def mobilenet() -> NetworkResult:
    return simulate_network(load_network("mobilenet_v2", {"resolution": 64}), ChipConfig())


def test_a_range_is_named_by_layer_names_or_positions() -> None:
    assert layer_range(NAMES, "pool1") == range(1, 2)
    assert layer_range(NAMES, "conv1:conv2") == range(0, 3)
    assert layer_range(NAMES, "1:3") == range(1, 4)
    assert layer_range(NAMES, "a:b") == range(3, 4)  # a name with a colon is a name


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("conv3", r"must name layers of the network \(a name, or a position 0–3\), not 'conv3' "
                  r"\(did you mean 'conv2'\?\)"),
        ("4", r"must name layers of the network \(a name, or a position 0–3\), not '4'$"),
        ("conv2:conv1", r"must name its first layer before its last, not 'conv2:conv1'"),
        ("conv1:", r"must name layers of the network \(a name, or a position 0–3\), not ''$"),
    ],
)  # fmt: skip
def test_a_bad_range_is_one_line_naming_the_option(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=f"^--report-timeline {message}"):
        layer_range(NAMES, spec)


def span_cycles(view: TimelineView, track: str) -> float:
    return sum(span.end - span.start for span in view.spans if view.tracks[span.track] == track)


def test_spans_sum_to_the_layers_cycles(mobilenet: NetworkResult) -> None:
    window = range(7, 11)  # features.3.dw … features.4.expand
    view = timeline_view(mobilenet, window)
    rows = [mobilenet.layers[i].row() for i in window]
    assert not view.truncated and view.names == tuple(row["layer"] for row in rows)
    assert view.shares == tuple(row["total_cycles"] for row in rows)
    assert span_cycles(view, "layers") == sum(row["total_cycles"] for row in rows)
    assert span_cycles(view, "compute") == sum(
        row["compute_cycles"] + row["refill_cycles"] for row in rows)  # fmt: skip
    assert view.tracks == ("layers", "DMA ifmap", "DMA weight", "compute", "write-back")
    layer_spans = [s for s in view.spans if s.track == 0]
    assert layer_spans[0].start == 0 and layer_spans[-1].end == sum(view.shares)
    assert max(s.end for s in view.spans) == sum(view.shares)  # nothing after the last layer


def test_the_busiest_layer_is_the_default(mobilenet: NetworkResult) -> None:
    cycles = [layer.total_cycles for layer in mobilenet.layers]
    busiest = busiest_layer(mobilenet)
    assert cycles[busiest.start] == max(cycles) and len(busiest) == 1


def test_a_long_range_is_cut_at_the_event_cap_and_says_so(mobilenet: NetworkResult) -> None:
    window = range(0, len(mobilenet.layers))
    full = timeline_view(mobilenet, window, max_events=10**6)
    cut = timeline_view(mobilenet, window, max_events=300)
    assert not full.truncated and full.events > 300
    assert cut.truncated and cut.events == 300
    events = [s for s in cut.spans if s.track]
    assert events == [s for s in full.spans if s.track][:300]
    horizon = max(s.end for s in events)
    assert max(s.end for s in cut.spans if s.track == 0) == horizon
    assert f"Only the first 300 events are drawn (up to cycle {horizon:,.0f} of " \
           f"{mobilenet.total_cycles:,})" in cut.note(chosen=True)  # fmt: skip


def test_report_of_a_live_run_draws_the_timeline_and_of_files_tells_how(
    mobilenet: NetworkResult, tmp_path: Path
) -> None:
    write_results(mobilenet, tmp_path)
    live = build_run_report(tmp_path, mobilenet, range(7, 8))
    assert 'aria-label="timeline of features.3.dw"' in live
    cycles = mobilenet.layers[7].total_cycles
    assert f"features.3.dw: {cycles:,} cycles (0–{cycles:,})" in live
    busiest = mobilenet.layers[busiest_layer(mobilenet).start].name
    default = build_run_report(tmp_path, mobilenet)
    assert f'aria-label="timeline of {busiest}"' in default
    assert "(the layer with the most cycles;" in default
    from_files = write_run_report(tmp_path).read_text()
    assert 'aria-label="timeline of' not in from_files
    assert "needs the live run (layers.csv holds no events)" in from_files


def test_cli_report_timeline_draws_the_chosen_layers(tmp_path: Path) -> None:
    result = run_accel("simulate-network", "-n", "lenet5", "-q", "--out", str(tmp_path),
                       "--report-timeline", "conv2:3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "report.html").read_text()  # --report-timeline implies --report
    assert re.search(r'aria-label="timeline of conv2 to pool2"', page)
    wrong = run_accel("simulate-network", "-n", "lenet5", "-q", "--out", str(tmp_path / "x"),
                      "--report-timeline", "conv9")  # fmt: skip
    assert wrong.returncode == 2 and not (tmp_path / "x").exists()
    assert "--report-timeline must name layers of the network" in wrong.stderr

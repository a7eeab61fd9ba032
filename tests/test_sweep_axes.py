"""The sweep report's charts against the axes, on hand-made rows: the heatmap's best cell, the
per-axis median and range, and the binning of a numeric axis with many values."""

from __future__ import annotations

import re
from typing import Any

from accel.report import sweep_axes

AXES = ["array.rows", "array.cols"]


def _rows() -> list[dict[str, Any]]:
    values = {(8, 8): [4.0, 3.0], (8, 16): [2.0, 5.0], (16, 8): [7.0, 6.0]}
    return [
        {"point": i, "network": "net", "array.rows": r, "array.cols": c, "latency_ms": v,
         "utilization": v / 10}
        for i, ((r, c), pair) in enumerate(values.items()) for v in pair
    ]  # fmt: skip


def test_describe_names_the_point_and_its_axes() -> None:
    row = {"point": 3, "network": "net", "array.rows": 8, "array.cols": 16}
    assert sweep_axes.describe(row, AXES) == "#3 net · array.rows=8, array.cols=16"


def test_heatmap_cells_hold_each_shapes_best_and_need_both_axes() -> None:
    html = sweep_axes.heatmaps(_rows(), AXES, ["latency_ms"])
    titles = re.findall(r"<title>(net, array.rows=[^<]+)</title>", html)
    assert [t.split(": best")[0] for t in titles] == [
        "net, array.rows=8, array.cols=8", "net, array.rows=8, array.cols=16",
        "net, array.rows=16, array.cols=8",
    ]  # fmt: skip
    assert [re.search(r"latency \(ms\) ([\d.]+) of 2 points", t)[1] for t in titles] == [  # type: ignore[index]
        "3", "2", "6"]  # fmt: skip
    # utilization is better higher: its best cell at 16×8 is 0.7, not 0.6
    assert "utilization (fraction) 0.7 of 2 points" in sweep_axes.heatmaps(
        _rows(), AXES, ["utilization"])  # fmt: skip
    assert sweep_axes.heatmaps(_rows(), ["array.rows"], ["latency_ms"]) == ""


def test_axis_section_gives_each_value_its_median_and_range() -> None:
    html = sweep_axes.axis_section(_rows(), "array.rows", ["latency_ms"], AXES, {"net": "#000"})
    assert "Metrics against array.rows" in html
    assert "net, array.rows=8: latency_ms median 3.5 (min 2, max 5) over 4 points" in html
    assert "net, array.rows=16: latency_ms median 6.5 (min 6, max 7) over 2 points" in html


def test_a_numeric_axis_with_many_values_is_cut_into_eight_bins() -> None:
    labels, key = sweep_axes._categories(list(range(0, 80, 4)))  # 20 values > 16
    assert len(labels) == 8 and key(0) == labels[0] and key(76) == labels[7]
    assert key(40) == labels[4]
    few, same = sweep_axes._categories([32, 8, 16, 8])
    assert few == ["8", "16", "32"] and same is str

"""The sweep report's charts against the swept axes: per network, a heatmap of the best value at
each array.rows × array.cols, and each charted metric's median and range at every value of an
axis (numeric axes with many values, as random sweeps have, binned into eight ranges)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from accel.report.page import section
from accel.report.plots import RangeSeries, heatmap_chart, range_chart
from accel.report.svg import format_number

HIGHER_IS_BETTER = {"utilization", "fps", "tops_per_w"}
_UNITS = {"ms": "ms", "uj": "µJ", "mhz": "MHz"}  # name suffixes that are unit abbreviations
_MAX_CATEGORIES = 16
_HEATMAP_AXES = ("array.rows", "array.cols")


def _label(metric: str) -> str:
    special = {
        "tops_per_w": "TOPS/W",
        "fps": "throughput (fps)",
        "utilization": "utilization (fraction)",
    }
    if metric in special:
        return special[metric]
    stem, _, suffix = metric.rpartition("_")
    unit = _UNITS.get(suffix)
    return f"{stem.replace('_', ' ')} ({unit})" if unit and stem else metric.replace("_", " ")


def describe(row: dict[str, Any], axes: Sequence[str]) -> str:
    """A point's parameters, for hover text and cards."""
    values = ", ".join(f"{axis}={row.get(axis)}" for axis in axes)
    return f"#{row.get('point')} {row.get('network')} · {values}"


def heatmaps(ok: list[dict[str, Any]], axes: list[str], charted: list[str]) -> str:
    """Per network, the best latency (or the first charted metric) at each array.rows ×
    array.cols over the other axes, when both are swept."""
    if not all(axis in axes for axis in _HEATMAP_AXES) or not charted:
        return ""
    metric = "latency_ms" if "latency_ms" in charted else charted[0]
    rows_axis, cols_axis = _HEATMAP_AXES
    row_labels, row_key = _categories([row.get(rows_axis) for row in ok])
    col_labels, col_key = _categories([row.get(cols_axis) for row in ok])
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in ok:
        if isinstance(row.get(metric), int | float):
            cell = (row_key(row.get(rows_axis)), col_key(row.get(cols_axis)))
            groups.setdefault((str(row.get("network")), *cell), []).append(row)
    charts = []
    for network in dict.fromkeys(key[0] for key in groups):
        grid = [
            [_best_cell(groups.get((network, r, c), []), metric, r, c, axes) for c in col_labels]
            for r in row_labels
        ]
        label = f"best {_label(metric)}"
        title = f"{network}: {label} by array shape"
        charts.append(heatmap_chart(col_labels, row_labels, grid, title, cols_axis, rows_axis,
                                    label))  # fmt: skip
    best = "highest" if metric in HIGHER_IS_BETTER else "lowest"
    note = (
        f"each cell: the {best} {metric} over the other axes at that array shape, per network "
        "(hover for the point); grey: no successful point"
    )
    return section("Array shape", f'<div class="grid2">{"".join(charts)}</div>', note)


def _best_cell(
    group: list[dict[str, Any]], metric: str, rows: str, cols: str, axes: list[str]
) -> tuple[float, str] | None:
    """A heatmap cell: the group's best value and where it is, or None for an empty group."""
    if not group:
        return None
    pick = max if metric in HIGHER_IS_BETTER else min
    best = pick(group, key=lambda row: row[metric])
    text = (
        f"{best.get('network')}, {_HEATMAP_AXES[0]}={rows}, {_HEATMAP_AXES[1]}={cols}: best "
        f"{_label(metric)} {format_number(best[metric])} of {len(group)} points, at "
        f"{describe(best, axes)}"
    )
    return best[metric], text


def axis_section(
    ok: list[dict[str, Any]],
    axis: str,
    metrics: list[str],
    axes: list[str],
    colors: dict[str, str],
) -> str:
    categories, key = _categories([row.get(axis) for row in ok])
    charts = []
    for metric in metrics:
        series = []
        for network, fill in colors.items():
            stats = []
            for category in categories:
                group = [
                    row for row in ok
                    if row.get("network") == network and key(row.get(axis)) == category
                    and isinstance(row.get(metric), int | float)
                ]  # fmt: skip
                stats.append(_stats(group, metric, axis, category, axes) if group else None)
            series.append(RangeSeries(network, fill, stats))
        charts.append(range_chart(categories, series, axis, _label(metric)))
    note = "per value: median (dot, joined by a line) and min–max range (bar) over the other axes"
    return section(f"Metrics against {axis}", f'<div class="grid3">{"".join(charts)}</div>', note)


def _categories(values: list[Any]) -> tuple[list[str], Any]:
    """Distinct values as labels, or bins when a numeric axis has many values (random sweeps)."""
    distinct = list(dict.fromkeys(values))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in distinct)
    if numeric:
        distinct.sort()
    if len(distinct) <= _MAX_CATEGORIES or not numeric:
        labels = [str(v) for v in distinct]
        return labels, str
    low, high = distinct[0], distinct[-1]
    width = (high - low) / 8
    edges = [low + width * i for i in range(9)]
    labels = [f"{format_number(edges[i])}–{format_number(edges[i + 1])}" for i in range(8)]

    def bin_of(value: Any) -> str:
        return labels[min(7, int((value - low) / width))]

    return labels, bin_of


def _stats(
    group: list[dict[str, Any]], metric: str, axis: str, category: str, axes: list[str]
) -> tuple[float, float, float, str]:
    values = [row[metric] for row in group]
    pick = max if metric in HIGHER_IS_BETTER else min
    best = pick(group, key=lambda row: row[metric])
    median = statistics.median(values)
    text = (
        f"{group[0].get('network')}, {axis}={category}: {metric} median {format_number(median)} "
        f"(min {format_number(min(values))}, max {format_number(max(values))}) over "
        f"{len(values)} points; best {format_number(best[metric])} at {describe(best, axes)}"
    )
    return min(values), median, max(values), text

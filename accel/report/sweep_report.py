"""The report of a sweep: Pareto plots, a rows × cols heatmap, metrics against each swept axis,
and the points.

It reads the results table (Parquet or CSV) and `sweep.json` beside it, which names the swept
axes and the metrics and says whether the sweep file chose them; without it the columns between
`batch` and `pe_count` are taken as axes. Pareto frontiers minimise both latency and the other
cost, per network (designs are compared on the same workload). Metrics the sweep file named are
all charted; with the default (every summary metric) only `_DEFAULT_CHARTED` are, the rest stay
in the table. Hovering any mark shows the point's parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accel.report.page import Card, cards, page, section, table
from accel.report.plots import (
    PointGroup,
    scatter_chart,
)
from accel.report.svg import attr, color, format_number
from accel.report.sweep_axes import HIGHER_IS_BETTER, axis_section, describe, heatmaps
from accel.results import write_atomically
from accel.sweep.store import read_table

_MAX_TABLE_ROWS = 5000
# Charted against the axes when the sweep file names no metrics (then every summary metric,
# ~30, is kept, and charting them all drew ~150 small charts for three axes).
_DEFAULT_CHARTED = ("latency_ms", "energy_uj", "utilization", "dram_read_bytes", "dram_write_bytes")
# The chip-size column after pe_count and sram_bytes, and its label; tables written before the
# area model have the PE count + SRAM bytes proxy instead.
_AREA_COLUMNS = {"area_mm2": "area (mm²)", "area_proxy": "area proxy (PEs + SRAM bytes)"}


def write_sweep_report(results: Path, out: Path | None = None) -> Path:
    """Write the report of a sweep folder (or table file) to `out` (default: report.html beside)."""
    path = out or (results if results.is_dir() else results.parent) / "report.html"
    write_atomically(path, build_sweep_report(results))
    return path


def build_sweep_report(results: Path) -> str:
    columns, rows, meta = read_table(results)
    axes = meta.get("axes") or _between(columns, "batch", "pe_count")
    if len({row.get("batch") for row in rows}) > 1:
        axes = [*axes, "batch"]
    area = next((name for name in _AREA_COLUMNS if name in columns), "area_mm2")
    metrics = meta.get("metrics") or _between(columns, area, "status")
    ok = [row for row in rows if row.get("status") == "ok"]
    networks = list(dict.fromkeys(str(row.get("network")) for row in rows))
    colors = {name: color(i) for i, name in enumerate(networks)}
    failed = len(rows) - len(ok)
    subtitle = (
        f"{len(rows):,} points ({failed:,} failed) · networks: {', '.join(networks)} · "
        f"axes: {', '.join(axes) or 'none'}"
    )
    varying = [m for m in metrics if _varies(ok, m)]
    charted = _charted(varying, meta.get("metrics_chosen"))
    sections = [
        section("Summary", cards(_cards(ok, rows, axes))),
        _pareto(ok, axes, colors, area),
        heatmaps(ok, axes, charted),
        *(axis_section(ok, axis, charted, axes, colors) for axis in axes),
        _failures(rows, axes),
        _points_table(columns, rows),
    ]
    left_out = [m for m in varying if m not in charted]
    if left_out:
        note = (
            f"the charts show {', '.join(charted)}, the default set when the sweep file names "
            "no metrics; these vary too and are in the table of points (list them under "
            "metrics: in the sweep file to chart them)"
        )
        sections.insert(
            -1, section("Metrics not charted", f"<p>{attr(', '.join(left_out))}</p>", note)
        )
    constant = [m for m in metrics if m not in varying]
    if constant:
        note = "the same at every point of a network, so not plotted against the axes"
        sections.insert(
            -1, section("Constant metrics", f"<p>{attr(', '.join(constant))}</p>", note)
        )
    return page(f"sweep {meta.get('name', results.stem)}", subtitle, sections)


def _charted(varying: list[str], chosen: bool | None) -> list[str]:
    """The metrics to chart: all the sweep file named, else the default set. A table without
    that flag in its sweep.json (or without sweep.json) gets the default set too, unless it has
    none of those metrics: then its list was chosen by hand, and all are charted."""
    if chosen:
        return varying
    default = [m for m in _DEFAULT_CHARTED if m in varying]
    return varying if chosen is None and not default else default


def _varies(ok: list[dict[str, Any]], metric: str) -> bool:
    """True when the metric changes between points of at least one network."""
    seen: dict[Any, set[Any]] = {}
    for row in ok:
        seen.setdefault(row.get("network"), set()).add(row.get(metric))
    return any(len(values) > 1 for values in seen.values())


def _between(columns: Sequence[str], first: str, last: str) -> list[str]:
    if first in columns and last in columns:
        return list(columns[columns.index(first) + 1 : columns.index(last)])
    return []


def _cards(ok: list[dict[str, Any]], rows: list[dict[str, Any]], axes: list[str]) -> list[Card]:
    items = [
        Card("points", f"{len(rows):,}", "", f"{len(rows) - len(ok):,} failed",
             "fail" if len(ok) < len(rows) else ""),
    ]  # fmt: skip
    for metric, label, unit in (
        ("latency_ms", "lowest latency", "ms"),
        ("energy_uj", "lowest energy", "µJ"),
        ("tops_per_w", "best efficiency", "TOPS/W"),
        ("utilization", "best utilization", ""),
    ):
        candidates = [row for row in ok if isinstance(row.get(metric), int | float)]
        if not candidates:
            continue
        pick = max if metric in HIGHER_IS_BETTER else min
        best = pick(candidates, key=lambda row: row[metric])
        value = (
            f"{best[metric] * 100:.1f}" if metric == "utilization" else format_number(best[metric])
        )
        unit = "%" if metric == "utilization" else unit
        items.append(Card(label, value, unit, describe(best, axes)))
    return items


def pareto_front(points: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Points no other point beats on both coordinates (both minimised)."""
    front: list[tuple[float, float, str]] = []
    for point in sorted(points, key=lambda p: (p[0], p[1])):
        if not front or point[1] < front[-1][1]:
            front.append(point)
    return front


def _pareto(ok: list[dict[str, Any]], axes: list[str], colors: dict[str, str], area: str) -> str:
    charts = []
    for other, label in (("energy_uj", "energy (µJ)"), (area, _AREA_COLUMNS[area])):
        groups = []
        for network, fill in colors.items():
            points = [
                (row["latency_ms"], row[other],
                 f"{describe(row, axes)} · latency {row['latency_ms']:.4g} ms, "
                 f"{label} {format_number(row[other])}")
                for row in ok
                if row.get("network") == network
                and isinstance(row.get("latency_ms"), int | float)
                and isinstance(row.get(other), int | float)
            ]  # fmt: skip
            if points:
                groups.append(PointGroup(network, fill, points, pareto_front(points)))
        if groups:
            charts.append(scatter_chart(groups, f"latency vs {label}", "latency (ms)", label))
    if not charts:
        return section("Pareto", '<p class="note">needs latency_ms and energy_uj metrics</p>')
    note = "outlined points joined by a line are the Pareto frontier of each network"
    return section("Pareto frontiers", f'<div class="grid2">{"".join(charts)}</div>', note)


def _failures(rows: list[dict[str, Any]], axes: list[str]) -> str:
    failed = [row for row in rows if row.get("status") != "ok"]
    if not failed:
        return section("Failed points", '<p class="note">none: every point simulated</p>')
    return section(
        "Failed points",
        table("failures", ["point", "network", *axes, "error"], failed),
        f"{len(failed):,} points failed; the sweep went on without them",
    )


def _points_table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    shown = rows[:_MAX_TABLE_ROWS]
    note = "click a header to sort, type to filter"
    if len(rows) > len(shown):
        note += f"; the first {len(shown):,} of {len(rows):,} points (all are in the table file)"
    flags = [row.get("status") != "ok" for row in shown]
    return section("Points", table("points", columns, shown, flags, filter_box=True), note)

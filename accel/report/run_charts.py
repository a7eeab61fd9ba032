"""The charts of one simulation's report: cycles, utilization, DRAM traffic and energy per
layer, and the roofline, each a section built from layers.csv's rows (a chart whose columns
are missing becomes a note)."""

from __future__ import annotations

import re
from typing import Any

from accel.report.charts import Series, bar_chart, hbar_chart
from accel.report.page import section
from accel.report.plots import PointGroup, scatter_chart
from accel.report.svg import byte_unit, color, energy_unit

_LABELLED = 8  # roofline points named on the chart: the layers with the most cycles
VERDICT_ORDER = {"compute-bound": 0, "mapping-bound": 1, "memory-bound": 2}  # legend colours
ENERGY = re.compile(r"^energy_(.+)_pj$")
DRAM = re.compile(r"^dram_(.+)_bytes$")


def layer_names(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row.get("layer", i)) for i, row in enumerate(rows)]


def cycles_chart(rows: list[dict[str, Any]]) -> str:
    compute = [float(r.get("compute_cycles") or 0) for r in rows]
    stall = [float(r.get("stall_cycles") or 0) for r in rows]
    tips = [
        f"{r.get('layer')} ({r.get('kind')}): compute {c:,.0f} + stall {s:,.0f} cycles"
        for r, c, s in zip(rows, compute, stall, strict=True)
    ]
    chart = bar_chart(
        layer_names(rows),
        [Series("compute", compute, color(0)), Series("stall", stall, color(3))],
        "cycles per layer", "cycles", tips,
    )  # fmt: skip
    return section("Cycles per layer", chart, "compute cycles and DRAM stall cycles, stacked")


def utilization_chart(rows: list[dict[str, Any]]) -> str:
    util = [float(r.get("utilization") or 0) for r in rows]
    tips = [
        f"{r.get('layer')} on {r.get('unit', '?')}: utilization {u:.1%}, "
        f"mapping efficiency {float(r.get('mapping_efficiency') or 0):.1%}"
        for r, u in zip(rows, util, strict=True)
    ]
    chart = bar_chart(
        layer_names(rows), [Series("utilization", util, color(2))], "utilization per layer",
        "utilization (MACs / cycles·PEs)", tips, percent=True,
    )  # fmt: skip
    return section("Utilization per layer", chart, "layers off the array have no MACs")


def dram_chart(rows: list[dict[str, Any]], columns: list[str]) -> str:
    operands = [c for c in columns if DRAM.match(c)]
    if not operands:
        return section("DRAM traffic per layer", '<p class="note">no dram_*_bytes columns</p>')
    scale, unit = byte_unit(max((float(r["dram_bytes"]) for r in rows), default=0.0))
    series = [
        Series(DRAM.sub(r"\1", c), [float(r.get(c) or 0) / scale for r in rows], color(i))
        for i, c in enumerate(operands)
    ]
    tips = [
        f"{r.get('layer')}: " + ", ".join(f"{s.name} {s.values[i]:,.4g} {unit}" for s in series)
        for i, r in enumerate(rows)
    ]
    chart = bar_chart(layer_names(rows), series, "DRAM traffic per layer", f"DRAM traffic ({unit})",
                      tips)  # fmt: skip
    return section("DRAM traffic per operand", chart, "bytes moved between DRAM and SRAM")


def energy_section(rows: list[dict[str, Any]], columns: list[str]) -> str:
    parts = [c for c in columns if ENERGY.match(c)]
    if not parts:
        return section(
            "Energy", '<p class="note">no energy_*_pj columns in layers.csv: breakdown skipped</p>'
        )
    whole, whole_unit = energy_unit(sum(float(r.get("energy_pj") or 0) for r in rows) / 1e6)
    totals = [
        (ENERGY.sub(r"\1", c), sum(float(r.get(c) or 0) for r in rows) / 1e6 / whole, color(i))
        for i, c in enumerate(parts)
    ]
    overall = hbar_chart(totals, "energy by component", whole_unit)
    scale, unit = energy_unit(max((float(r.get("energy_pj") or 0) for r in rows), default=0) / 1e6)
    series = [
        Series(name, [float(r.get(c) or 0) / 1e6 / scale for r in rows], fill)
        for c, (name, _, fill) in zip(parts, totals, strict=True)
    ]
    tips = [f"{r.get('layer')}: {float(r.get('energy_pj') or 0) / 1e6 / scale:,.4g} {unit}"
            for r in rows]  # fmt: skip
    per_layer = bar_chart(layer_names(rows), series, "energy per layer", f"energy ({unit})", tips)
    return section(
        "Energy breakdown", overall + per_layer, "whole network by component, then per layer"
    )


def roofline(rows: list[dict[str, Any]], chip: dict[str, Any], summary: dict[str, Any]) -> str:
    peak, bandwidth = peak_and_bandwidth(chip, summary)
    groups: dict[str, list[tuple[float, float, str]]] = {}
    named: list[tuple[float, float, float, str]] = []  # (cycles, x, y, layer)
    for row in rows:
        macs, cycles, dram = row.get("macs") or 0, row.get("total_cycles") or 0, row["dram_bytes"]
        intensity = row.get("arithmetic_intensity") or (macs / dram if dram else 0)
        if not (macs and cycles and intensity):
            continue
        achieved = macs / cycles
        found = row.get("verdict") or row.get("bound") or _bound(intensity, peak, bandwidth)
        group = f"{found}-bound" if found else "layers"
        text = (f"{row.get('layer')} ({group}): {intensity:,.1f} MACs/byte, "
                f"{achieved:,.1f} MACs/cycle, {cycles:,} cycles")  # fmt: skip
        groups.setdefault(group, []).append((intensity, achieved, text))
        named.append((cycles, intensity, achieved, str(row.get("layer"))))
    if not groups:
        return section("Roofline", '<p class="note">no layer with MACs and DRAM traffic</p>')
    lines = []
    if peak and bandwidth:
        xs = [p[0] for g in groups.values() for p in g]
        low, high = min(xs) / 2, max(xs) * 2
        ridge = peak / bandwidth
        roof = [(low, min(peak, bandwidth * low))]
        roof += [(ridge, peak)] if low < ridge < high else []
        roof += [(high, min(peak, bandwidth * high))]
        lines.append((roof, "#111", f"roof: {peak} MACs/cycle, {bandwidth:g} B/cycle"))
    # Each verdict keeps its colour whichever others are present.
    ordered = sorted(groups.items(), key=lambda item: VERDICT_ORDER.get(item[0], 3))
    labels = [(x, y, layer) for _, x, y, layer in sorted(named, reverse=True)[:_LABELLED]]
    chart = scatter_chart(
        [PointGroup(name, color(VERDICT_ORDER.get(name, 3)), pts) for name, pts in ordered],
        "roofline", "arithmetic intensity (MACs per DRAM byte)", "achieved MACs per cycle", lines,
        full_width=True, labels=labels,
    )  # fmt: skip
    note = (
        "each array layer as a point, coloured by what its time goes to: memory-bound (its DRAM "
        "bytes at the channel's bandwidth take at least as long as its compute), mapping-bound "
        "(computing on an array its mapping fills to less than half: far below the roof), "
        "compute-bound; the dashed "
        f"roof is min(PEs, bandwidth × intensity); the {_LABELLED} layers with the most cycles "
        "are named"
    )
    return section("Roofline", chart, note)


def peak_and_bandwidth(chip: dict[str, Any], summary: dict[str, Any]) -> tuple[int, float]:
    array, dram = chip.get("array") or {}, chip.get("dram") or {}
    peak = int(array.get("rows", 0)) * int(array.get("cols", 0))
    if not peak:
        shape = re.match(r"(\d+)x(\d+)", str(summary.get("array", "")))
        peak = int(shape[1]) * int(shape[2]) if shape else 0
    return peak, float(dram.get("bandwidth_bytes_per_cycle", 0))


def _bound(intensity: float, peak: int, bandwidth: float) -> str:
    """The roofline's verdict, for a table without the cycles to tell (empty: no roof known)."""
    if not (peak and bandwidth):
        return ""
    return "memory" if intensity < peak / bandwidth else "compute"

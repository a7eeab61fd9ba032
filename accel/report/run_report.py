"""The report of one simulation: an HTML page built from the output folder's files.

It reads `summary.json`, `layers.csv` and, when present, `chip.yaml`, generically: unknown
columns are shown in the full table, and a chart whose columns are missing is replaced by a
note. Energy components are the `energy_*_pj` columns, DRAM operands the `dram_*_bytes` columns;
the roofline takes `arithmetic_intensity` when a column gives it, else MACs per DRAM byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from accel.errors import InputError
from accel.io.tables import read_csv
from accel.report.charts import hbar_chart
from accel.report.core_timeline import cores_timeline
from accel.report.page import Card, cards, page, params_grid, section, table
from accel.report.run_charts import (
    DRAM,
    cycles_chart,
    dram_chart,
    energy_section,
    peak_and_bandwidth,
    roofline,
    utilization_chart,
)
from accel.report.svg import attr, byte_unit, color, format_energy, format_number
from accel.report.timeline import busiest_layer, timeline_view
from accel.results import NetworkResult, verdict, write_atomically
from accel.sweep.points import flatten_fields
from accel.user_input import parse_yaml, read_user_file

_KEY_COLUMNS = (
    "layer", "kind", "unit", "M", "K", "N", "macs", "compute_cycles", "stall_cycles",
    "total_cycles", "utilization", "mapping_efficiency", "dram_bytes", "energy_uj",
    "arithmetic_intensity", "verdict",
)  # fmt: skip
# Columns that describe a GEMM on the array: blank (not 0) for a layer off the array.
_ARRAY_ONLY = (
    "M", "K", "N", "groups", "dataflow", "mapping_efficiency", "row_folds", "col_folds",
    "cycles_per_fold", "fold_period_cycles", "fold_overlap", "folds", "used_pe_fraction_min",
)  # fmt: skip


def write_run_report(
    out_dir: Path, result: NetworkResult | None = None, timeline: range | None = None
) -> Path:
    """Write `report.html` into a simulate-network output folder and return its path; built
    from `result` when the run is at hand (`--report`), else from the folder's files. The
    timeline chart shows the layers at the positions `timeline` (default: the busiest one)."""
    path = out_dir / "report.html"
    write_atomically(path, build_run_report(out_dir, result, timeline))
    return path


def build_run_report(
    out_dir: Path, result: NetworkResult | None = None, timeline: range | None = None
) -> str:
    if result is None:
        return render_run_report(*_read_run(out_dir))
    rows = result.rows()
    columns = list(rows[0]) if rows else []
    return render_run_report(result.summary(), columns, rows, _as_read(result.chip.model_dump()),
                             _timeline_section(result, timeline))  # fmt: skip


def _as_read(value: Any) -> Any:
    """The chip's fields as chip.yaml gives them back: tuples (memory.activation_buffers) as
    lists, so the page from memory and the page from the files are the same."""
    if isinstance(value, dict):
        return {key: _as_read(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_as_read(item) for item in value]
    return value


def _read_run(out_dir: Path) -> tuple[dict[str, Any], list[str], list[dict[str, Any]], Any]:
    """(summary, columns, rows, chip) of a simulate-network output folder, checked."""
    summary_file, layers_file = out_dir / "summary.json", out_dir / "layers.csv"
    for required in (summary_file, layers_file):
        if not required.is_file():
            raise InputError(
                f"report folder must hold {required.name} (from accel simulate-network), "
                f"not {str(out_dir)!r}"
            )
    try:
        summary: dict[str, Any] = json.loads(read_user_file(summary_file, "summary"))
    except json.JSONDecodeError as err:
        raise InputError(f"{summary_file}: must be the JSON accel wrote ({err.msg} at line "
                         f"{err.lineno})") from None  # fmt: skip
    if not isinstance(summary, dict):
        raise InputError(f"{summary_file}: must be a JSON object, not {type(summary).__name__}")
    columns, rows = read_csv(layers_file)
    missing = [c for c in ("layer", "kind", "total_cycles", "energy_pj") if c not in columns]
    if missing:
        raise InputError(f"{layers_file}: must be the layers.csv accel wrote, with columns "
                         f"layer, kind, total_cycles, energy_pj; it lacks {missing}")
    chip_file = out_dir / "chip.yaml"
    chip = (parse_yaml(read_user_file(chip_file, "chip"), str(chip_file))
            if chip_file.is_file() else {})  # fmt: skip
    return summary, columns, rows, chip


def render_run_report(
    summary: dict[str, Any],
    columns: list[str],
    rows: list[dict[str, Any]],
    chip: Any,
    timeline: str = "",
) -> str:
    """The report page of one run; `timeline` is its timeline section when the run was live."""
    bandwidth = peak_and_bandwidth(chip, summary)[1]
    rows = [_derived(row, columns, bandwidth) for row in rows]
    title = f"{summary.get('network', '?')} on {summary.get('chip', '?')}"
    subtitle = (
        f"array {summary.get('array', '?')}, {summary.get('clock_mhz', 0):g} MHz, "
        f"batch {summary.get('batch', '?')}, {summary.get('layers', len(rows))} layers"
    )
    sections = [
        section("Summary", cards(_cards(summary))),
        section("Chip", _chip_params(chip, summary), anchor="chip"),
        _training_section(summary),
        cycles_chart(rows),
        utilization_chart(rows),
        dram_chart(rows, columns),
        energy_section(rows, columns),
        roofline(rows, chip, summary),
        timeline or _timeline_section(None),
        _layer_tables(rows, columns),
    ]
    return page(title, subtitle, sections)


_PASS_NAMES = {
    "forward": "forward", "backward_data": "backward: data (dX)",
    "backward_weight": "backward: weights (dW)", "update": "optimizer update",
}  # fmt: skip
_MEMORY_PARTS = {
    "weights": "weights", "gradients": "gradients", "optimizer_state": "optimizer state",
    "activations": "stored activations",
}  # fmt: skip


def _training_section(summary: dict[str, Any]) -> str:
    """A training step's time per pass and its memory, when the run was one ("" otherwise)."""
    training = summary.get("training")
    if not isinstance(training, dict):
        return ""
    passes = [(label, float(training["cycles"].get(name, 0)), color(i))
              for i, (name, label) in enumerate(_PASS_NAMES.items())]  # fmt: skip
    memory = training["memory_bytes"]
    scale, unit = byte_unit(max(memory[name] for name in _MEMORY_PARTS))
    parts = [(label, memory[name] / scale, color(i))
             for i, (name, label) in enumerate(_MEMORY_PARTS.items())]  # fmt: skip
    note = (
        f"{training['optimizer']}, {training['precision']}, activations "
        f"{training.get('activations', 'keep')}: {training['steps_per_s']:.4g} steps/s; "
        f"stored activations {training['per_image_bytes']['activations']:,} bytes per image; "
        f"the largest batch that fits {training['dram_capacity_bytes'] / 2**20:,.0f} MiB of "
        f"DRAM: {training['max_batch']:,}"
    )
    charts = (hbar_chart(passes, "cycles per pass", "cycles")
              + hbar_chart(parts, f"memory of the step (batch {summary.get('batch', 1)})", unit))
    return section("Training step", charts, note, anchor="training")


def _derived(row: dict[str, Any], columns: list[str], bandwidth: float) -> dict[str, Any]:
    """A copy of a layers.csv row with the derived columns (dram_bytes, energy_uj, and the
    verdict when the DRAM bandwidth is known) and the array's columns blank when the layer is
    not on the array."""
    row = dict(row)
    row["dram_bytes"] = sum(row.get(c) or 0 for c in columns if DRAM.match(c))
    row["energy_uj"] = (row.get("energy_pj") or 0) / 1e6
    on_array = row.get("unit", "array") == "array"
    compute, efficiency = row.get("compute_cycles"), row.get("mapping_efficiency")
    if bandwidth and isinstance(compute, int):
        fill = float(efficiency) if on_array and isinstance(efficiency, int | float) else None
        row["verdict"] = verdict(compute, row["dram_bytes"] / bandwidth, fill)
    if not on_array:
        row.update((column, "") for column in _ARRAY_ONLY if column in row)
    return row


def _cards(s: dict[str, Any]) -> list[Card]:
    read, write = s.get("dram_read_bytes", 0), s.get("dram_write_bytes", 0)
    compulsory = s.get("compulsory_dram_bytes")
    energy_j = s.get("energy_uj", 0) * 1e-6
    tops_w = s.get("tops_per_w") or (2 * s.get("macs", 0) / energy_j / 1e12 if energy_j else 0)
    items = [
        Card(
            "latency", f"{s.get('latency_ms', 0):.4g}", "ms",
            f"{s.get('total_cycles', 0):,} cycles",
        ),
        Card("throughput", format_number(s.get("fps", 0)), "fps", f"batch {s.get('batch', 1)}"),
        Card(
            "utilization", f"{s.get('utilization', 0) * 100:.1f}", "%",
            f"stall {s.get('stall_cycles', 0):,} of {s.get('total_cycles', 0):,} cycles",
        ),
        Card("energy", *format_energy(s.get("energy_uj", 0)), "per batch"),
        Card(
            "DRAM traffic", f"{(read + write) / 2**20:.3g}", "MiB",
            f"read {read / 2**20:.3g}, write {write / 2**20:.3g}"
            + (f", compulsory {compulsory / 2**20:.3g}" if compulsory else ""),
        ),
        Card("efficiency", f"{tops_w:.3g}", "TOPS/W", "2 ops per MAC"),
        Card("work", format_number(s.get("macs", 0)), "MACs", f"{s.get('params', 0):,} params"),
    ]  # fmt: skip
    functional = s.get("functional")
    if isinstance(functional, dict):
        mismatches = functional.get("mismatches", 0)
        ok = not mismatches and not functional.get("mismatched_tensors")
        items.append(
            Card(
                "functional check", "PASS" if ok else "FAIL", "",
                f"{functional.get('layers_checked', '?')} layers vs "
                f"{functional.get('reference', '?')} ({functional.get('mode', '?')}), "
                f"{mismatches} mismatches",
                "pass" if ok else "fail",
            )
        )  # fmt: skip
    return items


def _chip_params(chip: dict[str, Any], summary: dict[str, Any]) -> str:
    if not chip:
        known = [(k, summary[k]) for k in ("chip", "array", "clock_mhz") if k in summary]
        return params_grid(known) + '<p class="note">chip.yaml is missing from this folder.</p>'
    described = f"{chip.get('name', '')}: {chip.get('description', '')}"
    pairs: list[tuple[str, Any]] = [
        (key, "—" if value is None else value)
        for key, value in flatten_fields(chip)
        if key not in ("name", "description")
    ]
    return f'<p class="note">{attr(described)}</p>' + params_grid(pairs)


def _timeline_section(result: NetworkResult | None, layers: range | None = None) -> str:
    """Events of a few layers (the busiest by default) from the live run, or how to get them."""
    if result is None or not result.layers:
        return section("Timeline", '<p class="note">The timeline of DMA loads, compute steps and '
                       "write-backs needs the live run (layers.csv holds no events): run accel "
                       "simulate-network with --report, and --report-timeline FIRST[:LAST] to "
                       "choose the layers; --timeline FILE.json writes every event for "
                       "Perfetto.</p>", anchor="timeline")  # fmt: skip
    if result.core_run is not None:
        return section("Timeline", *cores_timeline(result, result.core_run), anchor="timeline")
    view = timeline_view(result, layers if layers is not None else busiest_layer(result))
    if not view.spans:
        return section("Timeline", '<p class="note">These layers move no data and compute '
                       "nothing: no events.</p>", anchor="timeline")  # fmt: skip
    return section("Timeline", view.chart(), view.note(layers is not None), anchor="timeline")


def _layer_tables(rows: list[dict[str, Any]], columns: list[str]) -> str:
    key = [c for c in _KEY_COLUMNS if any(c in row for row in rows[:1])]
    full = table("layers-all", columns, rows, filter_box=True)
    return section(
        "Layers",
        table("layers", key, rows, filter_box=True)
        + f"<details><summary>all {len(columns)} columns of layers.csv</summary>{full}</details>",
        "click a column header to sort; dram_bytes and energy_uj are derived here",
    )

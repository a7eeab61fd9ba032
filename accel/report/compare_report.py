"""One network on several chips, side by side: the numbers `accel compare` prints and its
HTML page (`--report`).

The comparison holds each chip's totals, their ratios to the first chip's, and each layer's
cycles, energy and DRAM bytes per chip. The page shows a row of cards per chip, grouped
per-layer charts (one colour per chip) and a sortable per-layer table with the ratios; like the
run report it is one self-contained file that opens offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.report.charts import Series, grouped_bar_chart
from accel.report.page import Card, cards, page, section, table
from accel.report.svg import attr, color, format_energy, format_number
from accel.results import NetworkResult, prepare_out_dir, write_atomically

# (summary key, label, format) of the totals compared.
TOTALS = (
    ("total_cycles", "total cycles", "{:,}"),
    ("stall_cycles", "stall cycles", "{:,}"),
    ("utilization", "utilization", "{:.1%}"),
    ("latency_ms", "latency ms", "{:,.3f}"),
    ("energy_uj", "energy µJ", "{:,.1f}"),
    ("dram_bytes", "DRAM bytes", "{:,}"),
)
_DRAM_COLUMNS = ("dram_ifmap_bytes", "dram_weight_bytes", "dram_ofmap_write_bytes",
                 "dram_ofmap_read_bytes")  # fmt: skip


def compare(results: dict[str, NetworkResult]) -> dict[str, Any]:
    """The totals of each chip (keyed by its label), their ratios to the first chip's, and each
    layer's total cycles, energy (µJ) and DRAM bytes per chip."""
    labels = list(results)
    summaries = {label: result.summary() for label, result in results.items()}
    for summary in summaries.values():
        summary["dram_bytes"] = summary["dram_read_bytes"] + summary["dram_write_bytes"]
    first = summaries[labels[0]]
    totals = {label: {key: summary[key] for key, _, _ in TOTALS}
              for label, summary in summaries.items()}  # fmt: skip
    ratios = {
        label: {key: (summary[key] / first[key] if first[key] else None) for key, _, _ in TOTALS}
        for label, summary in summaries.items()
    }
    chip_layers = zip(*(results[label].layers for label in labels), strict=True)
    per_layer = [_layer(labels, [layer.row() for layer in layers]) for layers in chip_layers]
    return {
        "network": first["network"],
        "batch": first["batch"],
        "chips": {label: summaries[label]["chip"] for label in labels},
        "arrays": {label: _array(summaries[label]) for label in labels},
        "totals": totals,
        "ratio_to_first": ratios,
        "layers": per_layer,
    }


def _array(summary: dict[str, Any]) -> str:
    return f"{summary['array']}, {summary['clock_mhz']:g} MHz"


def _layer(labels: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One layer's figures on every chip, from each chip's layers.csv row."""
    on = dict(zip(labels, rows, strict=True))
    return {
        "layer": rows[0]["layer"],
        "kind": rows[0]["kind"],
        "cycles": {label: row["total_cycles"] for label, row in on.items()},
        "energy_uj": {label: row["energy_pj"] / 1e6 for label, row in on.items()},
        "dram_bytes": {
            label: sum(row[column] for column in _DRAM_COLUMNS) for label, row in on.items()
        },
    }


def write_compare_report(comparison: dict[str, Any], path: Path) -> Path:
    """Write the comparison page to `path` (its folder is created) and return the path."""
    prepare_out_dir(path.parent)
    write_atomically(path, build_compare_report(comparison))
    return path


def build_compare_report(comparison: dict[str, Any]) -> str:
    labels = list(comparison["chips"])
    title = f"{comparison['network']} on {len(labels)} chips"
    subtitle = (f"batch {comparison['batch']}; ratios are to {labels[0]} "
                f"({comparison['arrays'][labels[0]]})")  # fmt: skip
    sections = [
        section("Chips", "".join(_chip_cards(comparison, label) for label in labels),
                f"one row per chip; × is the ratio to {labels[0]} (below 1: less)"),
        _per_layer_chart(comparison, "cycles", "total cycles per layer", "cycles", 1.0, "cycles"),
        _per_layer_chart(comparison, "energy_uj", "energy per layer", "energy (µJ)", 1.0, "µJ"),
        _per_layer_chart(comparison, "dram_bytes", "DRAM traffic per layer", "DRAM traffic (KiB)",
                         1 / 1024, "KiB"),
        _layer_table(comparison),
    ]  # fmt: skip
    return page(title, subtitle, sections)


def _chip_cards(comparison: dict[str, Any], label: str) -> str:
    totals, ratio = comparison["totals"][label], comparison["ratio_to_first"][label]
    first = next(iter(comparison["chips"]))
    name = f"{label}: {comparison['chips'][label]} ({comparison['arrays'][label]})"
    dram = totals["dram_bytes"]
    versus = (Card(f"vs {first}", _times(ratio["latency_ms"]), "latency",
                   f"energy {_times(ratio['energy_uj'])}, DRAM {_times(ratio['dram_bytes'])}")
              if label != first else Card(f"vs {first}", "1", "×", "the reference"))  # fmt: skip
    items = [
        Card("latency", f"{totals['latency_ms']:.4g}", "ms", f"{totals['total_cycles']:,} cycles"),
        Card("energy", *format_energy(totals["energy_uj"]), "per batch"),
        Card("DRAM traffic", f"{dram / 2**20:.3g}", "MiB", f"{dram:,} bytes"),
        Card("utilization", f"{totals['utilization'] * 100:.1f}", "%",
             f"stall {totals['stall_cycles']:,} cycles"),
        versus,
    ]  # fmt: skip
    return f"<h3>{attr(name)}</h3>" + cards(items)


def _times(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.3g}×"


def _per_layer_chart(
    comparison: dict[str, Any], key: str, title: str, y_label: str, scale: float, unit: str
) -> str:
    labels = list(comparison["chips"])
    layers = comparison["layers"]
    series = [Series(label, [row[key][label] * scale for row in layers], color(number))
              for number, label in enumerate(labels)]  # fmt: skip
    tips = [[_tip(row, key, label, labels[0], scale, unit) for row in layers] for label in labels]
    chart = grouped_bar_chart([row["layer"] for row in layers], series, title, y_label, tips)
    return section(title[0].upper() + title[1:], chart, "one bar per chip and layer; hover for "
                   f"the value and its ratio to {labels[0]}")  # fmt: skip


def _tip(row: dict[str, Any], key: str, label: str, first: str, scale: float, unit: str) -> str:
    value, base = row[key][label], row[key][first]
    ratio = f" ({value / base:.3g}× {first})" if base and label != first else ""
    return f"{row['layer']} on {label}: {format_number(value * scale)} {unit}{ratio}"


def _layer_table(comparison: dict[str, Any]) -> str:
    labels = list(comparison["chips"])
    first = labels[0]
    columns = ["layer", "kind", *(f"{label} cycles" for label in labels),
               *(f"{label} ÷ {first}" for label in labels[1:]), "fewest cycles"]  # fmt: skip
    rows = []
    for layer in comparison["layers"]:
        cycles = layer["cycles"]
        row: dict[str, Any] = {"layer": layer["layer"], "kind": layer["kind"]}
        row.update({f"{label} cycles": cycles[label] for label in labels})
        row.update({f"{label} ÷ {first}": round(cycles[label] / cycles[first], 4)
                    if cycles[first] else None for label in labels[1:]})  # fmt: skip
        row["fewest cycles"] = min(labels, key=lambda label: cycles[label])
        rows.append(row)
    return section("Layers", table("compare-layers", columns, rows, filter_box=True),
                   "total cycles per chip and their ratio to the first chip; click a header "
                   "to sort")  # fmt: skip

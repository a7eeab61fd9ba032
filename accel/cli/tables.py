"""The text a `simulate-network` run prints: the per-layer table (as many columns as fit the
terminal, or the chosen ones), the summary lines, and the training and functional sections."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accel.cli.output import say
from accel.errors import InputError, closest

if TYPE_CHECKING:
    from rich.table import Table

    from accel.results import NetworkResult


# The per-layer table: column title, and how a layers.csv row fills it.
_TABLE_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("layer", lambda row: str(row["layer"])),
    ("kind", lambda row: str(row["kind"])),
    ("unit", lambda row: str(row["unit"])),
    ("M", lambda row: _on_array(row, "M")),
    ("K", lambda row: _on_array(row, "K")),
    ("N", lambda row: _on_array(row, "N")),
    ("MACs", lambda row: f"{row['macs']:,}"),
    ("compute", lambda row: f"{row['compute_cycles']:,}"),
    ("stall", lambda row: f"{row['stall_cycles']:,}"),
    ("bound", lambda row: str(row["verdict"])),
    ("util", lambda row: f"{row['utilization']:.1%}"),
    ("DRAM KiB", lambda row: f"{_dram_bytes(row) / 1024:,.1f}"),
    ("energy µJ", lambda row: f"{row['energy_pj'] / 1e6:,.2f}"),
)


def _on_array(row: dict[str, Any], dim: str) -> str:
    """A GEMM dimension, blank for a layer off the array (it has no GEMM)."""
    return str(row[dim]) if row["unit"] == "array" else ""


def _dram_bytes(row: dict[str, Any]) -> int:
    return int(
        row["dram_ifmap_bytes"]
        + row["dram_weight_bytes"]
        + row["dram_ofmap_write_bytes"]
        + row["dram_ofmap_read_bytes"]
    )


# Columns left out, in this order, while the table is wider than the terminal; `layer` and the
# cycles stay, and no number is ever cut (a long layer name is, with an ellipsis).
_DROP_ORDER = ("unit", "M", "K", "N", "bound", "energy µJ", "kind", "MACs", "DRAM KiB", "util")
_TEXT_COLUMNS = 3  # layer, kind, unit: left-aligned
_LAYER_MIN = 12  # the layer column shrinks to this before a number would be cut


def layer_table(
    result: NetworkResult, width: int, columns: list[str] | None = None
) -> Table:
    """The per-layer table in `width` characters: the chosen `columns`, or as many as fit."""
    from rich.table import Table

    titles = [title for title, _ in _TABLE_COLUMNS]
    bandwidth = result.chip.dram.bandwidth_bytes_per_cycle
    rows = [[cell({**row, "verdict": layer.verdict(bandwidth)}) for _, cell in _TABLE_COLUMNS]
            for layer, row in zip(result.layers, result.rows(), strict=True)]  # fmt: skip
    widths = [max([len(title)] + [len(row[i]) for row in rows]) for i, title in enumerate(titles)]
    if columns:
        keep = [titles.index(name) for name in _chosen(columns, titles)]
    else:
        keep = list(range(len(titles)))
        for title in _DROP_ORDER:
            if _width(widths, keep) <= width:
                break
            keep.remove(titles.index(title))
    table = Table(title=f"{result.network} on {result.chip.name} (batch {result.batch})")
    for i in keep:
        if i == 0:
            room = width - _width(widths, keep[1:]) - 4
            table.add_column(titles[i], overflow="ellipsis", no_wrap=True,
                             max_width=max(room, min(widths[0], _LAYER_MIN)))  # fmt: skip
        else:
            table.add_column(titles[i], justify="left" if i < _TEXT_COLUMNS else "right",
                             no_wrap=True, min_width=widths[i])  # fmt: skip
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def _width(widths: list[int], keep: list[int]) -> int:
    """Characters a rich table of these columns takes: each cell padded, one border each."""
    return sum(widths[i] + 3 for i in keep) + 1


def _chosen(columns: list[str], titles: list[str]) -> list[str]:
    names = [name.strip() for entry in columns for name in entry.split(",") if name.strip()]
    for name in names:
        if name not in titles:
            raise InputError(f"--columns must name table columns ({', '.join(titles)}), "
                             f"not {name!r}{closest(name, titles)}")  # fmt: skip
    return ["layer", *(name for name in names if name != "layer")]


def print_summary(result: NetworkResult, out_dir: Path) -> None:
    s = result.summary()
    say(
        f"[bold]{s['network']}[/bold] on [bold]{s['chip']}[/bold] ({s['array']}, "
        f"{s['clock_mhz']:g} MHz), batch {s['batch']}: {s['layers']} layers, "
        f"{s['params']:,} params, {s['macs']:,} MACs\n"
        f"  cycles {s['total_cycles']:,} (compute {s['compute_cycles']:,}, stall "
        f"{s['stall_cycles']:,}), utilization {s['utilization']:.1%}\n"
        f"  latency {s['latency_ms']:.3f} ms, {s['fps']:,.1f} fps, "
        f"energy {s['energy_uj']:,.1f} µJ, "
        f"DRAM read {s['dram_read_bytes'] / 2**20:,.2f} MiB, write "
        f"{s['dram_write_bytes'] / 2**20:,.2f} MiB\n"
        f"  wrote {out_dir / 'layers.csv'} and {out_dir / 'summary.json'}"
    )
    if s.get("unsupported_ops"):
        listed = ", ".join(f"{u['layer']} ({u['op']})" for u in s["unsupported_ops"])
        say(f"  [bold]unsupported, costed as zero:[/bold] {listed}")
    undersized: dict[str, list[str]] = s["undersized_layers"]
    if undersized:
        listed = ", ".join(f"{name} ({'+'.join(ops)})" for name, ops in undersized.items())
        say(
            f"  [bold]streamed through undersized buffers[/bold] (sram.undersized: stream, "
            f"refetched from DRAM on every use): {listed}"
        )


def print_functional(section: dict[str, Any], dump: Path | None) -> None:
    overflowed = section["overflowed_layers"]
    line = f"  functional ({section['mode']} requantization"
    line += f", {section['accumulator_bits']}-bit {section['accumulator_overflow']} accumulators"
    line += f", {section['weights']})"
    if overflowed:
        line += f": accumulator overflow in {len(overflowed)} layers ({', '.join(overflowed)})"
    say(line)
    if "reference" in section:
        others = section.get("mismatched_tensors", [])
        parts = [f"{section['mismatches']} MISMATCHED: {', '.join(section['mismatched_layers'])}"
                 ] if section["mismatches"] else []  # fmt: skip
        if others:
            parts.append(f"{len(others)} graph inputs/outputs MISMATCHED: {', '.join(others)}")
        verdict = "; ".join(parts) or "all bit-exact"
        say(
            f"  checked {section['layers_checked']} layers against {section['reference']}: "
            f"{verdict}"
        )
        if section.get("layers_not_compared"):
            say(f"  not compared (the reference holds no such tensor): "
                          f"{', '.join(section['layers_not_compared'])}")
        if section.get("inexact_reference_layers"):
            say("  reference not exact (a float32 ConvTranspose sum reaches 2**24, "
                             f"it may round): {', '.join(section['inexact_reference_layers'])}")
    if dump is not None:
        say(f"  wrote every tensor to {dump} (manifest.json lists scales)")



def print_training(section: dict[str, Any]) -> None:
    memory, cycles = section["memory_bytes"], section["cycles"]
    mib = 2**20
    say(
        f"  training step ({section['optimizer']}, {section['precision']}): "
        f"{section['macs']:,} MACs (forward {section['forward_macs']:,}, backward "
        f"{section['backward_macs']:,}), {section['update_ops']:,} update ops\n"
        f"  cycles forward {cycles['forward']:,}, backward data {cycles['backward_data']:,}, "
        f"backward weight {cycles['backward_weight']:,}, update {cycles['update']:,}; "
        f"{section['steps_per_s']:,.3f} steps/s\n"
        f"  memory {memory['total'] / mib:,.1f} MiB: weights {memory['weights'] / mib:,.1f}, "
        f"gradients {memory['gradients'] / mib:,.1f}, optimizer state "
        f"{memory['optimizer_state'] / mib:,.1f}, stored activations "
        f"{memory['activations'] / mib:,.1f} (peak live {memory['peak_live'] / mib:,.1f}); "
        f"max batch {section['max_batch']:,} in {section['dram_capacity_bytes'] / mib:,.0f} MiB"
    )


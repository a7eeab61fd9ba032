"""Results of a simulation: a record per layer, network totals, and the output contract's files.

`layers.csv` has one row per layer with at least the contract's columns (DESIGN.md section 7),
access counts in elements, traffic in bytes and utilization as a fraction; `summary.json` holds the
totals. The column order is stable: contract columns first, then the extra detail.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.mapper import Mapping
from accel.memory.activations import LayerActivations
from accel.memory.core_pieces import LayerCores, MultiCoreRun
from accel.memory.footprint import LayerFootprint, NetworkFootprint
from accel.memory.model import MemoryTraffic
from accel.model.ops import Unsupported
from accel.model.training import PASSES, Pass, TrainingMemory
from accel.perf.area import chip_area
from accel.perf.energy import EnergyBreakdown
from accel.perf.timing import ComputeTiming
from accel.user_input import dump_yaml_mapping

if TYPE_CHECKING:
    import pandas

CONTRACT_COLUMNS = (
    "layer",
    "kind",
    "M",
    "K",
    "N",
    "macs",
    "compute_cycles",
    "stall_cycles",
    "total_cycles",
    "utilization",
    "mapping_efficiency",
    "sram_ifmap_reads",
    "sram_weight_reads",
    "sram_ofmap_writes",
    "sram_ofmap_reads",
    "dram_ifmap_bytes",
    "dram_weight_bytes",
    "dram_ofmap_write_bytes",
    "dram_ofmap_read_bytes",
    "energy_pj",
)
# Components of `EnergyBreakdown`, in column order (energy_<part>_pj, energy_<part>_uj).
ENERGY_PARTS = ("mac", "vector", "sram_ifmap", "sram_weight", "sram_ofmap", "dram", "leakage")


# What a layer's time goes to: memory-bound when moving its DRAM bytes at the channel's
# bandwidth takes at least as long as its compute; otherwise mapping-bound when its mapping fills
# less than this share of the array (the roofline alone assumes a full array and cannot say so);
# else compute-bound.
MAPPING_BOUND_EFFICIENCY = 0.5
Verdict = Literal["memory", "mapping", "compute", "idle"]


def verdict(compute_cycles: int, dram_cycles: float, mapping_efficiency: float | None) -> Verdict:
    """The layer's verdict from its compute cycles and its DRAM bytes / bandwidth;
    `mapping_efficiency` is None for a layer off the array."""
    if not (compute_cycles or dram_cycles):
        return "idle"
    if dram_cycles >= compute_cycles:
        return "memory"
    if mapping_efficiency is not None and mapping_efficiency < MAPPING_BOUND_EFFICIENCY:
        return "mapping"
    return "compute"


@dataclass(frozen=True)
class LayerResult:
    """Everything the simulator found out about one layer.

    `cycles`, when set, is the layer's share of the network's end-to-end timeline (from the
    previous layer's end to its own); otherwise the layer counts as run alone from a cold start.
    """

    mapping: Mapping
    timing: ComputeTiming
    memory: MemoryTraffic
    energy: EnergyBreakdown
    pe_count: int
    cycles: int | None = None
    footprint: LayerFootprint | None = None
    pass_name: Pass | None = None  # a training step's pass (forward, backward_data, ...)
    label: str = ""  # the kind column when it is not the layer's own (training work items)
    activations: LayerActivations | None = None  # set when residency or fusion is on
    cores: LayerCores | None = None  # how a multi-core chip cut the layer

    @property
    def name(self) -> str:
        return self.mapping.layer.name

    @property
    def macs(self) -> int:
        return self.mapping.macs

    @property
    def isolated_cycles(self) -> int:
        """Cycles of this layer alone: empty buffers, idle channel, nothing prefetched."""
        return self.timing.compute_cycles + self.memory.stall_cycles

    @property
    def total_cycles(self) -> int:
        return self.isolated_cycles if self.cycles is None else self.cycles

    @property
    def stall_cycles(self) -> int:
        """Cycles beyond the stall-free compute: waits for DRAM and buffers, refills, drain."""
        return self.total_cycles - self.timing.compute_cycles

    @property
    def utilization(self) -> float:
        """MACs over the MACs the whole array could have done in this layer's cycles."""
        cycles = self.total_cycles
        return self.macs / (cycles * self.pe_count) if cycles else 0.0

    def verdict(self, bandwidth_bytes_per_cycle: float) -> Verdict:
        """What the layer's time goes to on a DRAM channel of this bandwidth (`verdict`)."""
        efficiency = self.timing.mapping_efficiency if self.mapping.array is not None else None
        dram_cycles = self.memory.dram_bytes / bandwidth_bytes_per_cycle
        return verdict(self.timing.compute_cycles, dram_cycles, efficiency)

    def row(self) -> dict[str, Any]:
        """The layers.csv row: the contract's columns first, then the detail."""
        row = {
            **self._contract_columns(),
            **self._mapping_columns(),
            **self._memory_columns(),
            **self._energy_columns(),
        }
        if self.pass_name is not None:  # training only: inference rows keep their columns
            row["pass"] = self.pass_name
        if self.activations is not None:  # residency or fusion on: their columns
            facts = self.activations
            row["resident_inputs"] = "+".join(facts.resident_inputs)
            row["spilled"] = int(facts.spilled)
            row["fused_group"] = "" if facts.fused_group is None else facts.fused_group
            row["recompute_macs"] = facts.recompute_macs
        if self.cores is not None:  # multi-core chips only: single-core rows keep theirs
            row.update(
                cores_cut=self.cores.cut,
                cores_used=self.cores.cores_used,
                core_to_core_bytes=self.cores.total("peer_bytes"),
            )
        return row

    def _contract_columns(self) -> dict[str, Any]:
        """`CONTRACT_COLUMNS`, in that order."""
        layer, array = self.mapping.layer, self.mapping.array
        timing, memory = self.timing, self.memory
        return {
            "layer": layer.name,
            "kind": self.label or layer.label,
            "M": array.m if array else 0,
            "K": array.k if array else 0,
            "N": array.n if array else 0,
            "macs": self.macs,
            "compute_cycles": timing.compute_cycles,
            "stall_cycles": self.stall_cycles,
            "total_cycles": self.total_cycles,
            "utilization": round(self.utilization, 6),
            "mapping_efficiency": round(timing.mapping_efficiency, 6),
            "sram_ifmap_reads": timing.sram_ifmap_reads,
            "sram_weight_reads": timing.sram_weight_reads,
            "sram_ofmap_writes": timing.sram_ofmap_writes,
            "sram_ofmap_reads": timing.sram_ofmap_reads,
            "dram_ifmap_bytes": memory.dram_ifmap_bytes,
            "dram_weight_bytes": memory.dram_weight_bytes,
            "dram_ofmap_write_bytes": memory.dram_ofmap_write_bytes,
            "dram_ofmap_read_bytes": memory.dram_ofmap_read_bytes,
            "energy_pj": round(self.energy.total_pj, 3),
        }

    def _mapping_columns(self) -> dict[str, Any]:
        """Where the layer ran and how it folded onto the array; its shapes and parameters."""
        layer, array, timing = self.mapping.layer, self.mapping.array, self.timing
        return {
            "unit": self.mapping.unit,
            "groups": array.groups if array else 0,
            "dataflow": array.dataflow if array else "",
            "row_folds": array.row_folds if array else 0,
            "col_folds": array.col_folds if array else 0,
            "cycles_per_fold": timing.cycles_per_fold,
            "fold_period_cycles": timing.fold_period_cycles,
            "fold_overlap": timing.fold_overlap,
            "folds": array.folds if array else 0,
            "used_pe_fraction_min": round(array.used_pe_fraction_min, 6) if array else 0.0,
            "ifmap_shape": " ".join(str(s) for s in layer.input_shapes),
            "ofmap_shape": str(layer.output_shape),
            "params": layer.params,
            "issued_macs": self.mapping.issued_macs,
        }

    def _energy_columns(self) -> dict[str, Any]:
        return {
            f"energy_{part}_pj": round(getattr(self.energy, f"{part}_pj"), 3)
            for part in ENERGY_PARTS
        }

    def _memory_columns(self) -> dict[str, Any]:
        """Tiling, reuse, roofline and footprint detail of the memory model."""
        memory, tiling = self.memory, self.memory.tiling
        return {
            "compulsory_dram_bytes": memory.compulsory_dram_bytes,
            "glb_access_bytes": memory.glb_access_bytes,
            "isolated_cycles": self.isolated_cycles,
            "refill_cycles": memory.refill_cycles,
            "tile_m": tiling.m_tile if tiling else "",
            "tile_k": tiling.k_tile if tiling else "",
            "tile_n": tiling.n_tile if tiling else "",
            "tile_groups": tiling.g_tile if tiling else "",
            "loop_order": tiling.loop_order if tiling else "",
            "resident": tiling.resident if tiling else "",
            "ifmap_passes": tiling.passes("ifmap") if tiling else "",
            "weight_passes": tiling.passes("weight") if tiling else "",
            "ofmap_visits": tiling.passes("ofmap") if tiling else "",
            "undersized_buffers": "+".join(tiling.streamed) if tiling else "",
            "tile_steps": memory.tile_steps,
            "compulsory_ifmap_bytes": memory.compulsory_ifmap_bytes,
            "compulsory_weight_bytes": memory.compulsory_weight_bytes,
            "compulsory_ofmap_bytes": memory.compulsory_ofmap_bytes,
            "arithmetic_intensity": round(memory.arithmetic_intensity, 4),
            "bound": memory.bound,
            "footprint_bytes": self.footprint.total_bytes if self.footprint else "",
            "live_activation_bytes": (
                self.footprint.live_activation_bytes if self.footprint else ""
            ),
        }


@dataclass(frozen=True)
class NetworkResult:
    """A whole network on a chip: per-layer results and totals.

    `total_cycles` is the end-to-end latency: layers run one after another on one DRAM channel,
    and with `dram.prefetch_next_layer_weights` a layer's first weight tile loads during the
    previous layer. Each layer's `total_cycles` is its share of that timeline (from the previous
    layer's end to its own), so the per-layer column sums exactly to the network figure; the
    layers' `isolated_cycles` (each alone, cold start) sum to `isolated_total_cycles` >= it.
    """

    network: str
    chip: ChipConfig
    batch: int
    params: int
    layers: tuple[LayerResult, ...]
    functional: dict[str, Any] | None = None
    footprint: NetworkFootprint | None = None
    training: dict[str, Any] | None = None  # the summary's `training` block of a training step
    activations: dict[str, Any] | None = None  # the `activations` block (residency, fusion)
    compulsory_network_bytes: int | None = None  # inputs, weights, outputs once each
    cores: dict[str, Any] | None = None  # the summary's `cores` block of a multi-core chip
    core_run: MultiCoreRun | None = field(default=None, compare=False, repr=False)

    @property
    def total_cycles(self) -> int:
        return sum(layer.total_cycles for layer in self.layers)

    @property
    def latency_ms(self) -> float:
        return self.total_cycles / (self.chip.clock_mhz * 1000.0)

    @property
    def energy_pj(self) -> float:
        return sum(layer.energy.total_pj for layer in self.layers)

    def summary(self) -> dict[str, Any]:
        """The summary.json mapping (computed once per result; each call gets its own copy)."""
        return dict(self._summary)

    @cached_property
    def _summary(self) -> dict[str, Any]:
        layers = self.layers
        analytic = analytic_summary(
            self.chip, self.params, self.footprint,
            [(layer.macs, layer.timing.compute_cycles, layer.memory.compulsory_dram_bytes)
             for layer in layers],
        )  # fmt: skip
        macs = analytic["macs"]
        cycles = self.total_cycles
        latency_s = self.latency_ms / 1000.0
        energy_j = self.energy_pj * 1e-12
        summary: dict[str, Any] = {
            "network": self.network,
            "chip": self.chip.name,
            "batch": self.batch,
            "layers": analytic["layers"],
            "params": self.params,
            "macs": macs,
            "total_cycles": cycles,
            "compute_cycles": analytic["compute_cycles"],
            "stall_cycles": sum(layer.stall_cycles for layer in layers),
            "utilization": round(macs / (cycles * self._pe_count), 6) if cycles else 0.0,
            "latency_ms": round(self.latency_ms, 6),
            "fps": round(self.batch / latency_s, 3) if cycles else 0.0,
            "energy_uj": round(self.energy_pj * 1e-6, 3),
            "dram_read_bytes": sum(layer.memory.dram_read_bytes for layer in layers),
            "dram_write_bytes": sum(layer.memory.dram_write_bytes for layer in layers),
            "compulsory_dram_bytes": analytic["compulsory_dram_bytes"],
            "tops_per_w": round(2 * macs / energy_j / 1e12, 4) if energy_j else 0.0,
            "clock_mhz": self.chip.clock_mhz,
            "array": f"{self.chip.array.rows}x{self.chip.array.cols} {self.chip.array.dataflow}",
            "area_mm2": analytic["area_mm2"],
            **self._memory_summary(),
            **self._energy_summary(),
            **self._footprint_summary(),
        }
        unsupported = [
            {"layer": layer.name, "op": layer.mapping.layer.op.op_type}
            for layer in layers
            if isinstance(layer.mapping.layer.op, Unsupported)
        ]
        if unsupported:
            summary["unsupported_ops"] = unsupported  # placeholders from --allow-unsupported
        if self.functional is not None:
            summary["functional"] = self.functional
        if self.training is not None:
            summary["training"] = self.training
        if self.compulsory_network_bytes is not None:
            moved = summary["dram_read_bytes"] + summary["dram_write_bytes"]
            bound = self.compulsory_network_bytes
            summary["compulsory_network_dram_bytes"] = bound
            summary["dram_over_compulsory"] = round(moved / bound, 6) if bound else 0.0
        if self.activations is not None:
            summary["activations"] = self.activations
        if self.cores is not None:
            summary["cores"] = self.cores
        return summary

    @property
    def _pe_count(self) -> int:
        """PEs of every core's array."""
        return sum(core.array.pe_count for core in self.chip.core_chips())

    def _memory_summary(self) -> dict[str, Any]:
        isolated = sum(layer.isolated_cycles for layer in self.layers)
        return {
            "isolated_total_cycles": isolated,
            "overlap_saved_cycles": isolated - self.total_cycles,
            "prefetch_next_layer_weights": self.chip.dram.prefetch_next_layer_weights,
            "refill_cycles": sum(layer.memory.refill_cycles for layer in self.layers),
            "memory_bound_layers": sum(layer.memory.bound == "memory" for layer in self.layers),
            "undersized_layer_count": len(self._undersized()),
            "undersized_layers": self._undersized(),
            "ridge_point_macs_per_byte": round(self.chip.ridge_point_macs_per_byte, 4),
        }

    def _undersized(self) -> dict[str, list[str]]:
        """Layers that streamed operands through undersized buffers, and which operands."""
        return {
            layer.name: list(layer.memory.tiling.streamed)
            for layer in self.layers
            if layer.memory.tiling is not None and layer.memory.tiling.streamed
        }

    def _energy_summary(self) -> dict[str, Any]:
        return {
            f"energy_{part}_uj": round(
                sum(getattr(layer.energy, f"{part}_pj") for layer in self.layers) * 1e-6, 3
            )
            for part in ENERGY_PARTS
        }

    def _footprint_summary(self) -> dict[str, Any]:
        return _footprint_summary(self.footprint, self.chip)

    def rows(self) -> list[dict[str, Any]]:
        return [layer.row() for layer in self.layers]

    def to_pandas(self) -> pandas.DataFrame:
        """One row per layer with the layers.csv columns, numbers as numbers (pandas extra)."""
        frame = import_pandas("NetworkResult.to_pandas").DataFrame.from_records(self.rows())
        return frame.convert_dtypes()

    def _repr_html_(self) -> str:
        """Jupyter's view: the headline figures and the layers' cycles, utilization, traffic."""
        from html import escape

        s = self.summary()
        head = (
            f"<p><b>{escape(s['network'])}</b> on <b>{escape(s['chip'])}</b> ({escape(s['array'])},"
            f" {s['clock_mhz']:g} MHz), batch {s['batch']}: {s['total_cycles']:,} cycles, "
            f"{s['latency_ms']:.3f} ms, utilization {s['utilization']:.1%}, "
            f"{s['energy_uj']:,.1f} µJ, DRAM {(s['dram_read_bytes'] + s['dram_write_bytes']):,} B"
            "</p>"
        )
        columns = ("layer", "kind", "total_cycles", "stall_cycles", "utilization")
        cells = "".join(
            "<tr>" + "".join(f"<td>{escape(str(row[name]))}</td>" for name in columns) + "</tr>"
            for row in self.rows()
        )
        header = "".join(f"<th>{name}</th>" for name in columns)
        return f"{head}<table><tr>{header}</tr>{cells}</table>"


def import_pandas(what: str) -> Any:
    """pandas, or an `InputError` saying how to install it (an optional extra)."""
    try:
        import pandas
    except ImportError:
        raise InputError(
            f'{what} needs pandas: pip install -e ".[pandas]" (or pip install pandas)'
        ) from None
    return pandas


def training_section(
    layers: Sequence[LayerResult], memory: TrainingMemory, chip: ChipConfig, optimizer: str
) -> dict[str, Any]:
    """The summary's `training` block: MACs, cycles per pass, the step's rate and memory."""
    macs = {name: 0 for name in PASSES}
    cycles = {name: 0 for name in PASSES}
    for layer in layers:
        if layer.pass_name is not None:
            macs[layer.pass_name] += layer.macs
            cycles[layer.pass_name] += layer.total_cycles
    step_cycles = sum(cycles.values())
    steps_per_s = chip.clock_mhz * 1e6 / step_cycles if step_cycles else 0.0
    updates = sum(layer.mapping.vector_ops for layer in layers if layer.pass_name == "update")
    capacity = chip.dram.capacity_bytes
    return {
        "optimizer": optimizer,
        "precision": chip.array.precision,
        "activations": chip.training.activations,
        "macs": sum(macs.values()),
        "forward_macs": macs["forward"],
        "recompute_macs": sum(layer.macs for layer in layers if layer.name.endswith(".recompute")),
        "backward_macs": macs["backward_data"] + macs["backward_weight"],
        "backward_data_macs": macs["backward_data"],
        "backward_weight_macs": macs["backward_weight"],
        "update_ops": updates,
        "memory_bytes": {
            "weights": memory.weights,
            "gradients": memory.gradients,
            "optimizer_state": memory.optimizer_state,
            "activations": memory.activations,
            "peak_live": memory.peak_live_per_image * memory.batch,
            "total": memory.peak_bytes,
        },
        "per_image_bytes": {
            "activations": memory.activations_per_image,
            "peak_live": memory.peak_live_per_image,
        },
        "dram_capacity_bytes": capacity,
        "fits_dram": memory.peak_bytes <= capacity,
        "max_batch": memory.max_batch(capacity),
        "cycles": cycles,
        "step_cycles": step_cycles,
        "steps_per_s": round(steps_per_s, 6),
        "images_per_s": round(steps_per_s * memory.batch, 3),
    }


# Summary metrics that need no memory model: a sweep that asks only for these skips it.
ANALYTIC_METRICS = frozenset((
    "layers", "params", "macs", "compute_cycles", "compulsory_dram_bytes", "weight_bytes",
    "peak_activation_bytes", "peak_footprint_bytes", "sram_bytes", "max_batch_on_chip",
    "area_mm2",
))  # fmt: skip


def analytic_summary(
    chip: ChipConfig,
    params: int,
    footprint: NetworkFootprint | None,
    layers: Sequence[tuple[int, int, int]],
) -> dict[str, Any]:
    """The `ANALYTIC_METRICS` of a run from each layer's (MACs, compute cycles, compulsory DRAM
    bytes): the summary's and the analytic sweep path's one home."""
    return {
        "layers": len(layers),
        "params": params,
        "macs": sum(macs for macs, _, _ in layers),
        "compute_cycles": sum(cycles for _, cycles, _ in layers),
        "compulsory_dram_bytes": sum(compulsory for _, _, compulsory in layers),
        "area_mm2": _area_mm2(chip),
        **_footprint_summary(footprint, chip),
    }


def _area_mm2(chip: ChipConfig) -> float:
    """Every core's PEs and SRAM (a single-core chip: its own), plus a global buffer."""
    if chip.core_count == 1:
        return chip_area(chip).total_mm2
    cores = sum(chip_area(core).total_mm2 for core in chip.core_chips())
    shared = chip.global_buffer
    if shared is None:
        return cores
    per_kib = chip_area(chip).sram_um2_per_kib
    return cores + per_kib * shared.size_bytes / 1024 * 1e-6


def _footprint_summary(footprint: NetworkFootprint | None, chip: ChipConfig) -> dict[str, Any]:
    sram = chip.sram.total_bytes
    if footprint is None:
        return {}
    return {
        "weight_bytes": footprint.total_weight_bytes,
        "peak_activation_bytes": footprint.peak_activation_bytes,
        "peak_footprint_bytes": footprint.peak_bytes,
        "sram_bytes": sram,
        "weights_fit_on_chip": footprint.total_weight_bytes <= sram,
        "network_fits_on_chip": footprint.fits(sram),
        "max_batch_on_chip": footprint.max_batch(sram),
    }


def write_results(result: NetworkResult, out_dir: Path) -> None:
    """Write layers.csv, summary.json and chip.yaml into `out_dir` (created if needed).

    chip.yaml is the chip exactly as simulated (every field), reusable as `--chip`.

    Each file is written beside its final name and renamed into place, so an interrupted run
    never leaves a half-written file over an earlier result.
    """
    prepare_out_dir(out_dir)
    rows = result.rows()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else CONTRACT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(out_dir / "layers.csv", buffer.getvalue())
    summary = json.dumps(result.summary(), indent=2, allow_nan=False)  # JSON has no inf/NaN
    write_atomically(out_dir / "summary.json", summary + "\n")
    chip_yaml = dump_yaml_mapping(result.chip.field_values())
    write_atomically(out_dir / "chip.yaml", chip_yaml)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename; a failed write (a full disk, a read-only
    folder) leaves neither a partial file nor a traceback, but a one-line error."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {err.strerror or err}") from None


def safe_name(name: str, fallback: str = "network") -> str:
    """`name` as one safe path component: letters, digits, '.', '_', '-' and '=' kept, every
    other character (a '/', a '?', a '&') one '_'; no leading dot, at most 100 characters. A
    network or sweep named '../../x' therefore writes inside the chosen output folder."""
    cleaned = re.sub(r"[^A-Za-z0-9._=-]", "_", name).lstrip(".")[:100]
    return cleaned or fallback


def variant_name(name: str, params: dict[str, float | int], batch: int) -> str:
    """One network variant as a folder name: NAME, each parameter and a batch above 1
    (mobilenet_v1_alpha=0.5_batch8), so variants do not overwrite each other's outputs."""
    parts = [name, *(f"{key}={value}" for key, value in sorted(params.items()))]
    parts += [f"batch{batch}"] if batch > 1 else []
    return safe_name("_".join(parts))


def prepare_out_dir(out_dir: Path) -> Path:
    """Create the output folder, or a one-line error (a file in the way, no permission)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out must be a folder, not the existing file {str(out_dir)!r}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--out folder {str(out_dir)!r} cannot be created: "
                         f"{err.strerror or err}") from None  # fmt: skip
    return out_dir

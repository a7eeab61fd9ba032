"""A whole network's record: its layers' records, the totals and the summary.json mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from accel.config import ChipConfig
from accel.errors import InputError
from accel.memory.footprint import NetworkFootprint
from accel.model.ops import Unsupported
from accel.results.layer import ENERGY_PARTS, LayerResult
from accel.results.summary import analytic_summary, footprint_summary

if TYPE_CHECKING:
    import pandas

    from accel.memory.core_pieces import MultiCoreRun

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
        footprint = footprint_summary(self.footprint, self.chip)
        analytic = analytic_summary(
            self.chip, self.params, self.footprint,
            [(layer.macs, layer.timing.compute_cycles, layer.memory.compulsory_dram_bytes)
             for layer in layers],
            footprint,
        )  # fmt: skip
        macs = analytic["macs"]
        # Each total once (the properties of the same names each walk the layers again).
        per_layer = [layer.total_cycles for layer in layers]
        cycles = sum(per_layer)
        latency_ms = cycles / (self.chip.clock_mhz * 1000.0)
        latency_s = latency_ms / 1000.0
        energy_pj = sum([layer.energy.total_pj for layer in layers])
        energy_j = energy_pj * 1e-12
        summary: dict[str, Any] = {
            "network": self.network,
            "chip": self.chip.name,
            "batch": self.batch,
            "layers": analytic["layers"],
            "params": self.params,
            "macs": macs,
            "total_cycles": cycles,
            "compute_cycles": analytic["compute_cycles"],
            "stall_cycles": sum([total - layer.timing.compute_cycles
                                 for total, layer in zip(per_layer, layers, strict=True)]),
            "utilization": round(macs / (cycles * self._pe_count), 6) if cycles else 0.0,
            "latency_ms": round(latency_ms, 6),
            "fps": round(self.batch / latency_s, 3) if cycles else 0.0,
            "energy_uj": round(energy_pj * 1e-6, 3),
            "dram_read_bytes": sum(layer.memory.dram_read_bytes for layer in layers),
            "dram_write_bytes": sum(layer.memory.dram_write_bytes for layer in layers),
            "compulsory_dram_bytes": analytic["compulsory_dram_bytes"],
            "tops_per_w": round(2 * macs / energy_j / 1e12, 4) if energy_j else 0.0,
            "clock_mhz": self.chip.clock_mhz,
            "array": f"{self.chip.array.rows}x{self.chip.array.cols} {self.chip.array.dataflow}",
            "area_mm2": analytic["area_mm2"],
            **self._memory_summary(cycles),
            **self._energy_summary(),
            **footprint,
        }  # fmt: skip
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
        """PEs of every core's array (copies of the chip's own when `cores` is a count)."""
        if isinstance(self.chip.cores, int):
            return self.chip.cores * self.chip.array.pe_count
        return sum(core.array.pe_count for core in self.chip.core_chips())

    def _memory_summary(self, cycles: int) -> dict[str, Any]:
        """The memory model's totals, the network's `cycles` given."""
        isolated = sum(layer.isolated_cycles for layer in self.layers)
        undersized = self._undersized()
        return {
            "isolated_total_cycles": isolated,
            "overlap_saved_cycles": isolated - cycles,
            "prefetch_next_layer_weights": self.chip.dram.prefetch_next_layer_weights,
            "refill_cycles": sum(layer.memory.refill_cycles for layer in self.layers),
            "memory_bound_layers": sum(layer.memory.bound == "memory" for layer in self.layers),
            "undersized_layer_count": len(undersized),
            "undersized_layers": undersized,
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
        energies = [layer.energy for layer in self.layers]
        return {
            f"energy_{part}_uj": round(sum(map(attrgetter(f"{part}_pj"), energies)) * 1e-6, 3)
            for part in ENERGY_PARTS
        }

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

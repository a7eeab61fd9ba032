"""One layer's record: what the simulator found out about it, and its layers.csv row.

The row has the output contract's columns first (`CONTRACT_COLUMNS`, DESIGN.md section 7; access
counts in elements, traffic in bytes, utilization as a fraction), then the mapping, memory and
energy detail, then the columns of the features a run chose (training, residency or fusion,
multiple cores).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from accel.mapping.mapper import Mapping
from accel.memory.footprint import LayerFootprint
from accel.memory.model import MemoryTraffic
from accel.perf.energy import EnergyBreakdown
from accel.perf.timing import ComputeTiming

if TYPE_CHECKING:  # a feature's records: loaded by the runs that choose the feature
    from accel.memory.activation_plan import LayerActivations
    from accel.memory.core_pieces import LayerCores
    from accel.model.training import Pass

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


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed, and built at import
# without compiling generated methods (Python 3.11 compiles a dataclass's at every start-up).
class LayerResult(NamedTuple):
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

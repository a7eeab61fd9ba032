"""The parts of a multi-core chip: a core's own array, vector unit and SRAM, and the on-chip
network between the cores and the DRAM controller."""

from __future__ import annotations

from typing import Literal

from accel.config.compute import ArrayConfig, VectorUnitConfig
from accel.config.memory import SramConfig
from accel.user_input.record import Field, Record


class CoreConfig(Record):
    """One core of a multi-core chip: its own array, vector unit and local SRAM. A field left
    out is the chip's top-level one (the template)."""

    array: ArrayConfig | None = Field(None, description="this core's MAC array")
    vector_unit: VectorUnitConfig | None = Field(None, description="this core's vector unit")
    sram: SramConfig | None = Field(None, description="this core's local SRAM buffers")


class NocConfig(Record):
    """The on-chip network between the cores and the DRAM controller.

    `mesh`: the cores sit on a near-square grid (ceil(sqrt(n)) columns, row by row) with the DRAM
    controller attached to the router of core 0; a transfer crosses the Manhattan distance in
    hops (+1 hop into or out of the controller), each link carries `bandwidth_bytes_per_cycle`,
    and only the controller's port is shared (core-to-core routes are contention-free). `bus`:
    one shared bus carries every transfer, DRAM and core-to-core, one hop each.
    """

    topology: Literal["mesh", "bus"] = Field("mesh", description="mesh or bus (see above)")
    bandwidth_bytes_per_cycle: float | None = Field(
        None, gt=0, allow_inf_nan=True,
        description="bytes per cycle of one NoC link (mesh) or of the bus; unset = the DRAM "
        "channel's bandwidth (a NoC that never slows a DRAM stream down)",
    )  # fmt: skip
    hop_latency_cycles: int = Field(
        2, ge=0, le=10**6, description="cycles a transfer's data takes per hop (router + link)"
    )

"""What the memory model reports of one layer: DRAM bytes per operand, stalls, the tiling.

`model.model_memory` works it out (the tiling search for an array layer, a stream for a vector
layer); the activation plan, fusion and the results read it.
"""

from __future__ import annotations

from accel.memory import tiling as tiles
from accel.memory.tile_schedule import Schedule
from accel.model.frozen import Frozen


class MemoryTraffic(Frozen):
    """DRAM bytes per operand, the tiling behind them, and the stalls of the layer alone.
    Hand-written, not a frozen dataclass (see `frozen.py`): `schedule` is left out of equality,
    and `replace` stands in for `dataclasses.replace`."""

    _compared = (
        "dram_ifmap_bytes", "dram_weight_bytes", "dram_ofmap_write_bytes",
        "dram_ofmap_read_bytes", "compulsory_dram_bytes", "stall_cycles",
        "compulsory_ifmap_bytes", "compulsory_weight_bytes", "compulsory_ofmap_bytes",
        "refill_cycles", "arithmetic_intensity", "bound", "tiling", "tile_steps",
        "glb_access_bytes",
    )  # fmt: skip
    __slots__ = (*_compared, "schedule")

    dram_ifmap_bytes: int
    dram_weight_bytes: int
    dram_ofmap_write_bytes: int  # final outputs plus spilled partial sums
    dram_ofmap_read_bytes: int  # partial sums read back
    compulsory_dram_bytes: int  # each tensor once: the lower bound
    stall_cycles: int  # alone from a cold start: total − compute cycles
    compulsory_ifmap_bytes: int
    compulsory_weight_bytes: int
    compulsory_ofmap_bytes: int
    refill_cycles: int  # array refills forced by cutting the streamed dimension
    arithmetic_intensity: float  # MACs (vector layers: ops) per DRAM byte
    bound: str  # "compute" | "memory" by the roofline; "" for layers that move nothing
    tiling: tiles.Tiling | None
    tile_steps: int
    glb_access_bytes: int  # row stationary: global-buffer reads + writes (0 otherwise)
    schedule: Schedule | None

    def __init__(
        self,
        dram_ifmap_bytes: int,
        dram_weight_bytes: int,
        dram_ofmap_write_bytes: int,
        dram_ofmap_read_bytes: int,
        compulsory_dram_bytes: int,
        stall_cycles: int,
        compulsory_ifmap_bytes: int = 0,
        compulsory_weight_bytes: int = 0,
        compulsory_ofmap_bytes: int = 0,
        refill_cycles: int = 0,
        arithmetic_intensity: float = 0.0,
        bound: str = "",
        tiling: tiles.Tiling | None = None,
        tile_steps: int = 0,
        glb_access_bytes: int = 0,
        schedule: Schedule | None = None,
    ) -> None:
        init = object.__setattr__
        init(self, "dram_ifmap_bytes", dram_ifmap_bytes)
        init(self, "dram_weight_bytes", dram_weight_bytes)
        init(self, "dram_ofmap_write_bytes", dram_ofmap_write_bytes)
        init(self, "dram_ofmap_read_bytes", dram_ofmap_read_bytes)
        init(self, "compulsory_dram_bytes", compulsory_dram_bytes)
        init(self, "stall_cycles", stall_cycles)
        init(self, "compulsory_ifmap_bytes", compulsory_ifmap_bytes)
        init(self, "compulsory_weight_bytes", compulsory_weight_bytes)
        init(self, "compulsory_ofmap_bytes", compulsory_ofmap_bytes)
        init(self, "refill_cycles", refill_cycles)
        init(self, "arithmetic_intensity", arithmetic_intensity)
        init(self, "bound", bound)
        init(self, "tiling", tiling)
        init(self, "tile_steps", tile_steps)
        init(self, "glb_access_bytes", glb_access_bytes)
        init(self, "schedule", schedule)

    def replace(self, **changes: object) -> MemoryTraffic:
        """A copy with `changes` (`dataclasses.replace`, as it was)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        return MemoryTraffic(**{**values, **changes})

    @property
    def dram_read_bytes(self) -> int:
        return self.dram_ifmap_bytes + self.dram_weight_bytes + self.dram_ofmap_read_bytes

    @property
    def dram_write_bytes(self) -> int:
        return self.dram_ofmap_write_bytes

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes

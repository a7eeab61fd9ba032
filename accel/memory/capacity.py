"""Where activations may stay on chip: the pooled capacity of the activation buffers.

The chip's `memory.activation_buffers` names the SRAM buffers that may hold resident
activations and fused groups' bands (default: the ifmap and ofmap buffers). Named buffers pool
their capacity (a tensor may straddle them); a name whose operand has no buffer of its own
means the unified buffer, counted once. A layer's own tiles in those buffers (the halves its
tile schedule fills) come out of the same pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.config import OPERANDS, ChipConfig, Operand
from accel.memory.tile_schedule import Node, Schedule, Step, buffer_of


def _home(chip: ChipConfig, name: str) -> str:
    """The buffer a name (an operand, or `unified`) stands for."""
    if name == "unified" or getattr(chip.sram, name) is None:
        return "unified"
    return name


def activation_homes(chip: ChipConfig) -> frozenset[str]:
    """The distinct buffers activations may stay in."""
    return frozenset(_home(chip, name) for name in chip.memory.activation_buffers)


def activation_capacity(chip: ChipConfig) -> int:
    """Bytes of the activation buffers together."""
    total = 0
    for home in activation_homes(chip):
        buffer = chip.sram.unified if home == "unified" else getattr(chip.sram, home)
        total += buffer.size_bytes if buffer is not None else 0
    return total


@dataclass(frozen=True)
class WeightRoom:
    """Where weights live: their own buffer (`own_bytes`), or one of the activation buffers
    (`own_bytes` None: weights share the activation pool)."""

    own_bytes: int | None


def weight_capacity(chip: ChipConfig) -> WeightRoom:
    home = _home(chip, "weight")
    if home in activation_homes(chip):
        return WeightRoom(None)
    return WeightRoom(chip.sram.buffer_for("weight").size_bytes)


def tile_bytes(schedule: Schedule | None, chip: ChipConfig) -> dict[Operand, int]:
    """Bytes a layer's own tiles hold in each operand's buffer: its largest tile of that
    operand (load or write-back) times the buffer's halves."""
    largest: dict[Operand, int] = {operand: 0 for operand in OPERANDS}
    if schedule is None:
        return largest
    for load in schedule.prologue:
        largest[buffer_of(load.kind)] = max(largest[buffer_of(load.kind)], load.bytes)
    _walk(schedule.body, largest)
    return {
        operand: size * (2 if chip.sram.buffer_for(operand).double_buffered else 1)
        for operand, size in largest.items()
    }


def in_activation_buffers(chip: ChipConfig, operand: Operand) -> bool:
    return _home(chip, operand) in activation_homes(chip)


def _walk(nodes: tuple[Node, ...], largest: dict[Operand, int]) -> None:
    for node in nodes:
        if isinstance(node, Step):
            for load in node.loads + node.post_loads:
                largest[buffer_of(load.kind)] = max(largest[buffer_of(load.kind)], load.bytes)
            largest["ofmap"] = max(largest["ofmap"], node.writeback_bytes)
        else:
            _walk(node.body, largest)

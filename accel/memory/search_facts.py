"""What the tiling search reads of a candidate table that no DRAM timing changes, kept per table.

A layer's table (`plans.layer_table`) is shared by chips that differ only in DRAM bandwidth,
latency, clock or energy (`plans.PLAN_FREE_FIELDS`): a sweep over bandwidth searches the same
table again with only the bounds' channel cycles and the replays changed. Each candidate's
schedule key, its tiling and traffic, its groups-per-step variants with every term of their
bound that does not read the DRAM timing, and the schedule of each tiling replayed are worked
out at the first search that reaches them and kept for the next (`search.py` adds the timing).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.config import ChipConfig
from accel.memory import tiling as tiles
from accel.memory.bounds import Grid
from accel.memory.candidates import Hashed
from accel.memory.geometry import IntArray
from accel.memory.tile_schedule import Schedule
from accel.memory.variant_bounds import Picked, Variant

Key = tuple[int, ...] | tiles.Tiling  # a schedule key (`search._schedule_key`)


class TableFacts:
    """One table's timing-free facts, filled in as searches reach them (a position's key,
    candidate and variants are built once, then read)."""

    def __init__(self, table: Grid, plan: tuple[Any, ...]) -> None:
        self.table, self.plan = table, plan
        self.chip: ChipConfig | None = None  # the chip last served, whose plan is `plan`
        self.prologue = table.first_ifmap + table.first_weight
        # the search's rank past the bound (a row each, per candidate): position in the grid,
        # DRAM bytes, prologue bytes; and from the second search on, the candidates in the
        # order of those three (`order`)
        self.columns: IntArray = np.array((table.flat, table.moved, self.prologue))
        self.ties: IntArray | None = None
        self.searched = False
        self.keys: dict[int, Key] = {}
        self.candidates: dict[int, Picked] = {}
        self.variants: dict[int, list[tuple[Variant, Picked]]] = {}
        # per tiling replayed (by identity: the tilings above, kept here), its schedule and the
        # schedule's memo key (`model._array_memory`): the plan fields fix both
        self.schedules: dict[int, tuple[tiles.Tiling, Schedule, Hashed]] = {}

    def order(self, bound: IntArray) -> IntArray:
        """The candidates in order of (`bound`, DRAM bytes, prologue bytes, position in the
        grid): one sort on four keys for a table searched once (a lone chip's), then one
        stable sort on the bound over the table's kept order of the other three (a sweep's
        table, searched again at each DRAM timing)."""
        table = self.table
        if self.ties is None:
            if not self.searched:
                self.searched = True
                return np.lexsort((table.flat, self.prologue, table.moved, bound))
            self.ties = np.lexsort((table.flat, self.prologue, table.moved))
        ties = self.ties
        result: IntArray = ties[np.argsort(bound[ties], kind="stable")]
        return result


def plan_of(chip: ChipConfig) -> tuple[Any, ...]:
    """What the facts read of the chip: the buffers (`tiling.group_blocks` and the variants'
    chains), the burst, the operand and accumulator widths and fold overlap."""
    return (chip.sram, chip.dram.burst_bytes, chip.array.element_bytes,
            chip.array.accumulator_bytes, chip.array.fold_overlap)  # fmt: skip


_FACTS: dict[int, TableFacts] = {}
_LIMIT = 1024


def facts_of(table: Grid, chip: ChipConfig) -> TableFacts:
    """The facts of `table` on `chip`'s plan fields (kept while the table lives here)."""
    found = _FACTS.get(id(table))
    if found is not None and found.table is table and found.chip is chip:
        return found  # asked again for the chip it last served (the search, its replays)
    plan = plan_of(chip)
    if found is None or found.table is not table or found.plan != plan:
        if len(_FACTS) >= _LIMIT:
            _FACTS.clear()
        found = _FACTS[id(table)] = TableFacts(table, plan)
    found.chip = chip
    return found


def clear_cache() -> None:
    """Forget every table's facts."""
    _FACTS.clear()

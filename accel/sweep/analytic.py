"""The analytic sweep path over many points at once: a sweep that asks only for metrics that need
no memory model (`ANALYTIC_METRICS`) maps each network once per group of points that differ only
in the array's rows and columns (and in fields these metrics do not read: SRAM, DRAM, clock,
energy, area), then counts every point's compute cycles with numpy.

A layer on the array of `rows × cols` PEs runs `folds = ceil(rows_needed / rows) ·
ceil(cols_needed / cols) · groups` folds of `L = T + fill/drain` cycles, issued every `P` cycles
(`accel.perf.timing`, the one home of those rules, which this evaluates over arrays of rows and
columns); every other metric of the group is the same for all its points. A row-stationary or
multi-core chip takes `simulate_analytic` point by point. Tested equal to `simulate_analytic`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from accel.config import ChipConfig
from accel.mapping.mapper import map_layer
from accel.memory.footprint import network_footprint
from accel.memory.model import compulsory_bytes
from accel.model.network import Network
from accel.perf.timing import time_layer
from accel.results import analytic_summary
from accel.sweep.plan import Point

# Chip fields the analytic metrics do not read per layer (they read the chip as a whole for
# sram_bytes, max_batch_on_chip and area_mm2), and the two that numpy sweeps.
_NOT_PER_LAYER = ("name", "description", "sram", "dram", "clock_mhz", "energy", "memory", "area")
_SHAPE = ("array.rows", "array.cols")


def analytic_key(point: Point) -> tuple[object, ...]:
    """Points with one key share every layer's mapping except the array's rows and columns."""
    kept = tuple(
        (name, value) for name, value in point.values
        if name not in _SHAPE and name.split(".", 1)[0] not in _NOT_PER_LAYER
    )  # fmt: skip
    return point.network, point.batch, kept


def analytic_summaries(
    network: Network, batch: int, chips: Sequence[ChipConfig]
) -> list[dict[str, Any]]:
    """`simulate_analytic(network, chip, batch)` of each chip, for chips that differ only in
    the array's rows and columns and in fields no layer's analytic metrics read."""
    first = chips[0]
    rows = np.array([chip.array.rows for chip in chips], dtype=np.int64)
    cols = np.array([chip.array.cols for chip in chips], dtype=np.int64)
    overlap = first.array.fold_overlap
    layers: list[tuple[int, Any, int]] = []  # (MACs, cycles: int or one per chip, bytes)
    for layer in network.layers:
        mapping = map_layer(layer, first, batch)
        cycles: Any = time_layer(mapping, first).compute_cycles
        array = mapping.array
        if array is not None:  # on the array: its cycles depend on the shape
            rows_needed, cols_needed, steps = array.rows_needed, array.cols_needed, array.time_steps
            folds = -(-rows_needed // rows) * -(-cols_needed // cols) * array.groups
            fill = rows + cols - 2 if array.dataflow == "os" else 2 * rows + cols - 2
            length = steps + fill
            period = np.maximum(steps, rows) if overlap else length
            cycles = ((folds - 1) * period + length - 1).tolist()
        layers.append((mapping.macs, cycles, compulsory_bytes(mapping)))
    footprint = network_footprint(network, batch, first.array.element_bytes)
    params = network.params
    return [
        analytic_summary(
            chip, params, footprint,
            [(macs, c if isinstance(c, int) else c[index], moved) for macs, c, moved in layers],
        )
        for index, chip in enumerate(chips)
    ]  # fmt: skip


def vectorizable(chip: ChipConfig) -> bool:
    """A chip whose layers' analytic metrics follow the GEMM fold rules (not rs, one core)."""
    return chip.array.dataflow != "rs" and chip.core_count == 1

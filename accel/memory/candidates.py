"""The candidate tilings of a layer and what fits: the grid, each loop order's traffic, the fit.

Every stage here is memoized on what it reads of the chip, not on the chip, so sweep points
that differ elsewhere (an SRAM size, a bandwidth) share the work: the grid reads only the array
mapping and the layer's geometry, the loop orders' traffic the accumulator and operand widths,
the DRAM burst and fold overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np

from accel.config import ChipConfig, Operand
from accel.errors import InputError
from accel.mapping.array import ArrayMapping
from accel.memory import tile_fit
from accel.memory import tiling as tiles
from accel.memory.geometry import IntArray, LayerGeometry
from accel.memory.tile_grid import candidates
from accel.memory.traffic import GridTraffic, order_traffics

T = TypeVar("T")


class NoFit(Exception):
    """No tile fits; the message lacks the layer name (the cache is shared across names)."""


class Memo:
    """A bounded memo whose key the caller chooses: what a stage reads of the chip, not the chip
    (sweep points that differ elsewhere, an SRAM size or a bandwidth, then share the work)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.found: dict[object, Any] = {}

    def get(self, key: object, make: Callable[[], T]) -> T:
        result: T = self.found.get(key, _MISSING)  # one hash of `key` when found
        if result is _MISSING:
            if len(self.found) >= self.limit:
                self.found.clear()
            result = self.found[key] = make()
        return result


_MISSING: Any = object()


class Hashed:
    """A memo key hashed once: a deep key (tilings, geometry, chip sections) costs microseconds
    to hash, and a key kept and used again (`search_facts.TableFacts.schedules`) is then found
    by its kept hash and by identity. Equal to another `Hashed` of an equal value."""

    __slots__ = ("_hash", "value")

    def __init__(self, value: object) -> None:
        self.value, self._hash = value, hash(value)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Hashed) and self.value == other.value)


ORDER_TRAFFIC = Memo(4096)


@lru_cache(maxsize=4096)
def candidate_grid(array: ArrayMapping, geometry: LayerGeometry) -> tiles.Candidates:
    """The candidate grid: it reads only the array mapping and the geometry."""
    return candidates(array, geometry)


def order_traffic(
    array: ArrayMapping,
    geometry: LayerGeometry,
    chip: ChipConfig,
    weight_bytes: int,
    streamed: tuple[Operand, ...] = (),
) -> tuple[GridTraffic, ...]:
    """Every loop order's `grid_traffic`, which reads of the chip only the accumulator and
    operand widths, the DRAM burst and fold overlap."""
    reads = (chip.array.accumulator_bytes, chip.dram.burst_bytes, chip.array.fold_overlap,
             chip.array.element_bytes)  # fmt: skip
    grid = candidate_grid(array, geometry)
    return ORDER_TRAFFIC.get(
        (array, geometry, reads, weight_bytes, streamed),
        lambda: order_traffics(tiles.LOOP_ORDERS, grid, array, chip, weight_bytes, streamed),
    )


def fitting(
    grid: tiles.Candidates,
    geometry: LayerGeometry,
    sizes: dict[Operand, IntArray],
    array: ArrayMapping,
    chip: ChipConfig,
    weight_bytes: int,
) -> tuple[list[GridTraffic], list[dict[Operand, IntArray]], list[IntArray]]:
    """Traffic, tile bytes and fit of every candidate under each loop order.

    When nothing fits: an error naming the buffer, or (`sram.undersized: stream`) the same
    grid with the undersized operands streamed.
    """
    orders = list(order_traffic(array, geometry, chip, weight_bytes))
    width = chip.array.element_bytes
    joint = orders[0].joint  # every order's in-place streaming at once
    in_place = [t.in_place for t in orders] if joint is None else joint.in_place
    per_order = tile_fit.per_order_outputs_in_pes(sizes, grid, array, in_place, width)
    fit = tile_fit.fits_per_order(sizes, grid, array, in_place, chip)
    if any(f.any() for f in fit):
        return orders, per_order, fit
    single = tile_fit.with_outputs_in_pes(sizes, grid, array, np.ones_like(fit[0]), width)
    if chip.sram.undersized == "error":
        try:
            tile_fit.raise_no_fit("layer", single, chip, grid)
        except InputError as err:
            raise NoFit(str(err).split(": ", 1)[1]) from None
    streamed = tiles.undersized({op: int(size.flat[0]) for op, size in single.items()}, chip)
    orders = list(order_traffic(array, geometry, chip, weight_bytes, streamed))
    legal = tile_fit.stream_legal(grid, array, streamed)
    fit = [f & legal for f in tile_fit.fits_per_order(sizes, grid, array, in_place, chip, streamed)]
    assert any(f.any() for f in fit), "the smallest tile of every other operand fits"
    return orders, per_order, fit


def valid_orders(
    orders: list[GridTraffic], fit: list[IntArray], compulsory: tuple[int, int, int]
) -> IntArray:
    """`valid` of every loop order, stacked over (order, m, k, n): where an order's whole layer
    fits, its exact traffic read off the orders' stacked bytes (`traffic.OrderStack`) in one
    pass for all of them, not order by order through each order's views."""
    stacked = np.array(fit)
    joint = orders[0].joint
    whole = stacked[:, -1, -1, -1]  # per order: the whole layer fits (alike in every order)
    if orders[0].streamed or not whole.any():
        return stacked
    names = tuple(traffic.order for traffic in orders)
    if not whole.all() or joint is None or joint.orders != names:  # order by order
        return np.array([valid(t, f, compulsory) for t, f in zip(orders, fit, strict=True)])
    ifmap, weight, _, ofmap_read = joint.kinds_bytes  # TRAFFIC's kinds
    stacked &= (ifmap == compulsory[0]) & (weight == compulsory[1]) & (ofmap_read == 0)
    return stacked


def valid(traffic: GridTraffic, fit: IntArray, compulsory: tuple[int, int, int]) -> IntArray:
    if traffic.streamed or not fit[-1, -1, -1]:
        return fit
    # The whole layer fits: nothing may be fetched twice when nothing has to be.
    exact = (traffic.bytes["ifmap"] == compulsory[0]) & (traffic.bytes["weight"] == compulsory[1])
    return np.asarray(fit & exact & (traffic.bytes["ofmap_read"] == 0))

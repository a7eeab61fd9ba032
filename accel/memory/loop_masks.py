"""Where the loops of a tiling iterate, per loop order, for every candidate of a layer's grid.

A loop order (outer → inner over m, k, n) decides only which loops run inside which; a loop
iterates where its trip count is above one. Which tiles a loop order refetches, streams in
place or changes at every step (`traffic.py`, `bound_stack.py`) depends on whether some loop
inside a given one iterates: of the 8 sets of loops, each set's mask over the (m, k, n) grid is
built once, and a loop's masks over the orders are one pick among them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from accel.mapping.array import GEMM_DIMS, GemmDim, loop_dims
from accel.memory.geometry import IntArray

_MEMBERS = (np.arange(8)[:, None] >> np.arange(3)) & 1 == 1  # set `s` holds loop i: bit i


class Moving:
    """Where the loops inside a given loop iterate, per loop order, stacked over the orders:
    the mask of each of the 8 sets of inner loops is built once, and each loop's masks over
    the orders are one pick among them."""

    def __init__(self, trip: dict[GemmDim, IntArray], orders: tuple[str, ...]) -> None:
        moving = np.empty((len(GEMM_DIMS), *trip["m"].shape), dtype=bool)  # trips span it
        for i, dim in enumerate(GEMM_DIMS):  # not `np.stack`, in Python
            np.greater(trip[dim], 1, out=moving[i])
        self.moves = moving  # per dim (GEMM_DIMS), where its loop iterates
        # Set `s` of loops (bit i: GEMM_DIMS[i]): where any of its loops iterates.
        self.subsets = np.logical_or.reduce(_MEMBERS[:, :, None, None, None] & moving, axis=1)
        self.orders = orders
        self.found: dict[GemmDim, IntArray] = {}

    def stacked(self, dim: GemmDim) -> IntArray:
        """Per order (first axis): where some loop inside `dim`'s loop iterates."""
        if dim not in self.found:
            self.found[dim] = self.subsets[list(_inner_sets(self.orders, dim))]
        return self.found[dim]


@lru_cache(maxsize=64)
def _inner_sets(orders: tuple[str, ...], dim: GemmDim) -> tuple[int, ...]:
    """Per order, the set of loops inside `dim`'s (bit i: GEMM_DIMS[i])."""
    inner = [loop_dims(order)[order.index(dim) + 1 :] for order in orders]
    return tuple(sum(1 << GEMM_DIMS.index(d) for d in dims) for dims in inner)

"""Where the loops inside each loop iterate, all loop orders at once, against each order's
loops or-ed one by one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.memory import tiling as tiles
from accel.memory.loop_masks import Moving


@settings(max_examples=60, deadline=None)
@given(
    trips_m=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    trips_k=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    trips_n=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    orders=st.lists(st.sampled_from(tiles.LOOP_ORDERS), min_size=1, max_size=6),
)
def test_inner_loop_masks_equal_or_ing_the_loops_inside_each(
    trips_m: list[int], trips_k: list[int], trips_n: list[int], orders: list[str]
) -> None:
    shape = (len(trips_m), len(trips_k), len(trips_n))
    trip = {
        "m": np.broadcast_to(np.array(trips_m)[:, None, None], shape),
        "k": np.broadcast_to(np.array(trips_k)[None, :, None], shape),
        "n": np.broadcast_to(np.array(trips_n)[None, None, :], shape),
    }
    moving = Moving(trip, tuple(orders))
    for dim in ("m", "k", "n"):
        for o, order in enumerate(orders):
            inside = order[order.index(dim) + 1 :]
            expected = np.zeros(shape, dtype=bool)
            for loop in inside:
                expected |= trip[loop] > 1
            assert moving.stacked(dim)[o].tolist() == expected.tolist()


def test_each_set_of_loops_iterates_where_one_of_its_loops_does() -> None:
    """`subsets[s]`: where any loop of set `s` (bit i: m, k, n) makes more than one trip."""
    shape = (2, 1, 2)
    trip = {
        "m": np.array([1, 3]).reshape(2, 1, 1) * np.ones(shape, dtype=np.int64),
        "k": np.ones(shape, dtype=np.int64),
        "n": np.array([1, 2]).reshape(1, 1, 2) * np.ones(shape, dtype=np.int64),
    }
    moving = Moving(trip, ("mkn",))
    assert moving.moves[1].tolist() == np.zeros(shape, dtype=bool).tolist()
    assert moving.subsets[0].tolist() == np.zeros(shape, dtype=bool).tolist()
    assert moving.subsets[0b001].ravel().tolist() == [False, False, True, True]  # m
    assert moving.subsets[0b100].ravel().tolist() == [False, True, False, True]  # n
    assert moving.subsets[0b111].ravel().tolist() == [False, True, True, True]
    assert moving.stacked("m")[0].ravel().tolist() == [False, True, False, True]  # k, n inside

"""The timing-free parts of a table's bounds, from its rows of bound inputs, against the bounds
worked out term by term."""

from __future__ import annotations

import numpy as np
from conftest import chips, layers, streaming_chips
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_bounds import _plain_lower_bounds, _table

from accel.config import ChipConfig
from accel.memory.bound_timing import _chain_rows, untimed
from accel.model.network import Layer


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips | streaming_chips, burst=st.sampled_from([1, 16, 64, 96]),
       latency=st.sampled_from([0, 100]))  # fmt: skip
def test_a_tables_rows_finish_at_a_timing_as_its_bounds_term_by_term(
    layer: Layer, chip: ChipConfig, burst: int, latency: int
) -> None:
    """`untimed` of a table's rows, finished at the chip's bandwidth and latency, is every
    candidate's bound worked out term by term."""
    chip = chip.with_values({"dram.burst_bytes": burst, "dram.latency_cycles": latency})
    table = _table(layer, chip)
    assume(table is not None)
    assert table is not None
    parts = untimed(table.rows, table.chain_shapes, table.layout, burst)
    assert parts.on_bus.shape == (table.layout["bus"] + 1, len(table))
    assert not parts.on_bus[-1].any()  # the row of zeros the chains pad with
    bound = parts.at(chip.dram.bandwidth_bytes_per_cycle, latency)
    assert bound.tolist() == _plain_lower_bounds(table, chip).tolist()


def test_each_chains_largest_rows_repeat_once_per_half() -> None:
    """Chains of (2 halves, 2 transfers), (1, 1), (2, 3) from row 6, padded with row 20."""
    rows = _chain_rows(((2, 2), (1, 1), (2, 3)), 6, 20)
    assert rows.T.tolist() == [[6, 6, 7, 7, 20, 20], [8, 20, 20, 20, 20, 20],
                               [9, 9, 10, 10, 11, 11]]  # fmt: skip
    assert not rows.flags.writeable
    assert np.asarray(_chain_rows((), 6, 6)).shape == (0, 0)

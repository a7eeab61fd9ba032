"""The candidate table's bound inputs and lower bounds, each fast form against its plain one:
every loop order at once against one order at a time, one matrix of rows against one array per
input, one pass over the rows against one call per bound term."""

from __future__ import annotations

import numpy as np
from conftest import chips, layers, sram_scaled, streaming_chips
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from accel.config import OPERANDS, ChipConfig, Operand
from accel.mapping.array import GEMM_DIMS, loop_dims
from accel.mapping.mapper import map_layer
from accel.memory import bound_stack, bound_terms, bounds, plans
from accel.memory import tiling as tiles
from accel.memory.bound_terms import chain_bound
from accel.memory.bounds import Grid, lower_bounds
from accel.memory.candidates import NoFit
from accel.memory.channel_cycles import channel_bound, transfer_bound
from accel.memory.geometry import IntArray
from accel.memory.tiling import Candidates
from accel.memory.traffic import TRAFFIC, GridTraffic, grid_sizes, trips
from accel.model.network import Layer
from accel.perf.timing import time_layer


def _table(layer: Layer, chip: ChipConfig) -> Grid | None:
    mapping = map_layer(layer, chip)
    if mapping.array is None:
        return None
    args = (layer.op, layer.input_shapes, layer.output_shape, 1, mapping.array,
            time_layer(mapping, chip).compute_cycles, plans.layout_chip(chip))  # fmt: skip
    try:
        return plans.layer_table(*args)[0]
    except NoFit:
        return None


def _plain_innermost(
    order: str, moving: dict[str, IntArray], groups: int
) -> dict[Operand, IntArray]:
    """Per operand, where the innermost loop that iterates indexes it, one order: the loops
    walked from the innermost out."""
    innermost: dict[str, IntArray] = {}
    still = np.ones_like(moving["m"])
    for dim in reversed(loop_dims(order)):
        innermost[dim] = moving[dim] & still
        still = still & ~moving[dim]
    result: dict[Operand, IntArray] = {}
    for operand in OPERANDS:
        first, second = tiles.OPERAND_DIMS[operand]
        found = innermost[first] | innermost[second]
        result[operand] = found | still if groups > 1 else found
    return result


def _plain_lower_bounds(table: Grid, chip: ChipConfig) -> IntArray:
    """`lower_bounds` term by term, each array through its own `transfer_bound` or
    `channel_bound` call, each chain through `chain_bound`."""
    latency = chip.dram.latency_cycles
    first = transfer_bound(table.first_ifmap, chip) + transfer_bound(table.first_weight, chip)
    fill = np.where(first > 0, first + latency, 0)
    last = transfer_bound(table.last_write, chip)
    moved = sum(transfer_bound(size, chip) for size in table.window_bytes)
    extra = np.maximum(moved + latency - table.window_compute, 0)
    pipeline = table.compute + fill + last + table.windows * extra
    count = table.transfers
    bound: IntArray = np.maximum(pipeline, channel_bound(table.bus, chip, count))
    closing = latency + table.last_compute + last
    bound = np.maximum(bound, channel_bound(table.drain_bus, chip, count) + closing)
    rest = table.head_bus
    after = np.where(
        rest > 0, channel_bound(rest, chip, count) + closing, table.last_compute + last
    )
    opened = first + latency + table.first_compute + after
    bound = np.maximum(bound, np.where(table.first_compute > 0, opened, 0))
    for chain in table.chains:
        bound = np.maximum(bound, chain_bound(chain, chip))
    return bound


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_the_lower_bounds_in_one_pass_are_the_term_by_term_ones(
    layer: Layer, chip: ChipConfig
) -> None:
    table = _table(layer, chip)
    assume(table is not None)
    assert table is not None
    # Bandwidths with a whole or a fractional number of cycles per burst, and one where a
    # burst takes no cycle; latencies with and without waits: the timing-free parts kept on
    # the table at the first are finished at each.
    timings = [(chip.dram.bandwidth_bytes_per_cycle, chip.dram.latency_cycles)]
    timings += [(7.3, 0), (48.6, 37), (200.0, 5), (8.0, 1000)]
    for bandwidth, latency in timings:
        other = chip.with_values(
            {"dram.bandwidth_bytes_per_cycle": bandwidth, "dram.latency_cycles": latency}
        )
        fast = lower_bounds(table, other)
        assert fast.dtype == np.int64
        assert fast.tolist() == _plain_lower_bounds(table, other).tolist()


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_every_orders_stack_is_each_orders_own(layer: Layer, chip: ChipConfig) -> None:
    """The stack read off `order_traffics`' joint arrays: each order's traffic and innermost
    indexes as one order alone gives them, and as stacking the orders' own arrays does."""
    table = _table(layer, chip)
    assume(table is not None)
    assert table is not None
    orders, grid, array = list(table.orders), table.grid, table.array
    joint = bound_stack.Stack.of(orders, list(table.per_order), grid, array, chip)
    alone = [GridTraffic(t.order, t.bytes, t.transfers, t.refill, t.in_place, t.streamed)
             for t in orders]  # fmt: skip
    stacked = bound_stack.Stack.of(alone, list(table.per_order), grid, array, chip)
    trip = trips(grid, array)
    moving = {dim: np.asarray(trip[dim] > 1) for dim in GEMM_DIMS}
    for o, traffic in enumerate(orders):
        plain = _plain_innermost(traffic.order, moving, array.groups)
        for operand in OPERANDS:
            assert joint.innermost[operand][o].tolist() == plain[operand].tolist()
            assert stacked.innermost[operand][o].tolist() == plain[operand].tolist()
        for kind in TRAFFIC:
            assert joint.transfers[kind][o].tolist() == traffic.transfers[kind].tolist()
            assert joint.rounded[kind][o].tolist() == stacked.rounded[kind][o].tolist()
        moved = sum(traffic.bytes[kind] for kind in TRAFFIC)
        assert joint.moved[o].tolist() == np.broadcast_to(moved, joint.full[1:]).tolist()
    assert joint.bus.tolist() == stacked.bus.tolist()
    assert joint.count(TRAFFIC).tolist() == stacked.count(TRAFFIC).tolist()


def _plain_head_bus(
    stack: bound_stack.Stack, grid: Candidates, chip: ChipConfig, drain: IntArray,
    prologue: IntArray,
) -> IntArray:
    """`bound_terms.head_bus` choosing each early tile first and rounding it to bursts after."""
    burst, sizes = chip.dram.burst_bytes, grid_sizes(grid)
    early: list[IntArray] = [prologue]
    for op in ("ifmap", "weight"):
        if chip.sram.buffer_for(op).double_buffered:
            early.append(np.where(stack.transfers[op] > 1, stack.tile_sizes[op], 0))
    if chip.sram.buffer_for("ofmap").double_buffered:
        partial = sizes["m"] * sizes["n"] * chip.array.accumulator_bytes
        early.append(np.where(stack.transfers["ofmap_read"] > 0, partial, 0))
    allowance = sum(-(-each // burst) * burst for each in early[1:]) + prologue
    result: IntArray = drain - allowance
    return result


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips)
def test_the_head_rounds_each_early_tile_before_choosing_it(
    layer: Layer, chip: ChipConfig
) -> None:
    table = _table(layer, chip)
    assume(table is not None and not table.orders[0].streamed)
    assert table is not None
    grid, array = table.grid, table.array
    stack = bound_stack.Stack.of(list(table.orders), list(table.per_order), grid, array, chip)
    drain = bound_terms.drain_bus(grid, stack, array, chip)
    prologue = np.full((1, 1, 1, 1), 64, dtype=np.int64)
    fast = bound_terms.head_bus(grid, stack, array, chip, drain, prologue)
    plain = _plain_head_bus(stack, grid, chip, drain, prologue)
    assert np.broadcast_to(fast, stack.full).tolist() == np.broadcast_to(plain, stack.full).tolist()


@settings(max_examples=30, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_a_table_cut_to_the_fit_is_the_table_built_on_it(layer: Layer, chip: ChipConfig) -> None:
    """`restrict` (one cut of the shared full table's rows) against `build_grid` on the valid
    candidates alone: every bound input of every candidate, chain by chain."""
    table = _table(layer, chip)
    assume(table is not None)
    assert table is not None
    valid = np.zeros(len(table.orders) * table.grid.m.size * table.grid.k.size
                     * table.grid.n.size, dtype=bool)  # fmt: skip
    valid[table.flat] = True
    kept = list(valid.reshape(len(table.orders), -1))
    built = bounds.build_grid(
        table.grid, list(table.orders), list(table.per_order), kept, table.array, chip,
        layer.bias_elements > 0, table.compute_cycles,
    )  # fmt: skip
    assert built.flat.tolist() == table.flat.tolist()
    assert built.rows.tolist() == table.rows.tolist()
    assert built.transfers.tolist() == table.transfers.tolist()
    assert [chain.steps.tolist() for chain in built.chains] == [
        chain.steps.tolist() for chain in table.chains
    ]


def test_flatten_cuts_every_row_like_one_array_at_a_time() -> None:
    full = (2, 3, 1, 2)
    values: list[IntArray | int] = [
        np.arange(12).reshape(full), np.array([[[5]], [[6]], [[7]]]), 3, np.array([True, False]),
    ]  # fmt: skip
    mask = np.array([True, False, True] * 4)
    rows = bound_stack.flatten(values, full, mask)
    assert rows.dtype == np.int64
    for row, each in zip(rows, values, strict=True):
        assert row.tolist() == np.broadcast_to(each, full).reshape(-1)[mask].tolist()
    assert bound_stack.flatten(values, full, None)[1].tolist() == [5, 5, 6, 6, 7, 7] * 2
    assert rows[0].tolist() == [0, 2, 3, 5, 6, 8, 9, 11]


@settings(max_examples=30, deadline=None)
@given(burst=st.integers(1, 256), data=st.data())
def test_bytes_round_to_bursts_by_a_shift_as_by_a_division(burst: int, data: st.DataObject) -> None:
    """`_rounded`'s whole bursts (a shift where the burst is a power of two) are the ceiling
    division's, on the bus as on the chip."""
    counts = st.lists(st.integers(0, 10**6), min_size=8, max_size=8)
    values = np.array(data.draw(counts), dtype=np.int64).reshape(4, 1, 2, 1, 1)
    transfers = np.array(data.draw(counts), dtype=np.int64).reshape(4, 1, 2, 1, 1) % 3
    grid = Candidates(*(np.array([1]) for _ in range(3)), *(np.array([[1]]) for _ in range(4)))
    chip = ChipConfig().with_values({"dram.burst_bytes": burst})
    rows = bound_stack._rounded(values, transfers, (), grid, chip)
    expected = np.maximum(-(-values // burst), transfers) * burst
    assert rows.tolist() == expected.tolist()


@settings(max_examples=30, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_the_stacks_step_cycles_are_each_terms_own(layer: Layer, chip: ChipConfig) -> None:
    """The tile sizes and a whole step's compute, worked out once per stack for every term,
    against each term's own: `grid_sizes` and `grid_step_most` (with and without the first
    step's edge)."""
    table = _table(layer, chip)
    assume(table is not None)
    assert table is not None
    grid, array = table.grid, table.array
    stack = bound_stack.Stack.of(list(table.orders), list(table.per_order), grid, array, chip)
    sizes = grid_sizes(grid)
    assert {dim: each.tolist() for dim, each in stack.sizes.items()} == {
        dim: each.tolist() for dim, each in sizes.items()
    }
    rest = bound_terms.grid_step_most(grid, array, chip, first=False)
    first = bound_terms.grid_step_most(grid, array, chip, first=True)
    edge = max(bound_terms.layer_edges(array, chip.array.fold_overlap)[0], 0)
    assert stack.step_cycles.tolist() == rest.tolist()
    assert (stack.step_cycles + edge).tolist() == first.tolist()


@settings(max_examples=30, deadline=None)
@given(layer=layers, chip=chips | streaming_chips, scale=st.sampled_from([0.25, 0.5, 2.0]),
       bandwidth=st.sampled_from([1.5, 8.0, 48.6]), latency=st.sampled_from([0, 300]))
def test_tables_cut_from_one_build_read_their_bounds_off_it(
    layer: Layer, chip: ChipConfig, scale: float, bandwidth: float, latency: int
) -> None:
    """From the second table cut from one build on (a sweep point that differs only in SRAM
    sizes), `lower_bounds` takes each candidate's column of the build's bounds instead of
    working out the table's own: the same bounds, at every DRAM timing."""
    other = sram_scaled(chip, scale)
    first, second = _table(layer, chip), _table(layer, other)
    assume(first is not None and second is not None)
    assert first is not None and second is not None
    timed = other.with_values({"dram.bandwidth_bytes_per_cycle": bandwidth,
                               "dram.latency_cycles": latency})  # fmt: skip
    for target in (other, timed):
        lower_bounds(first, target)
        fast = lower_bounds(second, target)
        assert fast.dtype == np.int64
        plain = bounds._untimed(second, target.dram.burst_bytes)
        dram = target.dram
        assert fast.tolist() == plain.at(dram.bandwidth_bytes_per_cycle,
                                         dram.latency_cycles).tolist()  # fmt: skip
        assert fast.tolist() == _plain_lower_bounds(second, target).tolist()

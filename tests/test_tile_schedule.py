"""Compressed step sequences: runs of a repeated period, and vector-unit streams."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from accel.memory import tile_schedule
from accel.memory.tile_classes import Key, _extents, level_runs
from accel.memory.tile_schedule import Repeat, compress, stream_schedule


def test_compress_finds_runs_of_single_items_and_of_periods() -> None:
    assert compress(list("abbbbbcd")) == [(1, ("a",)), (5, ("b",)), (1, ("c",)), (1, ("d",))]
    assert compress(list("xabcabcabcy")) == [(1, ("x",)), (3, ("a", "b", "c")), (1, ("y",))]
    assert compress([]) == []
    assert compress(list("ab")) == [(1, ("a",)), (1, ("b",))]


@given(
    base=st.lists(st.sampled_from([-3, -2, 0, 1, 2, 3]), min_size=1, max_size=5),
    length=st.integers(0, 70),
    edits=st.lists(st.tuples(st.integers(0, 69), st.sampled_from([-4, -2, 0, 5])), max_size=4),
)
def test_short_sequences_are_cut_as_numpy_cuts_them(
    base: list[int], length: int, edits: list[tuple[int, int]]
) -> None:
    """`runs` cuts sequences up to `_SHORT` long element by element, longer ones with numpy's
    streaks over every period at once: the same cut either way (codes may be negative, but
    not -1: past the end compares unequal)."""
    codes = (base * length)[:length]
    for index, value in edits:
        if length:
            codes[index % length] = value
    columns = tile_schedule._streak_columns(np.array(codes, dtype=np.int64), min(32, length // 2))
    by_numpy = tile_schedule._cut(codes, columns)
    by_element = tile_schedule._cut(codes, lambda start: tile_schedule._streak_column(codes, start))
    assert by_element == by_numpy
    assert sum(count * period for count, _, period in by_numpy) == length


@given(
    length=st.integers(4, 120), middle=st.integers(-4, 3),
    ends=st.tuples(*[st.integers(-5, 3)] * 3),
    edits=st.lists(st.tuples(st.integers(0, 119), st.integers(-5, 3)), max_size=2),
)  # fmt: skip
def test_a_uniform_sequence_is_cut_as_numpy_cuts_it(
    length: int, middle: int, ends: tuple[int, int, int], edits: list[tuple[int, int]]
) -> None:
    """`runs` reads the cut of a sequence that is one code between a unique first and two
    unique last ones off its ends (a loop of alike tiles), short or long; any sequence gets
    numpy's cut, uniform or not (ends that repeat a code, or edits inside)."""
    codes = [ends[0]] + [middle] * (length - 3) + [ends[1], ends[2]]
    for index, value in edits:
        codes[index % length] = value
    assert tile_schedule.runs(codes) == tile_schedule._long_runs(codes)
    if len(set(ends) | {middle}) == 4 and not edits:
        assert tile_schedule._uniform_runs(codes) is not None


@given(
    base=st.lists(st.integers(0, 3), min_size=1, max_size=4),
    length=st.integers(1, 120),
    edits=st.lists(st.tuples(st.integers(0, 119), st.integers(0, 5)), max_size=4),
)
def test_level_runs_are_the_runs_of_every_index_key(
    base: list[int], length: int, edits: list[tuple[int, int]]
) -> None:
    """`level_runs` codes the keys from the classes without building a Key per index: the
    same runs as compressing every index's Key."""
    classes = (base * length)[:length]
    for index, value in edits:
        classes[index % length] = value
    sizes = tuple((size, (size * 7,)) for size in classes)
    keys = [Key(sizes[i], sizes[i + 1] if i + 1 < length else None, i == 0, i == length - 1,
                i == length - 2) for i in range(length)]  # fmt: skip
    assert level_runs.__wrapped__(sizes) == compress(keys)


@given(
    length=st.integers(1, 300),
    ends=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    other=st.none() | st.tuples(st.integers(0, 299), st.integers(1, 4)),
)
def test_level_runs_of_loops_alike_but_at_their_ends_are_the_runs_of_every_index_key(
    length: int, ends: tuple[int, int, int], other: tuple[int, int] | None
) -> None:
    """A loop whose tiles are alike but perhaps the first and the last (its four runs read
    off directly, no code per index), and the same with one more tile changed (coded per
    index): the runs of compressing every index's Key."""
    first, tile, last = ((size, (size * 3,)) for size in ends)
    sizes = [first] + [tile] * (length - 2) + [last] if length > 1 else [first]
    if other is not None:
        sizes[other[0] % length] = (other[1], (other[1] * 3,))
    keys = [Key(sizes[i], sizes[i + 1] if i + 1 < length else None, i == 0, i == length - 1,
                i == length - 2) for i in range(length)]  # fmt: skip
    assert level_runs.__wrapped__(tuple(sizes)) == compress(keys)


def test_level_runs_keep_the_first_and_the_last_two_indices_apart() -> None:
    tile = (4, (28,))
    runs = level_runs.__wrapped__((tile,) * 6)
    assert [(count, [key.first, key.last, key.penultimate]) for count, period in runs
            for key in period] == [(1, [True, False, False]), (3, [False, False, False]),
                                   (1, [False, False, True]), (1, [False, True, False])]  # fmt: skip


def test_stream_schedule_splits_tensors_evenly_and_drains_at_the_end() -> None:
    schedule = stream_schedule({"ifmap": 1003, "ofmap": 250}, 400, 4, 10)
    steps = list(schedule.steps())
    assert len(steps) == schedule.step_count == 10
    loaded = sum(load.bytes for load in schedule.prologue) + sum(
        load.bytes for step in steps for load in step.loads
    )
    assert loaded == 1003
    assert sum(step.writeback_bytes for step in steps) == 250
    # 396 busy cycles in 10 near-equal shares, then the 4-cycle drain.
    assert [step.compute_cycles for step in steps] == [40] * 6 + [39] * 3 + [39 + 4]
    assert schedule.prefetch_at_start  # no weights: the next layer's may load right away


def test_long_streams_stay_small() -> None:
    schedule = stream_schedule({"ifmap": 10**7 + 3, "weight": 999, "ofmap": 10**6}, 10**6, 8, 10**5)
    assert schedule.step_count == 10**5
    assert schedule.node_count < 20
    assert any(isinstance(node, Repeat) for node in schedule.body)
    assert sum(step.prefetch_point for step in schedule.steps()) == 1


@given(total=st.integers(1, 5000), tile=st.integers(1, 600))
def test_a_dimensions_tile_extents_are_each_tiles_share(total: int, tile: int) -> None:
    """`tile_classes._extents` (whole tiles, then the rest) is each tile's extent, tile by
    tile."""
    plain = [min(tile, total - start) for start in range(0, total, tile)]
    assert _extents(total, tile) == plain

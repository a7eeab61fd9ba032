"""Fold schedules: the K/M/N chunks a mapping runs, and how consecutive chunks merge into runs."""

from __future__ import annotations

import pytest

from accel.config import ArrayConfig
from accel.functional.schedule import Schedule, merge_runs
from accel.mapping.array import ArrayMapping
from accel.model.network import GemmView


@pytest.mark.parametrize(
    ("dataflow", "m_chunks", "k_chunks", "n_chunks"),
    [
        # ws: K on rows (4), N on columns (3), M streamed whole
        ("ws", ((0, 10),), ((0, 4), (4, 8), (8, 9)), ((0, 3), (3, 5))),
        # is: K on rows, M on columns, N streamed whole
        ("is", ((0, 3), (3, 6), (6, 9), (9, 10)), ((0, 4), (4, 8), (8, 9)), ((0, 5),)),
        # os: M on rows, N on columns, all of K in each PE
        ("os", ((0, 4), (4, 8), (8, 10)), ((0, 9),), ((0, 3), (3, 5))),
    ],
)
def test_schedule_lists_the_fold_grid(
    dataflow: str,
    m_chunks: tuple[tuple[int, int], ...],
    k_chunks: tuple[tuple[int, int], ...],
    n_chunks: tuple[tuple[int, int], ...],
) -> None:
    array = ArrayConfig(rows=4, cols=3, dataflow=dataflow)
    mapping = ArrayMapping.place(GemmView(m=5, k=9, n=5, groups=2), batch=2, array=array)
    schedule = Schedule.from_array_mapping(mapping)
    assert (schedule.m, schedule.k, schedule.n) == (10, 9, 5)
    assert (schedule.m_chunks, schedule.k_chunks, schedule.n_chunks) == (
        m_chunks,
        k_chunks,
        n_chunks,
    )
    assert schedule.passes == mapping.folds_per_group


def test_merge_runs_joins_only_contiguous_chunks() -> None:
    assert merge_runs([(0, 4), (4, 8), (8, 9)]) == ((0, 9),)
    assert merge_runs([(0, 4), (8, 9)]) == ((0, 4), (8, 9))  # a dropped chunk leaves a gap
    assert merge_runs([(0, 4), (0, 4)]) == ((0, 4), (0, 4))  # a repeated chunk runs twice
    assert merge_runs([(4, 8), (0, 4)]) == ((4, 8), (0, 4))  # order is kept
    assert merge_runs([]) == ()

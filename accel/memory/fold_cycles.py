"""Compute cycles of fold runs: the timing model's per-fold convention, step by step.

A fold streams `τ` wavefronts plus its fill/drain (`Ar + Ac − 2` in os, `2·Ar + Ac − 2` in
ws / is), or with `fold_overlap` occupies the array for a period of `max(τ, Ar)` (see
`accel.perf.timing.fold_period`). A tiling cuts folds into chunks, one per step; these are the
cycles of such chunks, and of the edges paid once per layer, so the loop nest's steps add up to
the timing model's figure (`untiled_cycles`).
"""

from __future__ import annotations

import numpy as np

from accel.mapping.array import ArrayMapping
from accel.memory.geometry import IntArray
from accel.perf.timing import fill_drain_cycles


def fold_run_cycles(
    array: ArrayMapping, fold_overlap: bool, steps: int, folds: int, chunk: str
) -> int:
    """Cycles of `folds` folds streaming `steps` wavefronts each.

    `chunk` is "whole" (each fold starts afresh), "head" (the first chunk of a fold whose
    stream continues in later steps) or "tail" (a continuation: the fold is already loaded).
    """
    rows = array.array_rows
    overhead = fill_drain_cycles(array)
    if chunk == "tail":
        return steps
    if not fold_overlap:
        return folds * (overhead + steps)
    if chunk == "head":
        return steps + max(0, rows - array.time_steps)
    return folds * max(steps, rows)


def layer_edges(array: ArrayMapping, fold_overlap: bool) -> tuple[int, int]:
    """Cycles paid once per layer: before the first fold and after the last."""
    rows, cols = array.array_rows, array.array_cols
    if not fold_overlap:
        return 0, -1  # SCALE-Sim counts `folds · per_fold − 1`
    # With overlap a fold occupies the array for max(T, Ar) cycles (the stationary preload in
    # ws / is, the output bus drain in os), except the last, which only streams its T.
    first = rows if array.dataflow != "os" else 0
    return first, rows + cols - 3 - max(0, rows - array.time_steps)


def untiled_cycles(array: ArrayMapping, fold_overlap: bool) -> int:
    """The timing model's compute cycles, rebuilt from fold runs (one chunk per fold)."""
    first, last = layer_edges(array, fold_overlap)
    whole = fold_run_cycles(array, fold_overlap, array.time_steps, 1, "whole")
    return first + array.folds * whole + last


def whole_folds_cycles(
    array: ArrayMapping, fold_overlap: bool, folds: IntArray, time: IntArray
) -> IntArray:
    """`fold_run_cycles` of whole folds over arrays of candidates: `folds` folds streaming
    `time` wavefronts each."""
    if fold_overlap:
        result: IntArray = folds * np.maximum(time, array.array_rows)
    else:
        result = folds * (time + fill_drain_cycles(array))
    return result


def last_step_cycles(
    array: ArrayMapping, fold_overlap: bool, compute_cycles: int, folds: IntArray,
    time: IntArray, merged: IntArray,
) -> IntArray:
    """Compute cycles of a layer's last step, at least, over arrays of candidates: `folds` folds
    streaming `time` wavefronts each, or (`merged`) the tail chunk of a fold continued in place,
    plus the closing edge and the rebuild's difference from `compute_cycles`, both paid there
    (`nest_step.Position.cycles`; a single-step layer also pays the opening edge)."""
    whole = whole_folds_cycles(array, fold_overlap, folds, time)
    _, last = layer_edges(array, fold_overlap)
    adjust = compute_cycles - untiled_cycles(array, fold_overlap)
    result: IntArray = np.where(merged, time, whole) + last + adjust
    return result

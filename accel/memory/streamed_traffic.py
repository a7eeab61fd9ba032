"""What streaming and cutting cost, for every candidate tiling at once: how often the array
reads a streamed operand, the pieces it moves in, and the array cycles lost to cutting the
streamed dimension.

An operand streamed through an undersized buffer (`sram.undersized: stream`) is never reused
from SRAM: it crosses the channel every time the array reads it (`streamed_passes`): a
stationary operand once per fold it is loaded into (or drained from) the PEs, the others once
per fold along the dimension they do not index, and a streamed ifmap as its im2col copies. A
streamed ofmap is read back and written again after every partial sum. Each moves in pieces of
at most its buffer's half (`in_pieces`).

`refill_cycles` counts the array cycles lost to cutting the streamed dimension into several
chunks per fold (see `loop_nest.py`); `traffic.py` adds them to each candidate's traffic.
"""

from __future__ import annotations

import numpy as np

from accel.config import ChipConfig, Operand
from accel.mapping.array import ArrayMapping, GemmDim, ceil_div
from accel.memory import tiling as tiles
from accel.memory.fold_cycles import fold_run_cycles
from accel.memory.geometry import IntArray


def streamed_passes(
    operand: Operand, trip: dict[GemmDim, IntArray], in_place: IntArray, array: ArrayMapping
) -> IntArray:
    """How many times the array reads each element of a streamed `operand` (the ofmap: how
    many partial sums update each output), for every candidate.

    The operand the streamed dimension does not index is stationary: it enters (os: leaves)
    the PEs once per chunk of the streamed dimension, or once per fold when consecutive chunks
    continue the same fold in place. The others are re-read by every fold along the dimension
    they do not index (whole folds per tile, so the tiling does not change the count).
    """
    idle = tiles.IDLE_DIM[operand]
    if idle == array.time_dim:
        result: IntArray = np.where(in_place, 1, trip[idle])
        return result
    fold = array.array_rows if idle == array.rows_dim else array.array_cols
    total = {"m": array.m, "k": array.k, "n": array.n}[idle]
    return np.full_like(trip[idle], ceil_div(total, fold))


def in_pieces(
    transfers: dict[str, IntArray],
    size: dict[str, IntArray],
    chip: ChipConfig,
    streamed: tuple[Operand, ...],
) -> None:
    """Streamed operands move in pieces of at most their buffer's half: at least that many
    transfers (an estimate for the shortlist; the schedule moves the exact pieces)."""
    pieces = tiles.piece_bytes(chip, streamed)
    kinds = {"ifmap": ("ifmap",), "weight": ("weight",), "ofmap": ("ofmap_write", "ofmap_read")}
    for operand in streamed:
        for kind in kinds[operand]:
            transfers[kind] = np.maximum(transfers[kind], -(-size[kind] // pieces[operand]))


def refill_cycles(
    trip: dict[GemmDim, IntArray],
    grid: tiles.Candidates,
    array: ArrayMapping,
    chip: ChipConfig,
    in_place: IntArray,
) -> IntArray:
    """Array cycles added by cutting the streamed dimension into several chunks per fold."""
    sizes = {"m": grid.m[:, None, None], "k": grid.k[None, :, None], "n": grid.n[None, None, :]}
    time = array.time_dim
    chunks = trip[time]
    cut = (chunks > 1) & ~in_place
    folds = array.folds_per_group * array.groups
    if not chip.array.fold_overlap:
        overhead = fold_run_cycles(array, False, 0, 1, "whole")
        return np.where(cut, folds * (chunks - 1) * overhead, 0)
    # Each chunk occupies the array for at least Ar cycles (ws / is: the stationary preload,
    # os: the output bus drain), where the uncut fold paid that once.
    rows, steps = array.array_rows, array.time_steps
    chunk = sizes[time]
    last = steps - (chunks - 1) * chunk
    tiled = (chunks - 1) * np.maximum(chunk, rows) + np.maximum(last, rows)
    return np.where(cut, folds * (tiled - max(steps, rows)), 0)

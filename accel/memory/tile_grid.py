"""The candidate grid of a layer: the legal tile sizes along M, K and N, and the ifmap bytes of
every (M-tile, K-tile) pair.

A K-tile covers whole channels and pieces of channels, each piece a box of kernel taps
(`geometry.k_patterns`); its ifmap bytes are, per piece, the input pixels its M-tile reads
through that tap box (`boxes.py`) times the channels of the piece. So every figure of the
(m, k) grid is a sum over a few distinct tap boxes: the boxes are computed once per tap box for
all M-tile sizes (shared by layers of one spatial shape), and each K-tile size's sums are a
small integer matrix product instead of a Python loop per K-tile size and piece.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from accel.mapping.array import GEMM_DIMS, ArrayMapping, GemmDim
from accel.memory.geometry import IntArray, KPart, LayerGeometry, Taps
from accel.memory.tiling import Candidates


def candidates(array: ArrayMapping, geometry: LayerGeometry) -> Candidates:
    """Every legal tile size along each GEMM dimension, with the ifmap bytes each implies."""
    sizes = {dim: _sizes(dim, array, geometry) for dim in GEMM_DIMS}
    m_sizes, k_sizes = tuple(sizes["m"].tolist()), tuple(sizes["k"].tolist())
    return Candidates(sizes["m"], sizes["k"], sizes["n"], *_ifmap_grid(geometry, m_sizes, k_sizes))


def clear_cache() -> None:
    """Forget the memoized ifmap grids."""
    _ifmap_grid.cache_clear()


@lru_cache(maxsize=4096)
def _ifmap_grid(
    geometry: LayerGeometry, m_sizes: tuple[int, ...], k_sizes: tuple[int, ...]
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """`Candidates`' ifmap figures over the (M-tile, K-tile) grid (read-only: memoized). They
    read the geometry and the tile sizes, not the array or `N`: layers on one input that differ
    in their outputs (GoogLeNet's branches) share them."""
    patterns = [geometry.k_patterns(k_tile) for k_tile in k_sizes]
    firsts = [geometry.first_k_part(k_tile) for k_tile in k_sizes]
    taps = list(dict.fromkeys(t for each in (*patterns, firsts) for part in each
                              for _, t in part))  # fmt: skip
    where = {t: i for i, t in enumerate(taps)}
    # Per M-tile size (rows) and tap box (columns): sum, largest, smallest and first box.
    box_sum, box_max, box_min, box_first = geometry.tap_figures(m_sizes, tuple(taps))
    total = np.zeros((len(taps), len(k_sizes)), dtype=np.int64)  # Σ repeats · channels
    first = np.zeros((len(taps), len(k_sizes)), dtype=np.int64)
    pieces: list[KPart] = []  # every distinct K-tile shape, K-tile size by K-tile size
    starts = []
    for j, found in enumerate(patterns):
        starts.append(len(pieces))
        for part, repeats in found.items():
            pieces.append(part)
            for count, t in part:
                total[where[t], j] += repeats * count
        for count, t in firsts[j]:
            first[where[t], j] += count
    each = _piece_matrix(pieces, where)
    result = (
        box_sum @ total, np.maximum.reduceat(box_max @ each, starts, axis=1),
        box_first @ first, np.minimum.reduceat(box_min @ each, starts, axis=1),
    )  # fmt: skip
    for values in result:
        values.flags.writeable = False
    return result


def _piece_matrix(pieces: list[KPart], where: dict[Taps, int]) -> IntArray:
    """Channels per tap box (rows) of each K-tile shape (columns)."""
    matrix = np.zeros((len(where), len(pieces)), dtype=np.int64)
    for p, part in enumerate(pieces):
        for count, t in part:
            matrix[where[t], p] += count
    return matrix


def _sizes(dim: GemmDim, array: ArrayMapping, geometry: LayerGeometry) -> IntArray:
    """Tile sizes along `dim`: the smallest legal one, then aligned ones doubling up to the dim.

    Aligned sizes keep every interior tile alike (whole output rows, whole channels' taps), so
    schedules compress well; the smallest legal tile keeps tight buffers usable.
    """
    total = {"m": array.m, "k": array.k, "n": array.n}[dim]
    width, plane, taps = geometry.cols.outputs, geometry.plane, geometry.taps
    if dim in (array.rows_dim, array.cols_dim):
        fold = array.array_rows if dim == array.rows_dim else array.array_cols
        align = {"m": width, "k": taps, "n": 1}[dim]
        smallest, starts = fold, [math.lcm(fold, align)]
    elif dim == "m":
        smallest = 1
        starts = [width, plane] + [width // 2**i for i in range(1, 8) if width % 2**i == 0]
    elif dim == "k":
        smallest, starts = 1, [taps]
    else:
        smallest, starts = 1, [1]
    found = {total, min(smallest, total)}
    for size in starts:
        while size < total:
            found.add(size)
            size *= 2
    return np.array(sorted(found), dtype=np.int64)

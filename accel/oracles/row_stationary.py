"""A PE-level model of a row-stationary array: every PE's scratchpads and psum link, pass by pass.

The oracle walks the passes of a `RowStationaryMapping` in the order the global buffer holds
them (groups → image blocks → strips → ofmap-channel blocks → channel chunks → filter chunks →
filter-row / -column chunks). In a pass, set (i, j) takes the j-th `p` filters and the i-th `q`
channels of the pass; its PE (a, b) holds filter row a and computes ofmap row b of the strip.
Each PE fills its filter scratchpad one word per cycle, then for every image and ofmap column
loads its `q·S'` ifmap window into the ifmap scratchpad, does its `p·q·S'` MACs into the psum
scratchpad, and spends one cycle per filter adding the psum the PE below passed up (it may not
add before that PE has finished sending it) and passing the sum on. The top PE's sums go to
the global buffer, where the passes over channel chunks and channel sets accumulate.

It moves real integers and returns the ofmap and the cycles: a pass ends when its last PE
does, and passes run back to back. Scratchpad capacities are asserted, not assumed. Test
oracle only: production code never imports it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.mapping.array import fold_sizes
from accel.mapping.row_stationary import RowStationaryMapping

IntArray = npt.NDArray[np.int64]


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    """(first, length) of consecutive chunks of `size` covering `total`."""
    starts, out = 0, []
    for length in fold_sizes(total, size):
        out.append((starts, length))
        starts += length
    return out


def run_row_stationary(
    mapping: RowStationaryMapping, ifmap: IntArray, weights: IntArray,
    ifmap_spad: int, filter_spad: int, psum_spad: int,
) -> tuple[IntArray, int]:  # fmt: skip
    """(ofmap [N, G·M, E, F], cycles) of the layer; ifmap [N, G·C, H, W], weights
    [G·M, C, R, S]."""
    s, mp = mapping.shape, mapping
    bottom = s.ofmap_height * s.stride_height + s.filter_height  # generous: reads stay inside
    right = s.ofmap_width * s.stride_width + s.filter_width
    padded = np.pad(ifmap.astype(np.int64),
                    ((0, 0), (0, 0), (s.pad_top, bottom), (s.pad_left, right)))  # fmt: skip
    out = np.zeros((mp.batch, s.groups * s.out_channels, s.ofmap_height, s.ofmap_width), np.int64)
    cycles = 0
    for group in range(s.groups):
        for image0, images in _chunks(mp.batch, mp.n):
            for strip0, strip in _chunks(s.ofmap_height, mp.e):
                for block0, block in _chunks(s.out_channels, mp.m):
                    for chan0, chans in _chunks(s.in_channels, mp.q * mp.r):
                        for filt0, filts in _chunks(block, mp.p * mp.t):
                            for row0, rows in _chunks(s.filter_height, mp.set_rows):
                                for col0, cols in _chunks(s.filter_width, mp.filter_cols):
                                    pass_ = _Pass(group, range(image0, image0 + images),
                                                  range(strip0, strip0 + strip),
                                                  block0 + filt0, filts, chan0, chans,
                                                  row0, rows, col0, cols)  # fmt: skip
                                    cycles += _run_pass(mp, pass_, padded, weights, out,
                                                        (ifmap_spad, filter_spad, psum_spad))
    return out, cycles


class _Pass:
    """The slice of the layer one pass covers."""

    def __init__(
        self, group: int, images: range, ofmap_rows: range, filter0: int, filters: int,
        channel0: int, channels: int, row0: int, rows: int, col0: int, cols: int,
    ) -> None:  # fmt: skip
        self.group, self.images, self.ofmap_rows = group, images, ofmap_rows
        self.filter0, self.filters = filter0, filters
        self.channel0, self.channels = channel0, channels
        self.row0, self.rows, self.col0, self.cols = row0, rows, col0, cols


def _run_pass(
    mp: RowStationaryMapping, ps: _Pass, padded: IntArray, weights: IntArray, out: IntArray,
    spads: tuple[int, int, int],
) -> int:  # fmt: skip
    end = 0
    for j in range(mp.t):  # filter sets
        filters = range(ps.filter0 + j * mp.p, ps.filter0 + min((j + 1) * mp.p, ps.filters))
        for i in range(mp.r):  # channel sets
            channels = range(ps.channel0 + i * mp.q,
                             ps.channel0 + min((i + 1) * mp.q, ps.channels))  # fmt: skip
            if not filters or not channels:
                continue
            for ofmap_row in ps.ofmap_rows:
                end = max(end, _run_column(mp, ps, filters, channels, ofmap_row, padded,
                                           weights, out, spads))  # fmt: skip
    return end


def _run_column(
    mp: RowStationaryMapping, ps: _Pass, filters: range, channels: range, ofmap_row: int,
    padded: IntArray, weights: IntArray, out: IntArray, spads: tuple[int, int, int],
) -> int:  # fmt: skip
    """One column of a set: `ps.rows` PEs, bottom to top; returns the cycle its top PE ends."""
    s = mp.shape
    ifmap_spad, filter_spad, psum_spad = spads
    group_in, group_out = ps.group * s.in_channels, ps.group * s.out_channels
    below_sent: dict[tuple[int, int, int], int] = {}  # (image, column, filter) → cycle sent
    below_psum: dict[tuple[int, int, int], int] = {}
    top_end = 0
    for a in reversed(range(ps.rows)):  # the bottom PE first: it feeds the one above
        row = ps.row0 + a
        cols = range(ps.col0, ps.col0 + ps.cols)
        spad_filter = weights[group_out + filters.start:group_out + filters.stop,
                              channels.start:channels.stop, row, cols.start:cols.stop]
        assert spad_filter.size <= filter_spad and len(channels) * ps.cols <= ifmap_spad
        assert len(filters) <= psum_spad
        clock = spad_filter.size  # filter scratchpad filled one word per cycle
        sent: dict[tuple[int, int, int], int] = {}
        sums: dict[tuple[int, int, int], int] = {}
        y = ofmap_row * s.stride_height + row
        for image in ps.images:
            for x in range(s.ofmap_width):
                x0 = x * s.stride_width + ps.col0
                window = padded[image, group_in + channels.start:group_in + channels.stop, y,
                                x0:x0 + ps.cols]  # fmt: skip
                psums = np.einsum("fcs,cs->f", spad_filter, window)
                clock += spad_filter.size  # one MAC per cycle
                for f in range(len(filters)):
                    key = (image, x, f)
                    if a < ps.rows - 1:
                        clock = max(clock, below_sent[key])  # wait for the PE below
                        psums[f] += below_psum[key]
                    clock += 1  # add (or, at the bottom, pass on) one psum
                    sent[key], sums[key] = clock, int(psums[f])
        below_sent, below_psum = sent, sums
        top_end = clock
    for (image, x, f), value in below_psum.items():
        out[image, group_out + filters.start + f, ofmap_row, x] += value
    return top_end

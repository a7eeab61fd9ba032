"""One spatial axis of a convolution: which input rows (or columns) ranges of outputs read.

An output position `o` reads input positions `o · stride − pad_before + tap · dilation` for
each kernel tap that lands inside the input. A range of outputs reads one interval when the
windows overlap or touch (`dilation` 1, `stride` at most the window's reach), disjoint windows
when the stride skips past them, and scattered positions when the kernel is dilated.
A subset of kernel taps (`Axis.part`) is a shifted, smaller kernel on the same axis; parts are
memoized so layers of one spatial shape share their per-axis results.
"""

from __future__ import annotations

from functools import cached_property, lru_cache, reduce

import numpy as np
from numpy.typing import NDArray

from accel.model.frozen import Frozen

IntArray = NDArray[np.int64]


class Axis(Frozen):
    """One spatial axis of a convolution: input size, output size and the window's reach.
    Hand-written, not a frozen dataclass (see `frozen.py`): it caches values per instance."""

    _compared = ("size", "outputs", "kernel", "stride", "dilation", "pad_before")

    size: int  # input rows (or columns)
    outputs: int  # output rows (or columns)
    kernel: int
    stride: int
    dilation: int
    pad_before: int

    def __init__(
        self, size: int, outputs: int, kernel: int, stride: int, dilation: int, pad_before: int
    ) -> None:
        init = object.__setattr__
        init(self, "size", size)
        init(self, "outputs", outputs)
        init(self, "kernel", kernel)
        init(self, "stride", stride)
        init(self, "dilation", dilation)
        init(self, "pad_before", pad_before)

    def part(self, first_tap: int, last_tap: int) -> Axis:
        """The axis as kernel taps `first_tap..last_tap` alone see it: a shifted, smaller kernel
        (one object per distinct part, so what it caches is shared)."""
        return _part(self, first_tap, last_tap)

    def touched(self, first: IntArray, last: IntArray) -> IntArray:
        """Input positions read by output positions `first..last` (inclusive), per pair."""
        reach = self.dilation * (self.kernel - 1) + 1
        if self.dilation != 1 or self.stride > reach:
            return self.common(((first, last),))
        # `common` of one range that reads one interval, without its reductions over ranges.
        return self._interval(first, last, first > last, reach)

    def _interval(
        self, first: IntArray, last: IntArray, empty: NDArray[np.bool_], reach: int
    ) -> IntArray:
        """Input positions read by every output of `first..last` where each output's window
        reads one interval (`reach` positions): from the last output's window start to the
        first's window end; none where `empty`."""
        stride, pad = self.stride, self.pad_before
        low = np.maximum((first * stride if stride != 1 else first) - pad, 0)
        high = np.minimum((last * stride if stride != 1 else last) + (reach - pad), self.size)
        result: IntArray = np.where(empty, 0, np.maximum(high - low, 0))
        return np.asarray(result, dtype=np.int64)

    @cached_property
    def each_output(self) -> tuple[int, int]:
        """(sum, largest) of the input positions each single output position reads."""
        per_output = self._per_output
        return int(per_output.sum()), int(per_output.max())

    @cached_property
    def fewest_per_output(self) -> int:
        """The fewest input positions a single output position reads."""
        return int(self._per_output.min())

    @cached_property
    def whole(self) -> int:
        """Input positions all outputs together read (where they read one interval, `touched`
        on plain integers: no numpy call)."""
        reach = self.dilation * (self.kernel - 1) + 1
        if self.dilation == 1 and self.stride <= reach:
            high = min((self.outputs - 1) * self.stride + (reach - self.pad_before), self.size)
            return max(high - max(-self.pad_before, 0), 0)
        return int(self.touched(np.array([0]), np.array([self.outputs - 1]))[0])

    @cached_property
    def _per_output(self) -> IntArray:
        outputs = np.arange(self.outputs)
        return self.touched(outputs, outputs)

    def common(self, ranges: tuple[tuple[IntArray, IntArray], ...]) -> IntArray:
        """Input positions read by every one of several output ranges (per element)."""
        reach = self.dilation * (self.kernel - 1) + 1
        empty = reduce(np.logical_or, (f > x for f, x in ranges))
        if self.dilation == 1 and self.stride <= reach:  # each range reads one interval
            first = reduce(np.maximum, (f for f, _ in ranges))
            last = reduce(np.minimum, (x for _, x in ranges))
            return self._interval(first, last, empty, reach)  # the intervals' intersection
        if self.dilation == 1:  # windows never overlap: only shared outputs share inputs
            # clipped to the outputs: `np.clip`'s numbers, without its Python
            first = np.minimum(np.maximum(reduce(np.maximum, (f for f, _ in ranges)), 0),
                               self.outputs)  # fmt: skip
            last = np.minimum(np.maximum(reduce(np.minimum, (x for _, x in ranges)), -1),
                              self.outputs - 1)  # fmt: skip
            prefix = self._disjoint_prefix
            start = np.minimum(first, last + 1)
            count = np.where(first <= last, prefix[last + 1] - prefix[start], 0)
        else:
            bounds = np.broadcast_arrays(*(a for pair in ranges for a in pair))
            count = np.array([self._shared(values) for values in zip(*bounds, strict=True)])
        result: IntArray = np.where(empty, 0, np.maximum(count, 0)).astype(np.int64)
        return result

    @cached_property
    def _disjoint_prefix(self) -> IntArray:
        starts = np.arange(self.outputs) * self.stride - self.pad_before
        low = np.maximum(starts, 0)
        high = np.minimum(starts + self.kernel - 1, self.size - 1)
        return np.concatenate(([0], np.cumsum(np.maximum(high - low + 1, 0))))

    def _shared(self, bounds: tuple[int, ...]) -> int:
        """Dilated windows: intersect the position sets of each (first, last) range."""
        sets = [
            {
                o * self.stride - self.pad_before + tap * self.dilation
                for o in range(int(first), int(last) + 1)
                for tap in range(self.kernel)
            }
            for first, last in zip(bounds[::2], bounds[1::2], strict=True)
        ]
        return sum(1 for p in set.intersection(*sets) if 0 <= p < self.size)


class Parts:
    """Several parts of one axis (`Axis.part`, one per tap box) side by side, none dilated: what
    `Axis.touched` and `Axis.common` work out, for every part at once (a row each), from their
    pads and reaches as columns. Windows that overlap or touch read one interval; the windows
    of a part the stride skips past (`disjoint`) add up through a prefix sum per part, as
    `Axis.common` sums them. The tap boxes of a layer's K-tiles then cost a few numpy calls
    together instead of a few each."""

    def __init__(self, parts: tuple[Axis, ...]) -> None:
        axis = parts[0]
        self.size, self.outputs, self.stride = axis.size, axis.outputs, axis.stride
        self.pad = np.array([[part.pad_before] for part in parts], dtype=np.int64)
        self.reach = np.array([[part.kernel] for part in parts], dtype=np.int64)  # dilation 1
        self.disjoint = self.reach < self.stride
        self.prefix: IntArray | None = None
        if self.disjoint.any():  # `Axis._disjoint_prefix` of every part
            starts = np.arange(self.outputs) * self.stride - self.pad
            low = np.maximum(starts, 0)
            high = np.minimum(starts + self.reach - 1, self.size - 1)
            self.prefix = np.zeros((len(parts), self.outputs + 1), dtype=np.int64)
            np.cumsum(np.maximum(high - low + 1, 0), axis=1, out=self.prefix[:, 1:])
        self.whole = self.touched(np.zeros(1, dtype=np.int64),
                                  np.array([axis.outputs - 1], dtype=np.int64))  # fmt: skip

    @staticmethod
    def of(parts: tuple[Axis, ...]) -> Parts | None:
        """The parts side by side, or None when some part is dilated (`Axis.touched` visits
        its positions one by one)."""
        return Parts(parts) if all(part.dilation == 1 for part in parts) else None

    def touched(self, first: IntArray, last: IntArray) -> IntArray:
        """`Axis.touched` of every part (a row each) for ranges `first..last` of outputs, none
        of them empty."""
        low = np.maximum(first * self.stride - self.pad, 0)
        high = np.minimum(last * self.stride + (self.reach - self.pad), self.size)
        result: IntArray = np.maximum(high - low, 0)
        if self.prefix is not None:
            apart = self.prefix[:, last + 1] - self.prefix[:, first]
            result = np.where(self.disjoint, apart, result)
        return result

    def common_above(self, row: IntArray) -> IntArray:
        """`Axis.common` of the ranges `0..row − 1` and `row..row` (none where `row` is 0, or
        the windows are disjoint): what the rows above an output row read that it reads too."""
        low = np.maximum(row * self.stride - self.pad, 0)
        high = np.minimum((row - 1) * self.stride - self.pad + self.reach - 1, self.size - 1)
        result: IntArray = np.where((row < 1) | self.disjoint, 0, np.maximum(high - low + 1, 0))
        return result


@lru_cache(maxsize=1 << 12)
def _part(axis: Axis, first_tap: int, last_tap: int) -> Axis:
    pad = axis.pad_before - first_tap * axis.dilation
    kernel = last_tap - first_tap + 1
    return Axis(axis.size, axis.outputs, kernel, axis.stride, axis.dilation, pad)


def ranges(tiles: list[int], extent: int) -> tuple[IntArray, IntArray, IntArray]:
    """Positions `0..extent − 1` cut into ranges of each of several tile lengths, one cut after
    another: (first and last position of every range, where each tile length's ranges begin)."""
    firsts = [np.arange(0, extent, tile) for tile in tiles]
    lasts = [np.minimum(first + tile, extent) - 1
             for first, tile in zip(firsts, tiles, strict=True)]  # fmt: skip
    at = np.cumsum([0] + [len(first) for first in firsts[:-1]])
    return np.concatenate(firsts), np.concatenate(lasts), at


def clear_axis_cache() -> None:
    """Forget the memoized axis parts (and with them what they cached)."""
    _part.cache_clear()

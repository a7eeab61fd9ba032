"""The tile schedule of one layer: what the DMA engine and the compute unit do, step by step.

A step computes one tile (a block of folds on the array, or a chunk on the vector unit). Around it
the DMA engine works through one in-order descriptor ring shared by loads and write-backs: before
the run it loads the first tile of each operand (the prologue), and after step `j`'s compute is
issued it queues the loads that step `j + 1` or later needs (`loads`), then the write-back of the
ofmap tile step `j` finished (`writeback_bytes`), then any partial-sum read that had to wait for
that write-back (`post_loads`, single-buffered ofmap only). A double-buffered operand whose tile
lasts several steps loads its next tile early, during the second step of the current one; a tile
used for one step, or a single-buffered one, loads as soon as the step before it is issued.

Consecutive identical steps are stored once with a repeat count (`Repeat`), nested like the loop
nest, so a layer of 10^5 tiles is a tree of a few dozen nodes; `replay.py` plays it in closed form.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from accel.config import Operand

Buffer = Operand
LoadKind = Literal["ifmap", "weight", "psum"]  # psum: partial sums read back into the ofmap buffer
InputOperand = Literal["ifmap", "weight"]  # what the array reads: a buffer and a load kind
INPUT_OPERANDS: tuple[InputOperand, ...] = ("ifmap", "weight")


def buffer_of(kind: LoadKind) -> Buffer:
    """The buffer a load fills."""
    return "ofmap" if kind == "psum" else kind


# `Load` and `Step` are named tuples, not frozen dataclasses: a schedule builds a few thousand
# of them, and a frozen dataclass sets each field through `object.__setattr__` (a step took
# 3.9 µs to build, a named tuple 0.4 µs). Equality, hash and repr are field by field as before.


class Load(NamedTuple):
    """One DMA read: `bytes` of `kind` into its buffer's next free half."""

    kind: LoadKind
    bytes: int
    on_chip: bool = False  # a resident tensor's tile: already in SRAM, no channel time

    @property
    def buffer(self) -> Buffer:
        return buffer_of(self.kind)


class Step(NamedTuple):
    """One tile: compute, then the ring entries queued behind it (`replay.Timeline.play`
    unpacks the fields in this order)."""

    compute_cycles: int
    takes: tuple[LoadKind, ...]  # tiles compute starts using here (waits until they arrived)
    claims_ofmap: bool  # a fresh ofmap tile starts here: take a free ofmap half
    releases: tuple[Buffer, ...]  # input tiles no longer needed after this step
    loads: tuple[Load, ...] = ()
    writeback_bytes: int = 0
    post_loads: tuple[Load, ...] = ()
    prefetch_point: bool = False  # the next layer's first weight tile may follow `loads`
    ofmap_on_chip: bool = False  # the finished ofmap tile stays in SRAM (a resident activation)


@dataclass(frozen=True)
class Repeat:
    """`body` played `count` times in a row."""

    count: int
    body: tuple[Node, ...]


Node = Step | Repeat


@dataclass(frozen=True)
class Schedule:
    """A layer's whole tile sequence: prologue loads, then the (compressed) steps."""

    prologue: tuple[Load, ...]
    body: tuple[Node, ...]
    prefetch_at_start: bool = False  # no weight tile to wait for: prefetch right after prologue
    first_weight_bytes: int = 0  # what the previous layer may prefetch for this one

    def steps(self) -> Iterator[Step]:
        """Every step in order, repeats expanded (for the simpy replay and tests)."""
        yield from _expand(self.body)

    @property
    def step_count(self) -> int:
        return _count(self.body)

    @property
    def node_count(self) -> int:
        return _nodes(self.body)


def _expand(nodes: Sequence[Node]) -> Iterator[Step]:
    for node in nodes:
        if isinstance(node, Step):
            yield node
        else:
            for _ in range(node.count):
                yield from _expand(node.body)


def _count(nodes: Sequence[Node]) -> int:
    count = 0  # a loop, not `sum` of a generator: a generator resumes once per node
    for node in nodes:
        count += 1 if isinstance(node, Step) else node.count * _count(node.body)
    return count


def _nodes(nodes: Sequence[Node]) -> int:
    return sum(1 if isinstance(n, Step) else 1 + _nodes(n.body) for n in nodes)


_MAX_PERIOD = 32


def compress(keys: Sequence[Hashable]) -> list[tuple[int, tuple[Hashable, ...]]]:
    """Cut a sequence into runs `(count, period)` of a repeated period, greedily, longest first."""
    ids: dict[Hashable, int] = {}
    codes = [ids.setdefault(key, len(ids)) for key in keys]
    return [(count, tuple(keys[start : start + period])) for count, start, period in runs(codes)]


_SHORT = 24  # sequences up to this long are cut in plain Python (numpy's overhead is larger)


def runs(codes: Sequence[int]) -> list[tuple[int, int, int]]:
    """`compress` of a sequence given as integer codes (equal codes: equal elements), each run
    as (count, start, period)."""
    uniform = _uniform_runs(codes)
    if uniform is not None:
        return uniform
    if len(codes) <= _SHORT:
        return _cut(list(codes), lambda start: _streak_column(codes, start))
    return _long_runs(codes)


def _uniform_runs(codes: Sequence[int]) -> list[tuple[int, int, int]] | None:
    """The greedy cut of a sequence (of four codes or more) that is one code between a unique
    first and two unique last ones (a loop's indices whose tiles are all alike:
    `tile_classes.level_runs`), read off without the streaks: the first, the middle repeated,
    the last two. None for any other sequence."""
    if len(codes) < 4:
        return None
    size, middle = len(codes), codes[1]
    first, second_last, last = codes[0], codes[size - 2], codes[size - 1]
    ends = first not in (middle, second_last, last) and middle not in (second_last, last)
    if not ends or second_last == last or codes.count(middle) != size - 3:
        return None
    return [(1, 0, 1), (size - 3, 1, 1), (1, size - 2, 1), (1, size - 1, 1)]


def _long_runs(codes: Sequence[int]) -> list[tuple[int, int, int]]:
    """`runs` of a long sequence, its streaks worked out in numpy."""
    array = np.asarray(codes, dtype=np.int64)
    return _cut(list(codes), _streak_columns(array, min(_MAX_PERIOD, len(codes) // 2)))


def _cut(codes: list[int], column: Callable[[int], list[int]]) -> list[tuple[int, int, int]]:
    """The greedy cut, given each start's streaks for periods 1, 2, … (`_streak_columns`)."""
    size = len(codes)
    periods = min(_MAX_PERIOD, size // 2)
    found: list[tuple[int, int, int]] = []
    start = 0
    while start < size:
        best_period, best_count = 1, 1
        for period, streak in enumerate(column(start) if periods else [], start=1):
            if start + 2 * period > size:
                break
            count = 1 + streak // period
            if count > 1 and count * period > best_count * best_period:
                best_period, best_count = period, count
        found.append((best_count, start, best_period))
        start += best_count * best_period
    return found


def _streak_column(codes: Sequence[int], start: int) -> list[int]:
    """Column `start` of `_streak_columns`, element by element, for the periods that fit twice."""
    size = len(codes)
    column = []
    for period in range(1, min(_MAX_PERIOD, (size - start) // 2) + 1):
        end = start
        while end < size and codes[end] == (codes[end + period] if end + period < size else -1):
            end += 1
        column.append(end - start)
    return column


def _streak_columns(codes: np.ndarray, periods: int) -> Callable[[int], list[int]]:
    """Column `start` of the streaks, by start: row p − 1, how many j >= start in a row have
    codes[j] == codes[j + p], for every period p up to `periods` (positions past the end
    compare unequal).

    The comparisons are made once, as a periods × (size + 1) table of mismatches read through
    a strided view (no gathered copy) whose last column always mismatches; a column is then
    one search per period for the first mismatch at or after `start`. The greedy cut visits
    a few starts of a long sequence (one per run), so no column it skips is worked out.
    """
    size = len(codes)
    padded = np.concatenate((codes, np.full(periods + 1, -1, dtype=np.int64)))
    # Row p − 1 reads padded[p : p + size + 1]: codes shifted by p, then the padding.
    shifted = np.ndarray((periods, size + 1), np.int64, padded, padded.itemsize,
                         (padded.itemsize, padded.itemsize))  # fmt: skip
    extended = np.concatenate((codes, np.zeros(1, dtype=np.int64)))  # 0 != the padding's −1
    mismatches = np.flatnonzero(shifted != extended)  # row by row, in order
    row_starts = np.arange(0, periods * (size + 1), size + 1)

    def column(start: int) -> list[int]:
        at = row_starts + start
        streak: list[int] = (mismatches[mismatches.searchsorted(at)] - at).tolist()
        return streak

    return column


def share(total: int, parts: int, index: int) -> int:
    """The `index`-th of `parts` near-equal integer shares of `total`."""
    return total // parts + (1 if index < total % parts else 0)


def stream_schedule(
    sizes: dict[Buffer, int], compute_cycles: int, drain_cycles: int, chunks: int
) -> Schedule:
    """A vector-unit layer streamed in `chunks` equal slices (ifmap in, weights, ofmap out).

    The vector unit works through its input row by row with line buffers, so a slice needs no
    halo from its neighbour and every byte crosses the channel once. `drain_cycles` (the unit's
    pipeline latency) is paid after the last slice.
    """
    inputs = tuple([kind for kind in INPUT_OPERANDS if sizes.get(kind, 0)])
    busy = compute_cycles - drain_cycles

    def part(kind: Buffer, index: int) -> int:
        return share(sizes.get(kind, 0), chunks, index)

    def leaf(index: int) -> Step:
        last = index == chunks - 1
        loads = () if last else tuple([Load(kind, part(kind, index + 1)) for kind in inputs])
        # In `Step`'s field order: compute cycles, takes, claims ofmap, releases, loads,
        # write-back, post loads, prefetch point, ofmap on chip. Built by `tuple.__new__` (the
        # named tuple's `__new__` is a Python function, slower still given keywords).
        fields = (
            share(busy, chunks, index) + (drain_cycles if last else 0), inputs, True, inputs,
            loads, part("ofmap", index), (), last and "weight" in inputs, False,
        )  # fmt: skip
        step: Step = tuple.__new__(Step, fields)
        return step

    # Shares change size only where a remainder runs out: between those cuts all slices are
    # alike, and only the last slice of a run looks ahead to a different next slice.
    cuts = sorted({0, chunks, chunks - 1} | {t % chunks for t in (*sizes.values(), busy)})
    body: list[Node] = []
    for begin, end in itertools.pairwise(cuts):
        if end - begin > 1:
            body.append(Repeat(end - begin - 1, (leaf(begin),)) if end - begin > 2 else leaf(begin))
        body.append(leaf(end - 1))
    prologue = tuple(Load(kind, part(kind, 0)) for kind in inputs)
    return Schedule(prologue, tuple(body), "weight" not in inputs, part("weight", 0))


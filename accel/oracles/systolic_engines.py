"""The register-level engines behind `accel.oracles.systolic`: one for os, one for ws / is.

An engine holds the PE registers as `rows × cols` numpy arrays and advances them one clock cycle
at a time. A *segment* is a set of folds whose edge streams are laid out in advance (each fold's
stream start and, for ws / is, its shadow-chain load start are given); the engine then steps
until the streams are consumed and no operand that still has work to do is left in the array.
Every register update reads the values of the previous cycle, as clocked registers do. What
leaves the array (bus words, bottom-row partial sums) is logged per cycle and decoded into
output-buffer updates at the end of the segment.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Fold:
    """One fold: a `rows_used × cols_used` block of the (rows-dim × cols-dim) GEMM plane."""

    group: int
    row_start: int
    rows_used: int
    col_start: int
    cols_used: int


class HazardError(RuntimeError):
    """A schedule asked one register, edge port or bus to hold two values in the same cycle."""


class Engine:
    """State shared by both engines: operands, folds, clock, output log, counters."""

    def __init__(
        self, stream: I32, stationary: I32, rows: int, cols: int, folds: list[Fold], trace: bool
    ) -> None:
        self.stream, self.stationary = stream, stationary
        self.rows, self.cols, self.trace = rows, cols, trace
        # per fold: group, row_start, rows_used, col_start, cols_used
        self.fold_table = np.array([astuple(f) for f in folds], dtype=np.int64).reshape(-1, 5)
        self.clock = 0  # the next cycle to simulate
        self.last_output_cycle = -1
        self.cycles_simulated = 0
        self.stream_reads = self.stationary_reads = 0
        self.active_trace: list[int] = []
        self._events: list[I64] = []  # rows of (group, out_row, out_col, value)

    def run_segment(self, fold_ids: list[int], starts: list[tuple[int, int]]) -> int:
        """Run the folds from their (load start, stream start) cycles; return the index of the
        last cycle in which an output left the array."""
        raise NotImplementedError

    def _window(self, starts: list[tuple[int, int]], feed_ends: list[int]) -> int:
        """Cycles from the clock to the last cycle in which a word enters at an edge, plus one."""
        if min(min(pair) for pair in starts) < self.clock:
            raise HazardError(f"a fold must start at or after cycle {self.clock}")
        return max(feed_ends) + 1 - self.clock

    def _finish(self, cycles: int, log_tag: I32, log_index: I32, log_value: I32) -> int:
        """Advance the clock and turn the per-cycle (cycle, column) exit log into events.

        `log_tag` is non-zero where a word left the array (os: fold id + 1; ws / is: the
        partial sum's token), `log_index` the row of the PE it came from (os only).
        """
        cycle_index, column = np.nonzero(log_tag[:cycles])
        if len(cycle_index):
            self.last_output_cycle = self.clock + int(cycle_index.max())
            where = (cycle_index, column)
            self._events.append(
                self._decode(log_tag[where], log_index[where], column, log_value[where])
            )
        self.clock += cycles
        self.cycles_simulated += cycles
        return self.last_output_cycle

    def _decode(self, tag: I32, index: I32, column: I64, value: I32) -> I64:
        raise NotImplementedError

    def collect_outputs(self) -> tuple[I32, int, int]:
        """The output buffer after all folds, and its write and read-back counts.

        A partial sum arriving for an output that an earlier row fold already wrote is read,
        added and written back; the int64 sum wrapped to 32 bits equals the int32 adder's result.
        """
        out = np.zeros((self.stream.shape[0], *self._output_shape()), dtype=np.int64)
        events = np.concatenate(self._events) if self._events else np.zeros((0, 4), np.int64)
        where = np.ravel_multi_index((events[:, 0], events[:, 1], events[:, 2]), out.shape)
        np.add.at(out.reshape(-1), where, events[:, 3])
        written = np.zeros(out.size, dtype=bool)
        written[where] = True
        unique = int(np.count_nonzero(written))
        wrapped = ((out + 2**31) % 2**32 - 2**31).astype(np.int32)
        return wrapped, len(events), len(events) - unique

    def _output_shape(self) -> tuple[int, int]:
        raise NotImplementedError


class OutputStationary(Engine):
    """os: ifmap rows stream in from the left, weight columns from the top; sums stay put."""

    def _output_shape(self) -> tuple[int, int]:
        return self.stream.shape[1], self.stationary.shape[2]

    def run_segment(self, fold_ids: list[int], starts: list[tuple[int, int]]) -> int:
        steps = self.stream.shape[2]
        skew = max(self.rows, self.cols) - 1
        length = self._window(starts, [stream + steps - 1 + skew for _, stream in starts])
        left = np.zeros((length, self.rows), np.int32)
        left_fold = np.zeros((length, self.rows), np.int64)  # fold id + 1 rides with the ifmap
        left_last = np.zeros((length, self.rows), bool)
        top = np.zeros((length, self.cols), np.int32)
        top_fold = np.zeros((length, self.cols), np.int64)
        for fold_id, (_, start) in zip(fold_ids, starts, strict=True):
            begin = start - self.clock
            group, row0, rows_used, col0, cols_used = self.fold_table[fold_id]
            a = np.zeros((self.rows, steps), np.int32)  # padded rows stream zeros
            a[:rows_used] = self.stream[group, row0 : row0 + rows_used]
            w = np.zeros((self.cols, steps), np.int32)
            w[:cols_used] = self.stationary[group, :, col0 : col0 + cols_used].T
            _skewed_into(left, left_fold, begin, a, fold_id + 1, "left")
            _skewed_into(top, top_fold, begin, w, fold_id + 1, "top")
            left_last[begin + np.arange(self.rows) + steps - 1, np.arange(self.rows)] = True
            self.stream_reads += int(rows_used) * steps
            self.stationary_reads += int(cols_used) * steps
        return self._step(length, left, left_fold, left_last, top)

    def _step(self, length: int, left: I32, left_fold: I64, left_last: Bools, top: I32) -> int:
        shape, cols = (self.rows, self.cols), np.arange(self.cols)
        a = np.zeros((3, *shape), np.int32)  # ifmap word, its fold id + 1, its last flag
        w, acc = np.zeros(shape, np.int32), np.zeros(shape, np.int32)
        edge = np.stack([left, left_fold.astype(np.int32), left_last.astype(np.int32)], axis=1)
        log = np.zeros((length + self.rows + self.cols + 1, 3, self.cols), np.int32)
        cycle = 0
        while cycle < length or a[1, :, :-1].any():
            feeding = cycle < length
            a[:, :, 1:] = a[:, :, :-1]
            w[1:] = w[:-1]
            a[:, :, 0], w[0] = (edge[cycle], top[cycle]) if feeding else (0, 0)
            acc += a[0] * w  # int32: wraps like the hardware adder
            if self.trace:
                self.active_trace.append(self._real_macs(a[1]))
            if a[2].any():  # finishing PEs put their sums on the column buses
                last = a[2].astype(bool)
                if last.sum(axis=0).max() > 1:
                    raise HazardError(
                        f"two sums meet on an output bus in cycle {self.clock + cycle}"
                    )
                rows = last.argmax(axis=0)
                log[cycle, 0] = np.where(last[rows, cols], a[1, rows, cols], 0)
                log[cycle, 1], log[cycle, 2] = rows, acc[rows, cols]
                acc[last] = 0
            cycle += 1
        return self._finish(cycle, log[:, 0], log[:, 1], log[:, 2])

    def _real_macs(self, a_fold: I32) -> int:
        """PEs whose current operands belong to the used rows and columns of their fold."""
        fold = a_fold - 1
        table = self.fold_table[np.maximum(fold, 0)]
        rows, cols = np.indices(a_fold.shape)
        real = (fold >= 0) & (rows < table[..., 2]) & (cols < table[..., 4])
        return int(np.count_nonzero(real))

    def _decode(self, tag: I32, index: I32, column: I64, value: I32) -> I64:
        group, row0, rows_used, col0, cols_used = self.fold_table[tag - 1].T
        keep = (index < rows_used) & (column < cols_used)  # padded lanes are dropped
        events: I64 = np.stack([group, row0 + index, col0 + column, value.astype(np.int64)], 1)
        kept: I64 = events[keep]
        return kept


class Stationary(Engine):
    """ws / is: a stationary operand in double-buffered PE registers, a streamed one moving
    right and partial sums moving down."""

    def _output_shape(self) -> tuple[int, int]:
        return self.stream.shape[1], self.stationary.shape[2]

    def run_segment(self, fold_ids: list[int], starts: list[tuple[int, int]]) -> int:
        steps = self.stream.shape[1]
        rows, cols = self.rows, self.cols
        feed_ends = [
            max(start + rows + steps - 2, load + cols + rows - 2) for load, start in starts
        ]
        length = self._window(starts, feed_ends)
        left = np.zeros((length, self.rows), np.int32)
        left_token = np.zeros((length, self.rows), np.int64)  # fold · T + position + 1
        top = np.zeros((length, self.cols), np.int32)
        top_token = np.zeros((length, self.cols), np.int64)  # fold + 1
        load_offset = np.full((length, self.cols), -1, np.int64)
        for fold_id, (load, start) in zip(fold_ids, starts, strict=True):
            group, row0, rows_used, col0, cols_used = self.fold_table[fold_id]
            x = np.zeros((self.rows, steps), np.int32)  # padded rows stream zeros
            x[:rows_used] = self.stream[group, :, row0 : row0 + rows_used].T
            s = np.zeros((self.rows, self.cols), np.int32)  # padded PEs hold zeros
            s[:rows_used, :cols_used] = self.stationary[
                group, row0 : row0 + rows_used, col0 : col0 + cols_used
            ]
            tokens = fold_id * steps + np.arange(steps) + 1
            _skewed_into(left, left_token, start - self.clock, x, tokens, "left")
            # the bottom row's value enters first: it has the farthest to go
            _skewed_into(top, top_token, load - self.clock, s[::-1].T, fold_id + 1, "top")
            column_start = load - self.clock + np.arange(self.cols)
            load_offset[
                column_start[:, None] + np.arange(self.rows), np.arange(self.cols)[:, None]
            ] = np.arange(self.rows)
            self.stream_reads += int(rows_used) * steps
            self.stationary_reads += int(rows_used * cols_used)
        return self._step(length, left, left_token, top, load_offset, steps)

    def _step(
        self, length: int, left: I32, left_token: I64, top: I32, load_offset: I64, steps: int
    ) -> int:
        shape = (self.rows, self.cols)
        x = np.zeros((2, *shape), np.int32)  # streamed word and its token hop right together
        p = np.zeros((2, *shape), np.int32)  # partial sum and its token hop down together
        shadow, active = np.zeros(shape, np.int32), np.zeros(shape, np.int32)
        swap = np.zeros(shape, bool)
        edge = np.stack([left, left_token.astype(np.int32)], axis=1)
        # the first streamed word of a fold carries the swap flag
        edge_swap: Bools = (left_token > 0) & ((left_token - 1) % steps == 0)
        loading: Bools = np.any(load_offset >= 0, axis=1)
        row_index = np.arange(self.rows)[:, None]
        log = np.zeros((length + self.rows + self.cols + 1, 2, self.cols), np.int32)
        cycle = 0
        while cycle < length or x[1, :, :-1].any() or p[1, :-1].any():
            feeding = cycle < length
            x[:, :, 1:], swap[:, 1:] = x[:, :, :-1], swap[:, :-1]
            x[:, :, 0], swap[:, 0] = (edge[cycle], edge_swap[cycle]) if feeding else (0, False)
            np.copyto(active, shadow, where=swap)  # latch the new stationary word, then use it
            p[:, 1:] = p[:, :-1]
            p[0, 0], p[1, 0] = 0, x[1, 0]
            p[0] += x[0] * active  # int32: wraps like the hardware adder
            log[cycle] = p[:, -1]
            if self.trace:
                self.active_trace.append(self._real_macs(x[1], active, steps))
            if feeding and loading[cycle]:
                # shadow chain: rows at or above the column's load offset shift down one row
                enable = row_index <= load_offset[cycle]
                np.copyto(shadow, np.vstack([top[cycle], shadow[:-1]]), where=enable)
            cycle += 1
        self._steps = steps
        return self._finish(cycle, log[:, 1], log[:, 1], log[:, 0])

    def _real_macs(self, x_token: I32, active: I32, steps: int) -> int:
        fold = (x_token - 1) // steps
        table = self.fold_table[np.maximum(fold, 0)]
        rows, cols = np.indices(x_token.shape)
        real = (x_token > 0) & (rows < table[..., 2]) & (cols < table[..., 4])
        return int(np.count_nonzero(real))

    def _decode(self, tag: I32, index: I32, column: I64, value: I32) -> I64:
        fold = (tag - 1) // self._steps  # a partial sum's token names its fold and position
        position = (tag - 1) % self._steps
        group, _, _, col0, cols_used = self.fold_table[fold].T
        keep = column < cols_used  # padded lanes are dropped
        events: I64 = np.stack([group, position, col0 + column, value.astype(np.int64)], 1)
        kept: I64 = events[keep]
        return kept


def _skewed_into(edge: I32, busy: I64, begin: int, lanes: I32, tag: I64 | int, side: str) -> None:
    """Lay a fold's operands onto an edge: lane i's word t enters at cycle begin + i + t."""
    count, steps = lanes.shape
    lane = np.arange(count)[:, None]
    cycle = begin + lane + np.arange(steps)[None, :]
    if busy[cycle, lane].any():
        raise HazardError(f"two folds' operands meet at the {side} edge")
    edge[cycle, lane] = lanes
    busy[cycle, lane] = tag

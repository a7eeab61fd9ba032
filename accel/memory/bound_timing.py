"""A candidate table's cycle bounds split at the DRAM timing: what a bandwidth or latency changes.

`bounds.lower_bounds` is the largest of a few terms per candidate, each made of channel cycles
(`channel_cycles.transfer_bound`, `channel_bound`), the DRAM latency and cycles no DRAM timing
changes (compute, a step's cycles, counts of steps and write-backs). A sweep point that differs
only in DRAM timing searches the same table again (`search_facts.py`), so the timing-free half
of every term is worked out once per table and burst size (`untimed`, from the table's rows of
bound inputs): the transfer sizes in whole bursts, the bytes on the bus and the transfer counts
as floats, each term's constant cycles, and its conditions as −∞ where the term does not
apply. `Untimed.at` finishes them at a bandwidth and latency in a few whole-table numpy
operations (the parts that read only the latency kept per latency: a sweep's bandwidths share
them).

The values are exactly those of the term-by-term form (`tests/test_bounds.py` holds the two
equal): every operand is an integer below 2⁵³, where float64 adds, multiplies and floors
exactly; the channel's own divisions are the same float64 operations in the same order; and a
term that does not apply (−∞ instead of 0) never decides a maximum that the always-applying,
non-negative channel term takes part in. So each bound is the proven one of `bounds.py`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from accel.memory.bound_stack import in_bursts
from accel.memory.geometry import IntArray

FloatArray = np.ndarray  # float64 rows of whole numbers (or −∞), one column per candidate


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class Untimed(NamedTuple):
    """The timing-free parts of a table's bounds (rows over its candidates, float64).

    Transfer rows (`on_bus`): the prologue's ifmap and weight tiles, the last write-back, the
    three `window_bytes`, each chain's `largest`, then a row of zeros (`chain_rows` pads with
    it); bus rows (`bus`, `half_transfers`): all
    traffic, the drain, the head, then each chain's bytes."""

    burst: int
    on_bus: FloatArray  # each transfer size rounded up to whole bursts
    bus: FloatArray  # bytes on the channel, at least
    half_transfers: FloatArray  # half the transfers that carry them, at most
    compute: FloatArray  # compute cycles plus refills
    windows: FloatArray  # write-backs whose ring slot delays a load two steps on
    window_slack: FloatArray  # minus the compute of one step, at most
    last_compute: FloatArray  # the last step's compute cycles, at least
    opened: FloatArray  # the first step's compute where the head bytes are not left (else −∞)
    opened_head: FloatArray  # the same where they are (else −∞)
    chain_rows: IntArray  # per chain (a column): its `largest` rows, each once per half
    halves: FloatArray  # per chain (a column): its buffer halves
    chain_waits: FloatArray  # per chain: steps past the first halves, each waiting a latency
    chain_compute: FloatArray  # per chain: its compute (−∞ where it does not chain)
    latencies: dict[int, tuple[FloatArray, ...]]  # `_with_latency`, per latency (filled in)

    def at(self, bandwidth: float, latency: int) -> IntArray:
        """Every candidate's bound at `bandwidth` bytes/cycle and `latency` cycles: each term a
        row of one matrix, written in place over the channel's rows (`_channel`), then the
        largest of the rows."""
        transfer = self.on_bus / bandwidth
        transfer += 0.5
        np.floor(transfer, out=transfer)  # `transfer_bound` of every transfer size
        buses = len(self.bus)
        terms = np.empty((buses + 1, self.bus.shape[1]))
        self._channel(bandwidth, terms[:buses])  # the channel, row 0
        head, closing, chained, slack = self._with_latency(latency)
        first = transfer[0] + transfer[1]
        last = transfer[2]
        # From the first step on: the first tiles, the closing and the larger of `opened` (the
        # head bytes not left) and the head's channel cycles, `opened_head` and a latency
        # (left); one sum and one maximum fewer than the two terms apart, the same whole numbers.
        opened = terms[2]
        opened += head
        np.maximum(opened, self.opened, out=opened)
        opened += first
        closing = closing + last  # after the last load ends
        terms[1:3] += closing  # the drain, row 1
        if len(self.halves):  # rows 3 on: each chain's (`_chains`)
            loads = terms[3:buses]
            loads -= np.add.reduce(transfer[self.chain_rows], axis=0)  # `.sum`, in C alone
            np.maximum(loads, 0.0, out=loads)
            loads += chained
            loads /= self.halves
            np.floor(loads, out=loads)
        extra = transfer[3] + transfer[4]
        extra += transfer[5]
        extra += slack
        np.maximum(extra, 0.0, out=extra)
        extra *= self.windows
        pipeline = terms[buses]
        np.add(self.compute, last, out=pipeline)
        pipeline += first
        np.add(pipeline, latency, out=pipeline, where=first > 0)  # the fill, where there is one
        pipeline += extra  # through the pipeline
        result: IntArray = np.maximum.reduce(terms, axis=0).astype(np.int64)
        return result

    def _with_latency(self, latency: int) -> tuple[FloatArray, ...]:
        """The terms' parts that read the latency and no bandwidth, kept per latency (a
        sweep's bandwidths share one): `opened_head`, the last step's compute and each chain's
        compute and waits, and the write-back window's slack, each with its latencies."""
        found = self.latencies.get(latency)
        if found is None:
            if len(self.latencies) >= 8:
                self.latencies.clear()
            chained = self.chain_waits * latency
            chained += self.chain_compute
            found = self.latencies[latency] = (
                self.opened_head + latency, self.last_compute + latency, chained,
                self.window_slack + latency,
            )  # fmt: skip
        return found

    def _channel(self, bandwidth: float, out: FloatArray) -> None:
        """`channel_cycles.channel_bound` of every bus row (the same operations), into `out`."""
        per_burst = self.burst / bandwidth
        slack = 0.0 if per_burst == math.floor(per_burst) else 0.5 / per_burst
        cycles = np.divide(self.bus, bandwidth, out=out)
        if slack:
            share = cycles - self.half_transfers
            cycles *= max(0.0, 1.0 - slack)
            np.maximum(cycles, share, out=cycles)
        cycles -= 1e-9
        np.ceil(cycles, out=cycles)


def untimed(
    rows: IntArray, shapes: tuple[tuple[int, int], ...], layout: dict[str, int], burst: int
) -> Untimed:
    """The `Untimed` parts of a table's bounds at `burst`, from its bound inputs `rows` (one
    row each, per candidate: `bounds.Grid.rows`, found by name in `layout`) and chains of
    `shapes` (halves, how many `largest`). The transfer sizes come first (up to the first bus
    row), each chain's `steps` and then its `compute` last."""
    count, at = len(shapes), layout["bus"]
    buses = layout["transfers"] - at  # the bus rows: all traffic, drain, head, each chain's
    first, head = rows[layout["first_compute"]], rows[layout["head_bus"]]
    steps = rows[len(rows) - 2 * count : len(rows) - count]
    halves = _halves(shapes)
    on_bus = np.zeros((at + 1, rows.shape[1]))  # and a row of zeros
    on_bus[:at] = in_bursts(rows[:at], burst)
    # one conversion of the rows past the transfer sizes, read as views (row `r` at `r - at`)
    floats = rows[at:].astype(np.float64)
    opened, head_left = np.where(first > 0, first, -np.inf), head > 0
    return Untimed(
        burst, on_bus,
        floats[:buses], floats[buses : 2 * buses] / 2,
        floats[layout["compute"] - at], floats[layout["windows"] - at],
        -floats[layout["window_compute"] - at], floats[layout["last_compute"] - at],
        np.where(head_left, -np.inf, opened), np.where(head_left, opened, -np.inf),
        _chain_rows(shapes, layout["largest"], at), halves, steps - halves,
        np.where(steps > 0, rows[len(rows) - count :], -np.inf), {},
    )  # fmt: skip


@lru_cache(maxsize=64)
def _halves(shapes: tuple[tuple[int, int], ...]) -> FloatArray:
    """Per chain (a row), its buffer halves, as floats (read-only: memoized)."""
    result: FloatArray = np.array([[each] for each, _ in shapes], dtype=np.float64)
    result = result.reshape(len(shapes), 1)
    result.flags.writeable = False
    return result


@lru_cache(maxsize=64)
def _chain_rows(shapes: tuple[tuple[int, int], ...], largest: int, zeros: int) -> IntArray:
    """Per chain (a column), the rows of its `largest` transfers in `Untimed.on_bus` (the
    first chain's first at `largest`), each as many times as the chain has halves (their sum
    is what the halves' first transfers may overlap), padded with the row of zeros at `zeros`
    (read-only: memoized, tables of one chain layout share it)."""
    columns, at = [], largest
    for halves, many in shapes:
        columns.append([row for row in range(at, at + many) for _ in range(halves)])
        at += many
    longest = max((len(column) for column in columns), default=0)
    padded = [column + [zeros] * (longest - len(column)) for column in columns]
    result: IntArray = np.array(padded, dtype=np.int64).reshape(len(shapes), longest).T
    result.flags.writeable = False
    return result

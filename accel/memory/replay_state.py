"""The state of the DMA / compute / write-back pipeline between events, as `replay.py` keeps it.

The channel's next free time, the compute unit's, the last write-back's end, and six short
queues: per load kind the arrival times of loaded tiles compute has not taken yet, per buffer
the times its halves free up. A `snapshot` takes the state relative to the earliest time a
future event can start (`channel` or `compute`, whichever is earlier): a time before it can
delay nothing any more, so it is clamped there. Two snapshots that are equal describe runs
that repeat each other shifted by the difference of their floors, which is what makes the
replay's skipping of repeated runs (`replay.py`) and the network's reuse of layer runs
(`network_replay.py`) exact.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Self

from accel.config import ChipConfig
from accel.memory.replay_channel import Transfers, layout
from accel.memory.tile_schedule import Load

LogEntry = tuple[int, int, str, str]  # (start, end, actor, what)

_Queues = dict[str, deque[int]]
_Parts = tuple[_Queues, _Queues, Transfers, dict[str, tuple[deque[int], deque[int]]],
               tuple[deque[int], ...], int, deque[int]]  # fmt: skip


@dataclass(slots=True)
class TimelineState:
    """Event times of the pipeline so far, and the single events that move them (`load`)."""

    chip: ChipConfig
    compress: bool = True
    log: list[LogEntry] | None = None
    channel_free: int = 0
    compute_end: int = 0
    last_write_end: int = 0
    ready: dict[str, deque[int]] = field(default_factory=dict)
    free_halves: dict[str, deque[int]] = field(default_factory=dict)
    prefetch_bytes: int = 0  # the next layer's first weight tile, still to fetch
    prefetched: bool = False  # this layer's first weight tile is already on chip
    events_left: int = -1  # events the log still takes before it closes (-1: no limit)
    _transfer: Transfers = field(default=None, repr=False)  # type: ignore[assignment]
    # Every ready and free-half queue, in a fixed order (the state's shape).
    _queues: tuple[deque[int], ...] = field(default=(), repr=False)
    # What the replay reads of the timeline and never replaces, in one attribute: `ready`,
    # `free_halves`, the transfer cycles, per load kind the free halves of the buffer it fills
    # and its ready queue, `_queues`, the channel's latency and the ofmap's free halves.
    _parts: _Parts = field(default=None, repr=False)  # type: ignore[assignment]

    def transfer(self, size_bytes: int) -> int:
        """`transfer_cycles` on this chip's channel, memoized per size."""
        return self._transfer[size_bytes]

    @classmethod
    def empty(
        cls, chip: ChipConfig, compress: bool = True, log: list[LogEntry] | None = None
    ) -> Self:
        """Idle channel, empty buffers: every half free at time 0."""
        _, (ifmap, weight, ofmap), transfer, _ = layout(chip)
        ifmap, weight, ofmap = ifmap.copy(), weight.copy(), ofmap.copy()
        ifmaps: deque[int] = deque()
        weights: deque[int] = deque()
        psums: deque[int] = deque()
        ready = {"ifmap": ifmaps, "weight": weights, "psum": psums}
        halves = {"ifmap": ifmap, "weight": weight, "ofmap": ofmap}
        fills = {"ifmap": (ifmap, ifmaps), "weight": (weight, weights), "psum": (ofmap, psums)}
        queues = (ifmaps, weights, psums, ifmap, weight, ofmap)
        parts = (ready, halves, transfer, fills, queues, chip.dram.latency_cycles, ofmap)
        return cls(chip, compress, log, ready=ready, free_halves=halves, _transfer=transfer,
                   _queues=queues, _parts=parts)  # fmt: skip

    def clear(self, halves: tuple[deque[int], ...]) -> None:
        """Back to `empty` (unlogged) on the same chip, whose buffers' `halves` are given."""
        self.channel_free = self.compute_end = self.last_write_end = self.prefetch_bytes = 0
        self.prefetched, self.log, self.compress, self.events_left = False, None, True, -1
        q0, q1, q2, q3, q4, q5 = self._queues
        q0.clear()
        q1.clear()
        q2.clear()
        q3.clear()
        q3.extend(halves[0])
        q4.clear()
        q4.extend(halves[1])
        q5.clear()
        q5.extend(halves[2])

    @property
    def end(self) -> int:
        return max(self.compute_end, self.last_write_end)

    def snapshot(self) -> tuple[tuple[int, ...], int]:
        """The state relative to the earliest time a future event can start, and that time."""
        channel, compute, written = self.channel_free, self.compute_end, self.last_write_end
        floor = channel if channel < compute else compute
        q0, q1, q2, q3, q4, q5 = queues = self._queues
        # A list grown in plain loops: a comprehension is a call of its own each snapshot.
        state = [self.prefetched, self.prefetch_bytes,
                 len(q0), len(q1), len(q2), len(q3), len(q4), len(q5),
                 channel - floor, compute - floor, written - floor if written > floor else 0]
        for queue in queues:
            for value in queue:
                state.append(value - floor if value > floor else 0)
        return tuple(state), floor

    def restore(self, state: tuple[int, ...], floor: int) -> None:
        """Take the `snapshot` `state` at `floor`: the state it was taken from, shifted to start
        there (times it clamped to its floor could delay nothing then and can delay nothing now)."""
        self.prefetched, self.prefetch_bytes = bool(state[0]), state[1]
        self.channel_free, self.compute_end = floor + state[8], floor + state[9]
        self.last_write_end = floor + state[10]
        at = 11
        for queue, size in zip(self._queues, state[2:8], strict=True):
            queue.clear()
            for value in state[at : at + size]:
                queue.append(floor + value)
            at += size

    def shift(self, cycles: int) -> None:
        """Move every time of the state `cycles` later."""
        self.channel_free += cycles
        self.compute_end += cycles
        self.shift_queues(cycles)

    def shift_queues(self, cycles: int) -> None:
        """`shift` but for the channel and compute times (`_play` keeps them itself)."""
        self.last_write_end += cycles
        for queue in self._queues:
            size = len(queue)
            if size:  # a queue holds at most a buffer's two halves: indexing beats a range
                queue[0] += cycles
                if size > 1:
                    queue[1] += cycles
                    if size > 2:
                        for i in range(2, size):
                            queue[i] += cycles

    def record(self, entry: LogEntry) -> None:
        """Log one event; when the log is full, stop logging and skip repeated runs again."""
        assert self.log is not None
        self.log.append(entry)
        self.events_left -= 1
        if self.events_left == 0:
            self.log, self.compress = None, True

    def load(self, load: Load) -> None:
        kind, size, on_chip = load
        _, _, transfer, fills, _, latency, _ = self._parts
        halves, arrivals = fills[kind]
        free = halves.popleft()
        if on_chip:  # a resident activation: ready as soon as its half is
            arrivals.append(free)
            return
        channel = self.channel_free
        start = free if free > channel else channel
        self.channel_free = end = start + transfer[size]
        arrivals.append(end + latency)
        if self.log is not None:
            self.record((start, end, "dma_load", kind))

    def prefetch(self) -> None:
        if self.prefetch_bytes:
            self.load(Load("weight", self.prefetch_bytes))
            self.prefetch_bytes = 0
            self.prefetched = True

"""The DMA / compute / write-back pipeline in closed form: the fast twin of `pipeline.py`.

Same hardware, same rules as the simpy model, written as a recurrence on event times:

- one DRAM channel works through an in-order ring of transfers; a transfer of `b` bytes occupies
  it for `round(ceil(b / burst) · burst / bandwidth)` cycles, and read data lands `latency`
  cycles after its transfer ends (requests are pipelined, so latency does not hold the channel);
- every operand buffer has two halves (one when not double-buffered); a load waits for a free
  half, a tile frees its half when its last step has computed (ofmap: when written back);
- compute runs steps in order, each waiting for its tiles and, for a fresh ofmap tile, a half.

Repeated runs of steps are where the speed comes from. The system is time-invariant: if the
pipeline's state at the start of an iteration equals its state some iterations earlier shifted
by Δ cycles, every later iteration repeats with the same shift, so the remaining whole periods
are skipped by adding Δ per period. The state is compared relative to the earliest time any
future event can start (earlier times can no longer delay anything and are clamped), which makes
the skip exact, not an approximation; `tests/test_replay.py` checks it against the full simpy run.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from accel.config import OPERANDS, ChipConfig, DramConfig
from accel.errors import InputError
from accel.memory.tile_schedule import Load, LoadKind, Node, Repeat, Schedule, Step, buffer_of

LogEntry = tuple[int, int, str, str]  # (start, end, actor, what)
_KINDS: tuple[LoadKind, ...] = ("ifmap", "weight", "psum")
_BUFFER = {kind: buffer_of(kind) for kind in _KINDS}  # the buffer each load kind fills


def transfer_cycles(size_bytes: int, dram: DramConfig) -> int:
    """Channel cycles for one transfer: whole bursts at the configured bandwidth, rounded."""
    on_bus = math.ceil(size_bytes / dram.burst_bytes) * dram.burst_bytes
    return math.floor(on_bus / dram.bandwidth_bytes_per_cycle + 0.5)


@dataclass
class Timeline:
    """Event times of the pipeline so far; `run_layer` advances it through one schedule."""

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
    _transfer: dict[int, int] = field(default_factory=dict, repr=False)  # bytes → channel cycles

    @cached_property
    def _queues(self) -> tuple[deque[int], ...]:
        """Every ready and free-half queue, in a fixed order (the state's shape)."""
        return (*self.ready.values(), *self.free_halves.values())

    @cached_property
    def _latency(self) -> int:
        return self.chip.dram.latency_cycles

    def transfer(self, size_bytes: int) -> int:
        """`transfer_cycles` on this chip's channel, memoized per size."""
        cycles = self._transfer.get(size_bytes)
        if cycles is None:
            cycles = self._transfer[size_bytes] = transfer_cycles(size_bytes, self.chip.dram)
        return cycles

    @classmethod
    def empty(
        cls, chip: ChipConfig, compress: bool = True, log: list[LogEntry] | None = None
    ) -> Timeline:
        """Idle channel, empty buffers: every half free at time 0."""
        halves: dict[str, deque[int]] = {
            buffer: deque([0] * (2 if chip.sram.buffer_for(buffer).double_buffered else 1))
            for buffer in OPERANDS
        }
        ready: dict[str, deque[int]] = {kind: deque() for kind in _KINDS}
        return cls(chip, compress, log, ready=ready, free_halves=halves)

    @property
    def end(self) -> int:
        return max(self.compute_end, self.last_write_end)

    def run_layer(self, schedule: Schedule, prefetch_next_bytes: int = 0) -> int:
        """Play one layer's schedule; return the time its last compute or write-back ends."""
        self.prefetch_bytes = prefetch_next_bytes
        for load in schedule.prologue:
            if load.kind == "weight" and self.prefetched:
                self.prefetched = False
                continue
            self.load(load)
        if schedule.prefetch_at_start:
            self.prefetch()
        self.run(schedule.body)
        return self.end

    def run(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            if isinstance(node, Step):
                self.step(node)
            else:
                self.repeat(node)

    def repeat(self, node: Repeat) -> None:
        seen: dict[tuple[int, ...], tuple[int, int]] = {}
        done = 0
        while done < node.count:
            if self.compress:
                state, origin = self.snapshot()
                if state in seen:
                    earlier, earlier_origin = seen.pop(state)
                    period = done - earlier
                    periods = (node.count - done) // period
                    self.shift(periods * (origin - earlier_origin))
                    done += periods * period
                    seen.clear()
                    continue
                seen[state] = (done, origin)
            self.run(node.body)
            done += 1

    def snapshot(self) -> tuple[tuple[int, ...], int]:
        """The state relative to the earliest time a future event can start, and that time."""
        channel, compute = self.channel_free, self.compute_end
        floor = channel if channel < compute else compute
        queues = self._queues
        shape = [int(self.prefetched), self.prefetch_bytes, *(len(queue) for queue in queues)]
        values = [channel, compute, self.last_write_end]
        for queue in queues:
            values.extend(queue)
        return tuple(shape + [v - floor if v > floor else 0 for v in values]), floor

    def shift(self, cycles: int) -> None:
        self.channel_free += cycles
        self.compute_end += cycles
        self.last_write_end += cycles
        for queue in self._queues:
            for i in range(len(queue)):
                queue[i] += cycles

    def record(self, entry: LogEntry) -> None:
        """Log one event; when the log is full, stop logging and skip repeated runs again."""
        assert self.log is not None
        self.log.append(entry)
        self.events_left -= 1
        if self.events_left == 0:
            self.log, self.compress = None, True

    def load(self, load: Load) -> None:
        free = self.free_halves[_BUFFER[load.kind]].popleft()
        if load.on_chip:  # a resident activation: ready as soon as its half is
            self.ready[load.kind].append(free)
            return
        start = free if free > self.channel_free else self.channel_free
        self.channel_free = end = start + self.transfer(load.bytes)
        self.ready[load.kind].append(end + self._latency)
        if self.log is not None:
            self.record((start, end, "dma_load", load.kind))

    def prefetch(self) -> None:
        if self.prefetch_bytes:
            self.load(Load("weight", self.prefetch_bytes))
            self.prefetch_bytes = 0
            self.prefetched = True

    def step(self, step: Step) -> None:
        start = self.compute_end
        ready, free_halves = self.ready, self.free_halves
        for kind in step.takes:
            arrival = ready[kind].popleft()
            if arrival > start:
                start = arrival
        if step.claims_ofmap:
            free = free_halves["ofmap"].popleft()
            if free > start:
                start = free
        self.compute_end = end = start + step.compute_cycles
        if self.log is not None:
            self.record((start, end, "compute", ""))
        for buffer in step.releases:
            free_halves[buffer].append(end)
        for load in step.loads:
            self.load(load)
        if step.prefetch_point:
            self.prefetch()
        if step.writeback_bytes:
            start = self.channel_free if self.channel_free > end else end
            self.channel_free = written = start + self.transfer(step.writeback_bytes)
            free_halves["ofmap"].append(written)
            self.last_write_end = written
            if self.log is not None:
                self.record((start, written, "writeback", "ofmap"))
        elif step.ofmap_on_chip:
            free_halves["ofmap"].append(end)
        for load in step.post_loads:
            self.load(load)


def replay_layer(schedule: Schedule, chip: ChipConfig) -> int:
    """Cycles of one layer alone, from empty buffers and an idle channel to its last event."""
    return Timeline.empty(chip).run_layer(schedule)


def replay_network(
    schedules: Sequence[Schedule | None],
    chip: ChipConfig,
    logs: list[list[LogEntry]] | None = None,
    logged: range | None = None,
    max_events: int = -1,
) -> list[int]:
    """Each layer's share of the end-to-end timeline: from the previous layer's end to its own.

    Layers run one after another on one channel and one set of buffers, so a layer's loads queue
    behind the previous layer's write-backs. With `dram.prefetch_next_layer_weights`, a layer's
    first weight tile is fetched during the previous layer, as soon as a weight half is free.
    `None` (a layer that moves no data and computes nothing) takes zero cycles. With `logs`, the
    layers at the positions in `logged` (default: all) are replayed event by event (no skipping of
    repeated runs: the same times, more work) and each one's events are appended to `logs` as
    one list; after `max_events` events (-1: no limit) the log closes and the rest is replayed
    with skipping again, so a few layers of a long run are cheap to watch.
    """
    log: list[LogEntry] = []
    timeline = Timeline.empty(chip)
    timeline.events_left = max_events
    prefetch = chip.dram.prefetch_next_layer_weights
    present = [i for i, schedule in enumerate(schedules) if schedule is not None]
    following = dict(itertools.pairwise(present))
    shares = [0] * len(schedules)
    previous_end = 0
    for index in present:
        schedule = schedules[index]
        assert schedule is not None
        after = following.get(index)
        upcoming = schedules[after] if after is not None else None
        next_bytes = upcoming.first_weight_bytes if prefetch and upcoming else 0
        watched = logs is not None and (logged is None or index in logged)
        timeline.log = log if watched and timeline.events_left != 0 else None
        timeline.compress = timeline.log is None
        end = timeline.run_layer(schedule, next_bytes)
        shares[index] = end - previous_end
        previous_end = end
        if watched and logs is not None:
            logs.append(log[:])
            log.clear()
    return shares


def trace_events(
    names: Sequence[str],
    schedules: Sequence[Schedule | None],
    chip: ChipConfig,
    limit: int = 200_000,
) -> dict[str, object]:
    """The run's event timeline in Chrome's trace-event format (Perfetto, chrome://tracing):
    one span per layer (its share of the timeline) and every DMA load, compute step and
    write-back on its own track; times in µs at the chip's clock, cycles in each event's args."""
    present = [(name, schedule) for name, schedule in zip(names, schedules, strict=True)
               if schedule is not None]  # fmt: skip
    steps = sum(schedule.step_count for _, schedule in present)
    if steps > limit:
        raise InputError(f"--timeline would hold {steps:,} tile steps; at most {limit:,} are "
                         "written (a smaller batch or a larger SRAM has fewer)")  # fmt: skip
    logs: list[list[LogEntry]] = []
    shares = replay_network([schedule for _, schedule in present], chip, logs)
    us = 1.0 / chip.clock_mhz
    tracks = {"layer": 0, "dma_load": 1, "compute": 2, "writeback": 3}
    events: list[dict[str, object]] = [
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": tid, "args": {"name": track}}
        for track, tid in tracks.items()
    ]
    start = 0
    for (name, _), share, log in zip(present, shares, logs, strict=True):
        events.append({"ph": "X", "name": name, "cat": "layer", "pid": 1, "tid": 0,
                       "ts": start * us, "dur": share * us, "args": {"cycles": share}})
        for begin, end, actor, what in log:
            events.append({"ph": "X", "name": what or actor, "cat": actor, "pid": 1,
                           "tid": tracks[actor], "ts": begin * us, "dur": (end - begin) * us,
                           "args": {"layer": name, "cycles": end - begin}})  # fmt: skip
        start += share
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"clock_mhz": chip.clock_mhz, "total_cycles": start}}  # fmt: skip

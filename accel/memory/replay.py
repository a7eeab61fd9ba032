"""The DMA / compute / write-back pipeline in closed form: the fast twin of `pipeline.py`.

Same hardware, same rules as the simpy model, written as a recurrence on event times:

- one DRAM channel works through an in-order ring of transfers; a transfer of `b` bytes occupies
  it for `round(ceil(b / burst) · burst / bandwidth)` cycles (`replay_channel.py`), and read
  data lands `latency` cycles after its transfer ends (requests are pipelined, so latency does
  not hold the channel);
- every operand buffer has two halves (one when not double-buffered); a load waits for a free
  half, a tile frees its half when its last step has computed (ofmap: when written back);
- compute runs steps in order, each waiting for its tiles and, for a fresh ofmap tile, a half.

Repeated runs of steps are where the speed comes from. The system is time-invariant: if the
pipeline's state at the start of an iteration equals its state some iterations earlier shifted
by Δ cycles, every later iteration repeats with the same shift, so the remaining whole periods
are skipped by adding Δ per period. The state (`replay_state.py`) is compared relative to the
earliest time any future event can start (earlier times can no longer delay anything and are
clamped), which makes the skip exact, not an approximation; `tests/test_replay.py` checks it
against the full simpy run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accel.config import ChipConfig
from accel.memory.replay_channel import clear_cache as clear_cache
from accel.memory.replay_channel import layout
from accel.memory.replay_channel import transfer_cycles as transfer_cycles
from accel.memory.replay_state import LogEntry as LogEntry
from accel.memory.replay_state import TimelineState
from accel.memory.tile_schedule import Node, Repeat, Schedule, Step

# `play` looks for a recurring state only where a skip after two looks would save at least
# this many runs times nodes of the body: a snapshot costs about as much as two steps.
_WORTH_LOOKING = 6
_NEVER_SEEN: dict[tuple[int, ...], tuple[int, int]] = {}  # `play`'s states when it does not look


@dataclass(slots=True)
class Timeline(TimelineState):
    """Event times of the pipeline so far; `run_layer` advances it through one schedule."""

    def run_layer(self, schedule: Schedule, prefetch_next_bytes: int = 0) -> int:
        """Play one layer's schedule; return the time its last compute or write-back ends."""
        self.prefetch_bytes = prefetch_next_bytes
        for load in schedule.prologue:
            if self.prefetched and load.kind == "weight":
                self.prefetched = False
                continue
            self.load(load)
        if schedule.prefetch_at_start:
            self.prefetch()
        if self.log is None:
            self.channel_free, compute = self._play(
                schedule.body, 1, self.channel_free, self.compute_end
            )
        else:
            self.run(schedule.body)
            compute = self.compute_end
        self.compute_end = compute
        written = self.last_write_end
        return compute if compute > written else written

    def run(self, nodes: Sequence[Node]) -> None:
        if self.log is None:
            self.play(nodes)
            return
        for node in nodes:
            if isinstance(node, Step):
                self.step(node)
            else:
                self.repeat(node)

    def play(self, nodes: Sequence[Node], count: int = 1) -> None:
        """`run` unlogged, `count` times (a `Repeat`'s body), whole periods skipped once the
        state recurs."""
        self.channel_free, self.compute_end = self._play(
            nodes, count, self.channel_free, self.compute_end
        )

    def _play(
        self, nodes: Sequence[Node], count: int, channel: int, compute: int
    ) -> tuple[int, int]:
        """`play` from the channel and compute times given, returning them: the events of
        `step` with these two times kept in local variables (a nested repeat passes them on,
        not through the timeline). The rare next-layer prefetch and loads behind a write-back
        go through `load`.

        Skipping is exact whenever a state recurs, so when to look is free: not once a skip has
        left fewer runs than a period, not at the last run, not before the first run of a
        single step (the state before it is rarely the steady one), and not where the steps a
        skip could save after the first two looks are too few to pay for them (a snapshot costs
        about two steps).

        Longer than a function should be, on purpose: it is the replay's inner loop, and a call
        per load, per step or per run of a repeat (`load`, `step`, `repeat`) is what it saves."""
        ready, free_halves, transfer, fills, queues, latency, ofmap_halves = self._parts
        first = done = 0
        looking = self.compress and (count - 1) * len(nodes) >= _WORTH_LOOKING
        if looking and len(nodes) == 1 and type(nodes[0]) is Step:
            first = 1
            looking = count - 2 >= _WORTH_LOOKING
        seen: dict[tuple[int, ...], tuple[int, int]] = {} if looking else _NEVER_SEEN
        while done < count:
            if looking and first <= done < count - 1:
                floor = channel if channel < compute else compute
                written = self.last_write_end
                q0, q1, q2, q3, q4, q5 = queues
                snap = [self.prefetched, self.prefetch_bytes,
                        len(q0), len(q1), len(q2), len(q3), len(q4), len(q5),
                        channel - floor, compute - floor, written - floor if written > floor else 0]
                for queue in queues:
                    for value in queue:
                        snap.append(value - floor if value > floor else 0)
                state, origin = tuple(snap), floor
                found = seen.get(state)
                if found is not None:
                    period = done - found[0]
                    periods = (count - done) // period
                    cycles = periods * (origin - found[1])
                    channel += cycles
                    compute += cycles
                    self.shift_queues(cycles)
                    done += periods * period
                    looking = False  # fewer than a period left
                    continue
                seen[state] = (done, origin)
            done += 1
            for step in nodes:
                if type(step) is not Step:
                    channel, compute = self._play(step.body, step.count, channel, compute)  # type: ignore[union-attr,arg-type]
                    continue
                # A step is a named tuple: one unpacking reads every field.
                (cycles, takes, claims_ofmap, releases, loads, written, post_loads,
                 prefetch_point, ofmap_on_chip) = step  # fmt: skip
                start = compute
                for kind in takes:
                    arrival = ready[kind].popleft()
                    if arrival > start:
                        start = arrival
                if claims_ofmap:
                    free = ofmap_halves.popleft()
                    if free > start:
                        start = free
                compute = end = start + cycles
                for buffer in releases:
                    free_halves[buffer].append(end)
                for kind, size, on_chip in loads:
                    halves, arrivals = fills[kind]
                    free = halves.popleft()
                    if on_chip:
                        arrivals.append(free)
                        continue
                    channel = (free if free > channel else channel) + transfer[size]
                    arrivals.append(channel + latency)
                if prefetch_point and self.prefetch_bytes:
                    self.channel_free = channel
                    self.prefetch()
                    channel = self.channel_free
                if written:
                    channel = (channel if channel > end else end) + transfer[written]
                    ofmap_halves.append(channel)
                    self.last_write_end = channel
                elif ofmap_on_chip:
                    ofmap_halves.append(end)
                if post_loads:
                    self.channel_free = channel
                    for load in post_loads:
                        self.load(load)
                    channel = self.channel_free
        return channel, compute

    def repeat(self, node: Repeat) -> None:
        """`node.body` `node.count` times, logged (`play` is the unlogged form), whole
        periods skipped once the state recurs (when `compress` is on)."""
        seen: dict[tuple[int, ...], tuple[int, int]] = {}
        count, done, looking = node.count, 0, True
        first = 1 if len(node.body) == 1 and type(node.body[0]) is Step else 0
        while done < count:
            if looking and self.compress and first <= done < count - 1:
                state, origin = self.snapshot()
                if state in seen:
                    earlier, earlier_origin = seen[state]
                    period = done - earlier
                    periods = (count - done) // period
                    self.shift(periods * (origin - earlier_origin))
                    done += periods * period
                    looking = False  # fewer than a period left
                    continue
                seen[state] = (done, origin)
            self.run(node.body)
            done += 1

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
    _, halves, _, spares = layout(chip)
    timeline: Timeline
    try:  # a spare is taken by one replay at a time, in any thread
        timeline = spares.pop()
    except IndexError:
        timeline = Timeline.empty(chip)
    try:
        return timeline.run_layer(schedule)
    finally:  # set back to empty even when the schedule was malformed
        timeline.clear(halves)
        spares.append(timeline)

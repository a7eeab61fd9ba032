"""The end-to-end timeline of a network: its layers' schedules replayed back to back.

Layers run one after another on one DRAM channel and one set of buffers (`replay.Timeline`), so
a layer's loads queue behind the previous layer's write-backs and, with
`dram.prefetch_next_layer_weights`, its first weight tile is fetched during the previous layer.
Each layer's share of the timeline is what it adds to the end; the event log of some layers can
be kept, and written in Chrome's trace-event format.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from accel.config import ChipConfig
from accel.errors import InputError
from accel.memory.replay import LogEntry, Timeline
from accel.memory.tile_schedule import Schedule


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
    runs = _runs_on(timeline)
    unrecorded: tuple[_RunKey, int, Schedule] | None = None  # (key, floor, schedule)
    for index in present:
        schedule = schedules[index]
        assert schedule is not None
        after = following.get(index)
        upcoming = schedules[after] if after is not None else None
        next_bytes = upcoming.first_weight_bytes if prefetch and upcoming else 0
        watched = logs is not None and (logged is None or index in logged)
        timeline.log = log if watched and timeline.events_left != 0 else None
        timeline.compress = timeline.log is None
        if timeline.log is None:
            state, floor = timeline.snapshot()
            if unrecorded is not None:
                runs[unrecorded[0]] = (state, floor - unrecorded[1], unrecorded[2])
            key = (id(schedule), next_bytes, state)
            found = runs.get(key)
            if found is not None:
                timeline.restore(found[0], floor + found[1])
                end, unrecorded = timeline.end, None
            else:
                end = timeline.run_layer(schedule, next_bytes)
                unrecorded = (key, floor, schedule)
        else:
            end, unrecorded = timeline.run_layer(schedule, next_bytes), None
        shares[index] = end - previous_end
        previous_end = end
        if watched and logs is not None:
            logs.append(log[:])
            log.clear()
    if unrecorded is not None:  # the last layer's run, for a later replay on this channel
        state, floor = timeline.snapshot()
        runs[unrecorded[0]] = (state, floor - unrecorded[1], unrecorded[2])
    return shares


# A layer's run from a state (relative to its floor) it was run from before repeats that run,
# shifted (`Timeline.snapshot`): (schedule, next bytes, state) → (state after, floor difference,
# the schedule, kept so its id is not another's). Repeated blocks of a network start the same
# layer in the same state, and so do the networks of sweep points that differ only in SRAM
# sizes where they pick the same tilings (their schedules are one object, `plans.schedule_of`).
# Kept per DRAM channel and buffer halves: all that a replay reads of the chip.
_RunKey = tuple[int, int, tuple[int, ...]]
_Runs = dict[_RunKey, tuple[tuple[int, ...], int, Schedule]]
_RUNS: dict[tuple[int, tuple[int, ...]], tuple[object, _Runs]] = {}
_LIMIT = 1 << 16  # runs kept per channel before its memo starts over


def _runs_on(timeline: Timeline) -> _Runs:
    """The runs kept for `timeline`'s channel (its transfer cycles, one object per channel
    config, and latency) and buffer halves."""
    transfer = timeline._transfer
    halves = tuple(len(queue) for queue in timeline._queues[3:])
    key = (id(transfer), halves)
    found = _RUNS.get(key)
    if found is None or found[0] is not transfer or len(found[1]) >= _LIMIT:
        if len(_RUNS) >= 64:
            _RUNS.clear()
        found = _RUNS[key] = (transfer, {})
    return found[1]


def clear_cache() -> None:
    """Forget the layer runs kept between replays."""
    _RUNS.clear()


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

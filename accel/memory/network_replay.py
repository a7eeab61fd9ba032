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
    # A layer's run from a state (relative to its floor) it was run from before repeats that
    # run, shifted (`Timeline.snapshot`): (schedule, next bytes, state) → (state after, floor
    # difference). Repeated blocks of a network start the same layer in the same state.
    runs: dict[tuple[int, int, tuple[int, ...]], tuple[tuple[int, ...], int]] = {}
    unrecorded: tuple[tuple[int, int, tuple[int, ...]], int] | None = None  # (key, floor)
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
                runs[unrecorded[0]] = (state, floor - unrecorded[1])
            key = (id(schedule), next_bytes, state)
            found = runs.get(key)
            if found is not None:
                timeline.restore(found[0], floor + found[1])
                end, unrecorded = timeline.end, None
            else:
                end, unrecorded = timeline.run_layer(schedule, next_bytes), (key, floor)
        else:
            end, unrecorded = timeline.run_layer(schedule, next_bytes), None
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

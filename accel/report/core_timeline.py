"""The timeline chart of a multi-core run: one track per core, a bar per piece of a layer.

The spans are the event schedule of the run (`accel.memory.core_timeline`): each bar runs from
a piece's first transfer or compute to its finish on its core; the bars of one layer share a
colour, so a layer cut over the cores shows as a column of bars, and the gaps are the cores
waiting for the shared DRAM channel or for the layers they read. A last track shows how busy
the shared channel was over the run.
"""

from __future__ import annotations

from accel.memory.core_pieces import MultiCoreRun
from accel.report.charts import Span, gantt_chart
from accel.report.svg import color
from accel.results import NetworkResult

MAX_SPANS = 4_000


def cores_timeline(result: NetworkResult, run: MultiCoreRun) -> tuple[str, str]:
    """(the chart, its note) of every core's pieces over the whole run."""
    names = [layer.name for layer in result.layers]
    count = result.chip.core_count
    tracks = tuple(f"core {core}" for core in range(count))
    spans = []
    timeline = run.timeline
    for index, task in enumerate(run.tasks[:MAX_SPANS]):
        start, end = timeline.starts[index], timeline.finishes[index]
        image = f", image {task.image}" if task.image >= 0 else ""
        moved = task.dram_read_bytes + task.dram_write_bytes
        text = (f"{names[task.layer]}{image} on core {task.core}: cycles {start:,}–{end:,} "
                f"(compute {task.compute_cycles:,}, DRAM {moved:,} B)")
        spans.append(Span(task.core, start, max(end, start), color(task.layer % 10), text))
    chart = gantt_chart(tracks, spans, f"{count} cores, {run.schedule} schedule",
                        "cycles from the start of the run")  # fmt: skip
    busy = timeline.channel_busy_cycles / run.total_cycles if run.total_cycles else 0.0
    note = (f"{len(run.tasks):,} pieces on {count} cores, {run.total_cycles:,} cycles; the "
            f"shared DRAM channel was busy {busy:.0%} of them. A bar is one core's piece of a "
            "layer (hover for its cycles); gaps are waits for the channel or for the layers "
            "a piece reads.")  # fmt: skip
    if len(run.tasks) > MAX_SPANS:
        note += f" Only the first {MAX_SPANS:,} pieces are drawn."
    return chart, note

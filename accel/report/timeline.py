"""The timeline chart of a run report: a few layers played out event by event, as a Gantt chart.

The events come from the exact replay of the run (`accel.memory.replay`, the closed-form twin of
the simpy DMA / compute / write-back pipeline): one track of layer spans (each layer's share of
the end-to-end cycles), one track of DMA loads per operand (they share one DRAM channel, so at
most one is busy at a time), the array's compute steps (gaps are stalls) and the write-backs.

Only a live run has the events (layers.csv holds none). The chart draws at most `MAX_EVENTS`
events so the page stays small; the layers before the range, and the range after that many
events, are replayed with repeated runs skipped, so the chart of a late layer of a long run is
cheap. `--timeline FILE.json` writes every event of the run for Perfetto.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accel.errors import InputError, closest
from accel.memory.network_replay import replay_network
from accel.memory.replay import LogEntry
from accel.report.charts import Span, gantt_chart
from accel.report.svg import color
from accel.results import NetworkResult

MAX_EVENTS = 2_000
# (actor, what) of a replay event → its track, what a hover calls it, its colour.
_EVENTS = {
    ("dma_load", "ifmap"): ("DMA ifmap", "load ifmap", color(0)),
    ("dma_load", "weight"): ("DMA weight", "load weight", color(1)),
    ("dma_load", "psum"): ("DMA psum", "load psum", color(4)),
    ("compute", ""): ("compute", "compute step", color(2)),
    ("writeback", "ofmap"): ("write-back", "write-back", color(3)),
}


def layer_range(names: Sequence[str], spec: str) -> range:
    """The positions of the layers `FIRST[:LAST]` names, each a layer's name or its position
    in layers.csv counted from 0 (`conv1`, `3:7`, `conv_dw_1:conv_pw_2`)."""
    if spec in names:  # a name that holds a ':' itself
        return range(names.index(spec), names.index(spec) + 1)
    first, colon, last = spec.partition(":")
    start = _position(names, first)
    end = _position(names, last) if colon else start
    if end < start:
        raise InputError(f"--report-timeline must name its first layer before its last, "
                         f"not {spec!r}")  # fmt: skip
    return range(start, end + 1)


def _position(names: Sequence[str], text: str) -> int:
    if text in names:
        return names.index(text)
    if text.isdigit() and int(text) < len(names):
        return int(text)
    raise InputError(f"--report-timeline must name layers of the network (a name, or a position "
                     f"0–{len(names) - 1}), not {text!r}{closest(text, names)}")  # fmt: skip


def busiest_layer(result: NetworkResult) -> range:
    """The position of the layer with the most cycles, as a range of one."""
    cycles = [layer.total_cycles for layer in result.layers]
    busiest = cycles.index(max(cycles, default=0)) if cycles else 0
    return range(busiest, busiest + 1)


@dataclass(frozen=True)
class TimelineView:
    """What the chart draws: spans on tracks, in cycles from the start of the range's first
    layer (a load of the range may start earlier, while the layer before still computes)."""

    names: tuple[str, ...]  # the range's layers
    shares: tuple[int, ...]  # their shares of the end-to-end cycles, as replayed
    tracks: tuple[str, ...]
    spans: tuple[Span, ...]
    events: int  # events drawn
    truncated: bool  # the range has more events than were drawn

    def chart(self) -> str:
        first, last = self.names[0], self.names[-1]
        title = f"timeline of {first}" + (f" to {last}" if last != first else "")
        return gantt_chart(self.tracks, self.spans, title, f"cycles from the start of {first}")

    def note(self, chosen: bool) -> str:
        """What the chart shows, and how to see more."""
        layers = self.names[0] + (f" to {self.names[-1]}" if len(self.names) > 1 else "")
        if not chosen:
            layers += " (the layer with the most cycles; --report-timeline FIRST[:LAST] " \
                      "chooses others)"
        note = (f"{layers}: {sum(self.shares):,} cycles, {self.events:,} events of the exact "
                "replay. Gaps on the compute track are stalls; hover a bar for its cycles. ")
        if self.truncated:
            shown = max(span.end for span in self.spans)
            note += (f"Only the first {self.events:,} events are drawn (up to cycle "
                     f"{shown:,.0f} of {sum(self.shares):,}) to keep the page small. ")
        return note + "--timeline FILE.json writes every event of the run for Perfetto."


def timeline_view(
    result: NetworkResult, layers: range, max_events: int = MAX_EVENTS
) -> TimelineView:
    """Replay the run, logging the events of `layers` (at most `max_events` of them)."""
    schedules = [layer.memory.schedule for layer in result.layers]
    logs: list[list[LogEntry]] = []
    shares = replay_network(schedules, result.chip, logs, layers, max_events + 1)
    names = [layer.name for layer in result.layers]
    origin = sum(shares[: layers.start])
    watched = [i for i in layers if schedules[i] is not None]
    events = [(names[index], entry) for index, log in zip(watched, logs, strict=True)
              for entry in log]  # fmt: skip
    drawn = events[:max_events]
    used = {_EVENTS[actor, what][0] for _, (_, _, actor, what) in drawn}
    tracks = ("layers", *(track for track, _, _ in _EVENTS.values()
                          if track in used or track != "DMA psum"))  # fmt: skip
    spans = [_event_span(name, entry, origin, tracks) for name, entry in drawn]
    horizon = max(span.end for span in spans) if len(events) > max_events else None
    return TimelineView(
        names=tuple(names[i] for i in layers),
        shares=tuple(shares[i] for i in layers),
        tracks=tracks,
        spans=tuple(_layer_spans(names, shares, layers, horizon) + spans),
        events=len(drawn),
        truncated=len(events) > max_events,
    )


def _event_span(layer: str, entry: LogEntry, origin: int, tracks: tuple[str, ...]) -> Span:
    begin, end, actor, what = entry
    track, called, fill = _EVENTS[actor, what]
    start, stop = begin - origin, end - origin
    text = f"{layer}: {called}, cycles {start:,}–{stop:,} ({stop - start:,})"
    return Span(tracks.index(track), start, stop, fill, text)


def _layer_spans(
    names: Sequence[str], shares: Sequence[int], layers: range, horizon: float | None
) -> list[Span]:
    """A span per layer with cycles, cut at `horizon` (the last event drawn) when truncated."""
    spans, start = [], 0
    for number, index in enumerate(layers):
        end = start + shares[index]
        shown = end if horizon is None else min(end, horizon)
        if shares[index] and shown > start:
            text = f"{names[index]}: {shares[index]:,} cycles ({start:,}–{end:,})"
            spans.append(Span(0, start, shown, color(7 if number % 2 else 9), text))
        start = end
    return spans

"""Charts over categories (layers): stacked bars per layer, bars side by side per layer (one
per chip), horizontal bars for an energy breakdown, and a Gantt chart of a run's events.

Each function takes plain numbers and returns one inline SVG string; every mark carries a hover
`<title>`. Charts over numeric axes (scatter, range, heatmap) are in `accel.report.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from accel.report.svg import (
    PAGE_WIDTH,
    Frame,
    Scale,
    attr,
    format_number,
    legend,
    svg,
    x_axis,
    y_axis,
)

_LABEL_PITCH = 13  # px between two category labels that stay readable


@dataclass(frozen=True)
class Series:
    """One stacked component of a bar chart (one value per category) and its colour."""

    name: str
    values: Sequence[float]
    color: str


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    title: str,
    y_label: str,
    tooltips: Sequence[str],
    percent: bool = False,
) -> str:
    """Stacked vertical bars, one per category (layer), as wide as the page; labels thin out
    when there are more than fit."""
    count = max(1, len(categories))
    frame = Frame(width=PAGE_WIDTH, height=360, bottom=100)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    y = Scale.fit([*totals, 0.0], frame.y_pixels, log=False, zero=True)
    if percent:
        y = Scale(0.0, 1.0, False, *frame.y_pixels)
    slot = (frame.width - frame.left - frame.right) / count
    body = [*y_axis(frame, y, y_label, percent), legend(frame, [(s.name, s.color) for s in series])]
    every = math.ceil(count / ((frame.width - frame.left - frame.right) / _LABEL_PITCH))
    for index, category in enumerate(categories):
        x, base = frame.left + index * slot, y(0.0)
        rects = []
        for item in series:
            top = y(_stack_top(series, item, index))
            height = base - top
            if height > 0:
                rects.append(
                    f'<rect x="{x + slot * 0.12:.1f}" y="{top:.1f}" width="{slot * 0.76:.1f}" '
                    f'height="{height:.1f}" fill="{item.color}"/>'
                )
            base = top
        body.append(f"<g><title>{attr(tooltips[index])}</title>{''.join(rects)}</g>")
        if index % every == 0:
            label_y = frame.height - frame.bottom + 8
            body.append(
                f'<text class="tick" text-anchor="end" transform="translate('
                f'{x + slot / 2 + 3:.1f} {label_y}) rotate(-60)">{attr(category[:18])}</text>'
            )
    return svg(frame, title, body, full_width=True)


def _stack_top(series: Sequence[Series], item: Series, index: int) -> float:
    """Cumulative value up to and including `item` for one category."""
    total = 0.0
    for current in series:
        total += current.values[index]
        if current is item:
            break
    return total


def hbar_chart(items: Sequence[tuple[str, float, str]], title: str, unit: str) -> str:
    """Horizontal bars (label, value, colour), with each bar's share of the total."""
    frame = Frame(width=720, height=40 + 30 * len(items), left=150, right=150, top=10, bottom=10)
    total = sum(value for _, value, _ in items) or 1.0
    largest = max((value for _, value, _ in items), default=1.0) or 1.0
    span = frame.width - frame.left - frame.right
    body = []
    for row, (name, value, fill) in enumerate(items):
        y = frame.top + 30 * row
        width = span * value / largest
        share = f"{format_number(value)} {unit} ({value / total:.1%})"
        body.append(
            f"<g><title>{attr(name)}: {share}</title>"
            f'<text x="{frame.left - 8}" y="{y + 17}" class="tick" text-anchor="end">'
            f"{attr(name)}</text>"
            f'<rect x="{frame.left}" y="{y + 4}" width="{max(width, 1):.1f}" height="18" rx="2" '
            f'fill="{fill}"/><text x="{frame.left + width + 6:.1f}" y="{y + 17}" class="tick">'
            f"{share}</text></g>"
        )
    return svg(frame, title, body)


def grouped_bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    title: str,
    y_label: str,
    tooltips: Sequence[Sequence[str]],
) -> str:
    """Bars side by side per category (layer), one colour per series (chip); `tooltips[s][i]`
    is the hover text of series s at category i."""
    count, groups = max(1, len(categories)), max(1, len(series))
    frame = Frame(width=PAGE_WIDTH, height=360, bottom=100)
    y = Scale.fit([v for s in series for v in s.values] + [0.0], frame.y_pixels, False, zero=True)
    slot = (frame.width - frame.left - frame.right) / count
    bar = slot * 0.8 / groups
    body = [*y_axis(frame, y, y_label), legend(frame, [(s.name, s.color) for s in series])]
    every = math.ceil(count / ((frame.width - frame.left - frame.right) / _LABEL_PITCH))
    for index, category in enumerate(categories):
        x = frame.left + index * slot + slot * 0.1
        for number, item in enumerate(series):
            top = y(item.values[index])
            body.append(
                f'<rect x="{x + number * bar:.1f}" y="{top:.1f}" width="{bar:.2f}" '
                f'height="{max(y(0.0) - top, 0.0):.1f}" fill="{item.color}">'
                f"<title>{attr(tooltips[number][index])}</title></rect>"
            )
        if index % every == 0:
            label_y = frame.height - frame.bottom + 8
            body.append(
                f'<text class="tick" text-anchor="end" transform="translate('
                f'{x + slot * 0.4 + 3:.1f} {label_y}) rotate(-60)">{attr(category[:18])}</text>'
            )
    return svg(frame, title, body, full_width=True)


@dataclass(frozen=True)
class Span:
    """One bar of a Gantt chart: on track `track`, from `start` to `end`, with its hover text."""

    track: int
    start: float
    end: float
    color: str
    text: str


def gantt_chart(
    tracks: Sequence[str], spans: Sequence[Span], title: str, x_label_text: str
) -> str:
    """One row per track (a DMA queue, the array, the write-back), a bar per span along x."""
    row = 26
    frame = Frame(width=PAGE_WIDTH, height=34 + row * len(tracks) + 50, left=120, right=24)
    x = Scale.fit([s.start for s in spans] + [s.end for s in spans], frame.x_pixels, log=False)
    body = x_axis(frame, x, x_label_text)
    for number, name in enumerate(tracks):
        middle = frame.top + row * number + row / 2
        body.append(f'<text x="{frame.left - 8}" y="{middle + 4:.1f}" class="tick" '
                    f'text-anchor="end">{attr(name)}</text>')  # fmt: skip
    for span in spans:
        left = x(span.start)
        body.append(
            f'<rect x="{left:.1f}" y="{frame.top + row * span.track + 3}" '
            f'width="{max(x(span.end) - left, 0.6):.1f}" height="{row - 6}" fill="{span.color}">'
            f"<title>{attr(span.text)}</title></rect>"
        )
    return svg(frame, title, body, full_width=True)

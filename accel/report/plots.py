"""Charts over numeric axes: scatter plots (roofline, Pareto) with labelled points and
frontiers, range plots of a metric against a swept axis, and heatmaps of a value over two swept
axes.

Each function takes plain numbers and returns one inline SVG string; every mark carries a hover
`<title>`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from accel.report.svg import (
    PAGE_WIDTH,
    Frame,
    Scale,
    attr,
    format_number,
    legend,
    svg,
    wants_log,
    x_axis,
    x_label,
    y_axis,
)

_LINE = 13  # px of one line of tick-sized text


@dataclass(frozen=True)
class PointGroup:
    """Scatter points of one colour: (x, y, hover text) each; `frontier` ones are highlighted."""

    name: str
    color: str
    points: Sequence[tuple[float, float, str]]
    frontier: Sequence[tuple[float, float, str]] = field(default_factory=tuple)


def scatter_chart(
    groups: Sequence[PointGroup],
    title: str,
    x_label_text: str,
    y_label_text: str,
    lines: Sequence[tuple[Sequence[tuple[float, float]], str, str]] = (),
    full_width: bool = False,
    labels: Sequence[tuple[float, float, str]] = (),
) -> str:
    """Points per group, log axes when values span decades, optional lines (roofs), frontiers
    and `labels` (text written beside the point at x, y)."""
    frame = Frame(width=PAGE_WIDTH if full_width else 720, height=460 if full_width else 420,
                  bottom=50)  # fmt: skip
    xs = [p[0] for g in groups for p in g.points] + [x for ln in lines for x, _ in ln[0]]
    ys = [p[1] for g in groups for p in g.points] + [y for ln in lines for _, y in ln[0]]
    x = Scale.fit(xs, frame.x_pixels, wants_log(xs))
    y = Scale.fit(ys, frame.y_pixels, wants_log(ys))
    body = [
        *y_axis(frame, y, y_label_text + (" (log scale)" if y.log else "")),
        *x_axis(frame, x, x_label_text + (" (log scale)" if x.log else "")),
        legend(frame, [(g.name, g.color) for g in groups]),
    ]
    for points, stroke, label in lines:
        coords = " ".join(f"{x(px):.1f},{y(py):.1f}" for px, py in points)
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{stroke}" stroke-width="2" '
            f'stroke-dasharray="6 4"><title>{attr(label)}</title></polyline>'
        )
    for group in groups:
        body.extend(
            f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="3.5" fill="{group.color}" '
            f'fill-opacity="0.55"><title>{attr(text)}</title></circle>'
            for px, py, text in group.points
        )
    for group in groups:
        body.append(_frontier(group, x, y))
    body.extend(_point_labels(frame, [(x(px), y(py), text) for px, py, text in labels]))
    return svg(frame, title, body, full_width)


def _point_labels(frame: Frame, anchors: Sequence[tuple[float, float, str]]) -> list[str]:
    """Labels beside their points (pixels), each moved up or down, inside the plot, off any
    label already placed; a moved label gets a leader line back to its point."""
    placed: list[tuple[float, float, float, float]] = []
    marks = []
    lowest = frame.height - frame.bottom - _LINE
    for cx, cy, text in sorted(anchors, key=lambda a: (a[1], a[0])):
        left, right = cx + 6, cx + 6 + 6.2 * len(text)
        tops = [cy - 16 + _LINE * step * sign for step in range(12) for sign in (1, -1)]
        free = [top for top in tops if frame.top <= top <= lowest and not any(
            left < x1 and x0 < right and top < y1 and y0 < top + _LINE
            for x0, y0, x1, y1 in placed)]  # fmt: skip
        top = free[0] if free else min(max(cy - 16, frame.top), lowest)
        placed.append((left, top, right, top + _LINE))
        leader = (f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{left:.1f}" y2="{top + 8:.1f}" '
                  'class="axis"/>' if top != cy - 16 else "")  # fmt: skip
        marks.append(f'{leader}<text x="{left:.1f}" y="{top + 10:.1f}" class="tick point-label">'
                     f"{attr(text)}</text>")  # fmt: skip
    return marks


def _frontier(group: PointGroup, x: Scale, y: Scale) -> str:
    if not group.frontier:
        return ""
    ordered = sorted(group.frontier)
    coords = " ".join(f"{x(px):.1f},{y(py):.1f}" for px, py, _ in ordered)
    marks = "".join(
        f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="5.5" fill="{group.color}" '
        f'stroke="#111" stroke-width="1.5" class="frontier"><title>Pareto-optimal: '
        f"{attr(text)}</title></circle>"
        for px, py, text in ordered
    )
    return (
        f'<polyline points="{coords}" fill="none" stroke="{group.color}" stroke-width="2"/>' + marks
    )


@dataclass(frozen=True)
class RangeSeries:
    """Per x category: (min, median, max, hover text) of a metric for one network."""

    name: str
    color: str
    stats: Sequence[tuple[float, float, float, str] | None]


def range_chart(
    categories: Sequence[str], series: Sequence[RangeSeries], x_label_text: str, y_label_text: str
) -> str:
    """A metric against a swept axis: a min–max bar and a median dot per value and network."""
    frame = Frame(width=460, height=300, left=64, bottom=52, top=40)
    values = [v for s in series for st in s.stats if st for v in st[:3]]
    y = Scale.fit(values, frame.y_pixels, wants_log(values), zero=not wants_log(values))
    slot = (frame.width - frame.left - frame.right) / max(1, len(categories))
    body = [
        *y_axis(frame, y, y_label_text + (" (log)" if y.log else "")),
        legend(frame, [(s.name, s.color) for s in series]) if len(series) > 1 else "",
    ]
    for index, category in enumerate(categories):
        cx = frame.left + slot * (index + 0.5)
        body.append(
            f'<text x="{cx:.1f}" y="{frame.height - frame.bottom + 16}" class="tick" '
            f'text-anchor="middle">{attr(category[:10])}</text>'
        )
    offset = min(10.0, slot / (len(series) + 1))
    for number, item in enumerate(series):
        shift = (number - (len(series) - 1) / 2) * offset
        medians = []
        for index, stat in enumerate(item.stats):
            if stat is None:
                continue
            low, median, high, text = stat
            cx = frame.left + slot * (index + 0.5) + shift
            medians.append(f"{cx:.1f},{y(median):.1f}")
            body.append(
                f"<g><title>{attr(text)}</title>"
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" '
                f'stroke="{item.color}" stroke-width="5" stroke-opacity="0.35" '
                f'stroke-linecap="round"/><circle cx="{cx:.1f}" cy="{y(median):.1f}" r="4" '
                f'fill="{item.color}"/></g>'
            )
        body.insert(
            2,
            f'<polyline points="{" ".join(medians)}" fill="none" stroke="{item.color}" '
            'stroke-width="1.5"/>',
        )
    body.append(x_label(frame, x_label_text))
    return svg(frame, f"{y_label_text} against {x_label_text}", body)


# Sequential colour scale (viridis's stops): dark for the lowest value, yellow for the highest.
_SEQUENTIAL = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")


def heatmap_chart(
    x_categories: Sequence[str],
    y_categories: Sequence[str],
    cells: Sequence[Sequence[tuple[float, str] | None]],
    title: str,
    x_label_text: str,
    y_label_text: str,
    value_label: str,
) -> str:
    """A value per cell, `cells[y][x]` = (value, hover text) or None (drawn grey), colour-scaled
    (in log space when the values span decades) with a colour bar; rows grow upwards."""
    columns, rows = max(1, len(x_categories)), max(1, len(y_categories))
    cell = min(90.0, 420 / columns)
    height = min(48.0, max(22.0, 320 / rows))
    frame = Frame(width=max(460, 70 + columns * cell + 130), height=40 + rows * height + 56, top=40)
    values = [item[0] for row in cells for item in row if item is not None]
    log = wants_log(values)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)

    def fraction(value: float) -> float:
        if high <= low:
            return 0.5
        if log:
            return math.log(value / low) / math.log(high / low)
        return (value - low) / (high - low)

    base = frame.height - frame.bottom
    body = [f'<text x="8" y="22" class="legend">{attr(title)}</text>']
    for y_index, row in enumerate(cells):
        top = base - (y_index + 1) * height
        body.extend(
            _heat_cell(frame.left + x_index * cell, top, cell, height, item, fraction)
            for x_index, item in enumerate(row)
        )
    for x_index, category in enumerate(x_categories):
        body.append(
            f'<text x="{frame.left + (x_index + 0.5) * cell:.1f}" y="{base + 16}" class="tick" '
            f'text-anchor="middle">{attr(category[:10])}</text>'
        )
    for y_index, category in enumerate(y_categories):
        body.append(
            f'<text x="{frame.left - 6}" y="{base - (y_index + 0.5) * height + 4:.1f}" '
            f'class="tick" text-anchor="end">{attr(category[:10])}</text>'
        )
    body.append(
        f'<text x="{frame.left + columns * cell / 2:.0f}" y="{frame.height - 8}" '
        f'class="axis-label" text-anchor="middle">{attr(x_label_text)}</text>'
        f'<text class="axis-label" text-anchor="middle" transform="translate(14 '
        f'{base - rows * height / 2:.0f}) rotate(-90)">{attr(y_label_text)}</text>'
    )
    body.append(_colour_bar(frame.left + columns * cell + 24, base, rows * height, low, high,
                            log, value_label))  # fmt: skip
    return svg(frame, title, body)


def _heat_cell(
    x: float,
    top: float,
    width: float,
    height: float,
    item: tuple[float, str] | None,
    fraction: Callable[[float], float],
) -> str:
    if item is None:
        return (
            f'<g><title>no successful point</title><rect x="{x:.1f}" y="{top:.1f}" '
            f'width="{width - 2:.1f}" height="{height - 2:.1f}" fill="#e3e7ee"/></g>'
        )
    value, text = item
    share = fraction(value)
    label = ""
    if width >= 36:  # room for the number: dark ink on the light end of the scale
        ink = "#111" if share > 0.6 else "#fff"
        label = (
            f'<text x="{x + width / 2 - 1:.1f}" y="{top + height / 2 + 3:.1f}" class="tick" '
            f'text-anchor="middle" style="fill:{ink}">{format_number(value)}</text>'
        )
    return (
        f'<g><title>{attr(text)}</title><rect x="{x:.1f}" y="{top:.1f}" width="{width - 2:.1f}" '
        f'height="{height - 2:.1f}" fill="{sequential_color(share)}"/>{label}</g>'
    )


def _colour_bar(
    x: float, base: float, span: float, low: float, high: float, log: bool, label: str
) -> str:
    """Ten swatches from the lowest value (bottom) to the highest (top), labelled at both ends."""
    steps = 10
    step = span / steps
    parts = [
        f'<rect x="{x:.1f}" y="{base - (i + 1) * step:.1f}" width="14" height="{step + 0.5:.1f}" '
        f'fill="{sequential_color((i + 0.5) / steps)}"/>'
        for i in range(steps)
    ]
    scale = " (log)" if log else ""
    parts.append(
        f'<text x="{x + 18:.1f}" y="{base:.1f}" class="tick">{format_number(low)}</text>'
        f'<text x="{x + 18:.1f}" y="{base - span + 9:.1f}" class="tick">{format_number(high)}'
        f'</text><text class="axis-label" text-anchor="middle" transform="translate('
        f'{x + 80:.1f} {base - span / 2:.1f}) rotate(-90)">{attr(label + scale)}</text>'
    )
    return "".join(parts)


def sequential_color(share: float) -> str:
    """The colour at `share` (0–1) along the sequential scale, interpolated between its stops."""
    position = min(1.0, max(0.0, share)) * (len(_SEQUENTIAL) - 1)
    index = min(int(position), len(_SEQUENTIAL) - 2)
    within = position - index
    start, end = _SEQUENTIAL[index], _SEQUENTIAL[index + 1]
    channels = (
        round(int(start[i : i + 2], 16) * (1 - within) + int(end[i : i + 2], 16) * within)
        for i in (1, 3, 5)
    )
    return "#" + "".join(f"{channel:02x}" for channel in channels)

"""SVG building blocks for the reports: scales, axes with units, legends and number formats.

Charts are drawn as inline SVG strings in Python, so a report is one self-contained file that
opens offline; hover text is the SVG `<title>` of each mark, which every browser shows natively.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PAGE_WIDTH = 1360  # px of a page-wide chart: the report's content width, which it scales to

# Colour-blind-safe qualitative palette (Okabe–Ito order, then muted extras).
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#d55e00",
    "#cc79a7",
    "#56b4e9",
    "#f0e442",
    "#555555",
    "#8c6d31",
    "#6b6ecf",
)
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def attr(text: object) -> str:
    """Text safe inside an attribute or element."""
    return escape(str(text), quote=True)


_SUFFIXES = ((1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))


def format_number(value: float, digits: int = 3) -> str:
    """Short, readable: 1,234 / 12.3k / 4.5M / 0.0123 (`digits` significant digits)."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = abs(value)
    for limit, divisor, suffix in _SUFFIXES:
        if magnitude >= limit:
            return f"{value / divisor:.{digits}g}{suffix}"
    if magnitude >= 10 ** (digits - 1) and magnitude >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


_ENERGY_UNITS = ((1e6, "J"), (1e3, "mJ"), (1.0, "µJ"), (1e-3, "nJ"), (1e-6, "pJ"))
_BYTE_UNITS = ((2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B"))


def energy_unit(microjoules: float) -> tuple[float, str]:
    """(µJ per unit, unit) that keeps an energy of this size below 1,000: 108,306 µJ → mJ."""
    magnitude = abs(microjoules)
    return next(((scale, unit) for scale, unit in _ENERGY_UNITS if magnitude >= scale),
                _ENERGY_UNITS[-1] if magnitude else (1.0, "µJ"))  # fmt: skip


def byte_unit(size: float) -> tuple[float, str]:
    """(bytes per unit, unit) that keeps a byte count of this size below 1,024."""
    return next(((scale, unit) for scale, unit in _BYTE_UNITS if abs(size) >= scale),
                _BYTE_UNITS[-1])  # fmt: skip


def format_energy(microjoules: float) -> tuple[str, str]:
    """(number, unit) of an energy in the unit that keeps the number below 1,000: 108,306 µJ →
    ("108", "mJ")."""
    scale, unit = energy_unit(microjoules)
    return (f"{microjoules / scale:.3g}", unit) if microjoules else ("0", "µJ")


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """The shortest labels that still tell every tick apart (164k, 164.5k, 165k)."""
    for digits in range(3, 8):
        labels = [format_number(tick, digits) for tick in ticks]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def wants_log(values: Sequence[float]) -> bool:
    """Log scale when every value is positive and they span more than ~1.5 decades."""
    positive = [v for v in values if v > 0]
    return len(positive) == len(values) > 1 and max(positive) / min(positive) > 30


@dataclass(frozen=True)
class Scale:
    """Maps data values to pixels, linearly or in log space."""

    low: float
    high: float
    log: bool
    pixel_low: float
    pixel_high: float

    @classmethod
    def fit(
        cls, values: Sequence[float], pixels: tuple[float, float], log: bool, zero: bool = False
    ) -> Scale:
        finite = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
        low, high = (min(finite), max(finite)) if finite else (1.0, 10.0)
        if log:
            low, high = _nice_log_floor(low), _nice_log_ceil(max(high, low * 1.0001))
        else:
            low = min(low, 0.0) if zero else low
            step = _nice_step((high - low) / 5 if high > low else abs(high) or 1.0)
            low, high = math.floor(low / step) * step, math.ceil(high / step) * step
            high = high if high > low else low + step
        return cls(low, high, log, *pixels)

    def __call__(self, value: float) -> float:
        if self.log:
            value = max(value, self.low)
            fraction = math.log(value / self.low) / math.log(self.high / self.low)
        else:
            fraction = (value - self.low) / (self.high - self.low)
        return self.pixel_low + fraction * (self.pixel_high - self.pixel_low)

    def ticks(self) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.low)), math.ceil(math.log10(self.high))
            multiples = (1,) if last - first > 3 else (1, 2, 5)
            candidates = [10.0**d * m for d in range(first, last + 1) for m in multiples]
            return [t for t in candidates if self.low * 0.9999 <= t <= self.high * 1.0001]
        step = _nice_step((self.high - self.low) / 5)
        count = round((self.high - self.low) / step)
        return [self.low + i * step for i in range(count + 1)]


def _nice_log_floor(value: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above `value`."""
    power = 10.0 ** math.floor(math.log10(value))
    return max(power * m for m in (1, 2, 5) if power * m <= value * 1.0001)


def _nice_log_ceil(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k not below `value`."""
    power = 10.0 ** math.floor(math.log10(value))
    return min(power * m for m in (1, 2, 5, 10) if power * m >= value * 0.9999)


def _nice_step(raw: float) -> float:
    exponent = math.floor(math.log10(raw)) if raw > 0 else 0
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * 10**exponent >= raw:
            return float(multiple * 10**exponent)
    return float(10 ** (exponent + 1))


@dataclass(frozen=True)
class Frame:
    """A chart's canvas: total size and the plot area's margins."""

    width: float = 720
    height: float = 320
    left: float = 70
    right: float = 20
    top: float = 34
    bottom: float = 56

    @property
    def x_pixels(self) -> tuple[float, float]:
        return (self.left, self.width - self.right)

    @property
    def y_pixels(self) -> tuple[float, float]:
        return (self.height - self.bottom, self.top)


def svg(frame: Frame, title: str, body: Sequence[str], full_width: bool = False) -> str:
    """The outer `<svg>`: scales to its container's width (up to its own width unless
    `full_width`), titled for screen readers."""
    cap = "" if full_width else f";max-width:{frame.width:.0f}px"
    return (
        f'<svg class="chart" viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" '
        f'role="img" aria-label="{attr(title)}" style="{FONT}{cap}">' + "".join(body) + "</svg>"
    )


def y_axis(frame: Frame, scale: Scale, label: str, percent: bool = False) -> list[str]:
    """Grid lines, tick labels and the rotated unit label of the vertical axis."""
    parts = []
    ticks = scale.ticks()
    for tick, tick_text in zip(ticks, tick_labels(ticks), strict=True):
        y = scale(tick)
        text = f"{tick * 100:.0f}%" if percent else tick_text
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" class="grid"/><text x="{frame.left - 6}" y="{y + 4:.1f}" '
            f'class="tick" text-anchor="end">{text}</text>'
        )
    middle = (frame.top + frame.height - frame.bottom) / 2
    parts.append(
        f'<text class="axis-label" text-anchor="middle" transform="translate(14 {middle:.0f}) '
        f'rotate(-90)">{attr(label)}</text>'
    )
    return parts


def x_axis(frame: Frame, scale: Scale, label: str) -> list[str]:
    """Tick marks, labels and unit label of a numeric horizontal axis."""
    base = frame.height - frame.bottom
    parts = [
        f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" '
        'class="axis"/>'
    ]
    ticks = scale.ticks()
    for tick, tick_text in zip(ticks, tick_labels(ticks), strict=True):
        x = scale(tick)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{base}" class="grid"/>'
            f'<text x="{x:.1f}" y="{base + 16}" class="tick" text-anchor="middle">'
            f"{tick_text}</text>"
        )
    parts.append(x_label(frame, label))
    return parts


def x_label(frame: Frame, label: str) -> str:
    center = (frame.left + frame.width - frame.right) / 2
    return (
        f'<text x="{center:.0f}" y="{frame.height - 8}" class="axis-label" '
        f'text-anchor="middle">{attr(label)}</text>'
    )


def legend(frame: Frame, entries: Sequence[tuple[str, str]]) -> str:
    """Colour swatches and names in one row above the plot area, right-aligned."""
    widths = [26 + 7 * len(name) for name, _ in entries]
    x = frame.width - frame.right - sum(widths)
    parts = []
    for (name, fill), width in zip(entries, widths, strict=True):
        parts.append(
            f'<rect x="{x:.0f}" y="10" width="11" height="11" rx="2" fill="{fill}"/>'
            f'<text x="{x + 15:.0f}" y="20" class="legend">{attr(name)}</text>'
        )
        x += width
    return "".join(parts)

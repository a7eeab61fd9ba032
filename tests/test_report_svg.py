"""Chart building blocks: readable numbers, nice ticks, log scales, Pareto frontiers."""

from __future__ import annotations

import pytest

from accel.report.svg import Scale, format_number, tick_labels, wants_log
from accel.report.sweep_report import pareto_front


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (0.01234, "0.0123"), (7.5, "7.5"), (1234, "1,234"), (45678, "45.7k"),
     (2_500_000, "2.5M"), (3.2e9, "3.2G"), (-45678, "-45.7k")],
)  # fmt: skip
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_linear_scale_has_round_ticks_from_zero() -> None:
    scale = Scale.fit([3.0, 465_119.0], (300.0, 0.0), log=False, zero=True)
    assert (scale.low, scale.high) == (0.0, 500_000.0)
    assert scale.ticks() == [0.0, 100_000.0, 200_000.0, 300_000.0, 400_000.0, 500_000.0]
    assert scale(0.0) == 300.0 and scale(250_000.0) == 150.0


def test_log_scale_snaps_to_1_2_5() -> None:
    scale = Scale.fit([3.0, 700.0], (0.0, 100.0), log=True)
    assert (scale.low, scale.high) == (2.0, 1000.0)
    assert scale.ticks() == [2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
    assert scale(2.0) == 0.0 and scale(1000.0) == pytest.approx(100.0)
    wide = Scale.fit([0.5, 2e6], (0.0, 100.0), log=True)
    assert wide.ticks() == [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]  # powers of ten only


def test_log_only_when_values_span_decades() -> None:
    assert wants_log([1.0, 100.0]) and not wants_log([1.0, 20.0])
    assert not wants_log([0.0, 1000.0]) and not wants_log([5.0])


def test_pareto_front_minimises_both() -> None:
    points = [(1.0, 9.0, "a"), (2.0, 4.0, "b"), (3.0, 5.0, "c"), (4.0, 1.0, "d"), (1.0, 10.0, "e")]
    assert [p[2] for p in pareto_front(points)] == ["a", "b", "d"]


def test_tick_labels_gain_digits_only_when_needed() -> None:
    assert tick_labels([0.0, 100_000.0, 200_000.0]) == ["0", "100k", "200k"]
    assert tick_labels([164_000.0, 164_500.0, 165_000.0]) == ["164k", "164.5k", "165k"]

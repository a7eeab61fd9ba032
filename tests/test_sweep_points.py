"""Expanding a sweep into points: grid, zip and random sections, and constraints."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accel.sweep.points import expand_values, flatten_fields, satisfies
from accel.sweep.spec import SweepSpec


def spec(**fields: Any) -> SweepSpec:
    return SweepSpec.from_dict({"name": "s", "networks": ["lenet5"], **fields})


def test_grid_is_every_combination_last_axis_fastest() -> None:
    values = expand_values(spec(grid={"array.rows": [8, 16], "array.dataflow": ["os", "ws"]}))
    assert values == [
        (("array.rows", 8), ("array.dataflow", "os")),
        (("array.rows", 8), ("array.dataflow", "ws")),
        (("array.rows", 16), ("array.dataflow", "os")),
        (("array.rows", 16), ("array.dataflow", "ws")),
    ]


def test_zip_advances_together_and_crosses_the_grid() -> None:
    values = expand_values(
        spec(grid={"array.dataflow": ["os", "ws"]}, zip={"array.rows": [8, 64], "array.cols": [64, 8]})
    )
    assert values == [
        (("array.dataflow", "os"), ("array.rows", 8), ("array.cols", 64)),
        (("array.dataflow", "os"), ("array.rows", 64), ("array.cols", 8)),
        (("array.dataflow", "ws"), ("array.rows", 8), ("array.cols", 64)),
        (("array.dataflow", "ws"), ("array.rows", 64), ("array.cols", 8)),
    ]


def test_no_axes_is_one_point() -> None:
    assert expand_values(spec()) == [()]


def test_random_samples_are_reproducible_and_in_range() -> None:
    section = {
        "samples": 50,
        "seed": 3,
        "axes": {
            "array.rows": {"min": 4, "max": 512, "log": True, "integer": True},
            "clock_mhz": {"min": 100.0, "max": 900.0},
            "array.dataflow": ["os", "ws", "is"],
        },
    }
    first = expand_values(spec(random=section))
    assert first == expand_values(spec(random=section))
    assert first != expand_values(spec(random={**section, "seed": 4}))
    assert len(first) == 50
    for point in first:
        rows, clock, dataflow = (value for _, value in point)
        assert isinstance(rows, int) and 4 <= rows <= 512
        assert 100.0 <= clock <= 900.0 and float(f"{clock:.4g}") == clock
        assert dataflow in ("os", "ws", "is")
    # log-uniform: about as many rows below the geometric mean (~45) as above it
    below = sum(1 for point in first if point[0][1] < math.sqrt(4 * 512))
    assert 12 <= below <= 38


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=0, max_size=3),
    st.integers(1, 4),
    st.integers(1, 3),
)
def test_count_is_grid_product_times_zip_times_samples(sizes: list[int], zipped: int, samples: int) -> None:
    grid = {f"array.f{i}": list(range(n)) for i, n in enumerate(sizes)}
    fields = {"grid": grid, "zip": {"clock_mhz": list(range(zipped))}}
    fields["random"] = {"samples": samples, "axes": {"dram.latency_cycles": [1, 2]}}
    values = expand_values(spec(**fields))
    assert len(values) == math.prod(sizes) * zipped * samples
    assert all(len(point) == len(sizes) + 2 for point in values)


def test_constraints_see_base_fields_swept_values_and_batch() -> None:
    chip = dict(flatten_fields({"array": {"rows": 32, "cols": 32}, "clock_mhz": 1000}))
    assert chip == {"array.rows": 32, "array.cols": 32, "clock_mhz": 1000}
    rule = ["array.rows * array.cols <= 2048", "batch < 8"]
    assert satisfies(rule, chip, (("array.rows", 64),), 1, "s")
    assert not satisfies(rule, chip, (("array.rows", 128),), 1, "s")
    assert not satisfies(rule, chip, (("array.rows", 64),), 8, "s")

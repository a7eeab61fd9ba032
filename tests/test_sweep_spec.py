"""Sweep YAML: what a user can write, and one test per validation rule."""

from __future__ import annotations

from typing import Any

import pytest

from accel.errors import InputError
from accel.sweep.spec import Range, SweepSpec

BASE: dict[str, Any] = {"name": "s", "networks": ["lenet5"]}


def spec(**fields: Any) -> SweepSpec:
    return SweepSpec.from_dict({**BASE, **fields}, "s.yaml")


def test_network_strings_become_entries() -> None:
    parsed = spec(networks=["mobilenet_v1?alpha=0.5&resolution=160", "nets/tiny.yaml", "t.csv"])
    first, second, third = parsed.networks
    assert (first.name, first.params) == ("mobilenet_v1", {"alpha": 0.5, "resolution": 160})
    assert (second.file, third.file) == ("nets/tiny.yaml", "t.csv")


def test_axis_paths_in_table_order() -> None:
    parsed = spec(
        grid={"array.rows": [16, 32]},
        zip={"sram.ifmap.size_kib": [8, 16], "sram.weight.size_kib": [8, 16]},
        random={"samples": 2, "axes": {"clock_mhz": {"min": 100, "max": 900}}},
        batch=[1, 4],
    )
    assert parsed.axis_paths == [
        "array.rows", "sram.ifmap.size_kib", "sram.weight.size_kib", "clock_mhz"
    ]
    assert parsed.batches == [1, 4]
    assert parsed.random is not None and parsed.random.axes["clock_mhz"] == Range(min=100, max=900)


def test_the_shipped_examples_are_valid() -> None:
    from conftest import REPO

    for path in sorted((REPO / "configs" / "sweeps").glob("*.yaml")):
        assert SweepSpec.from_yaml(path).networks, path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"gird": {}}, r"^s.yaml: gird is not a known field \(did you mean 'grid'\?\)$"),
        ({"networks": []}, r"^s.yaml: networks must be a list of at least 1 item\(s\), not \[\]$"),
        ({"networks": [{"name": "a", "file": "b.yaml"}]}, r"networks.0: a network needs exactly one of name or file$"),
        ({"networks": ["mobilenet_v1?alpha=abc"]}, r"networks.0.params: alpha must be a number or a non-empty list of numbers, not 'abc'$"),
        ({"batch": [1, -2]}, r"^s.yaml: batch: a batch size must be a positive integer, not -2$"),
        ({"grid": {"array.rows": 5}}, r"^s.yaml: grid: array.rows must be a list of values, not 5$"),
        ({"grid": {"array.rows": []}}, r"^s.yaml: grid.array.rows must be a non-empty list of values, not \[\]$"),
        ({"zip": {"array.rows": [{"a": 1}]}}, r"^s.yaml: zip: array.rows values must be numbers, text, true/false or null, not \{'a': 1\}$"),
        ({"zip": {"array.rows": [1, 2], "array.cols": [1]}}, r"zip lists must all have the same length, not \{'array.rows': 2, 'array.cols': 1\}$"),
        ({"grid": {"array.rows": [8]}, "zip": {"array.rows": [8]}}, r"axis 'array.rows' must appear in one section only$"),
        ({"random": {"samples": 0, "axes": {"array.rows": [8]}}}, r"^s.yaml: random.samples must be > 0, not 0$"),
        ({"random": {"samples": 2, "axes": {}}}, r"random.axes: axes must map at least one chip field to values, not \{\}$"),
        ({"random": {"samples": 2, "axes": {"clock_mhz": {"min": 5, "max": 1}}}}, r"random.axes: clock_mhz: max must be >= min \(5.0\), not 1.0$"),
        ({"random": {"samples": 2, "axes": {"clock_mhz": {"min": 0, "max": 9, "log": True}}}}, r"clock_mhz: min must be > 0 for a log range, not 0.0$"),
        ({"constraints": "array.rows < 9"}, r"^s.yaml: constraints must be a list, not 'array.rows < 9'$"),
    ],
)
def test_each_rule_is_one_line(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        spec(**fields)
    assert "\n" not in str(caught.value)


def test_missing_name() -> None:
    with pytest.raises(InputError, match=r"^s.yaml: name is required$"):
        SweepSpec.from_dict({"networks": ["lenet5"]}, "s.yaml")

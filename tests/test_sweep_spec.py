"""Sweep YAML: what a user can write, and one test per validation rule."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_trusted_validation import same

from accel.errors import InputError
from accel.sweep.spec import Range, SweepSpec
from accel.user_input import load_yaml_mapping
from accel.user_input.trusted import construct

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


def test_the_shipped_examples_need_no_pydantic() -> None:
    """A sweep file that needs no conversion is built without pydantic (`accel.user_input.trusted`): it
    costs ~0.1 s of CPU before the workers start."""
    from conftest import REPO

    for path in sorted((REPO / "configs" / "sweeps").glob("*.yaml")):
        assert construct(SweepSpec, load_yaml_mapping(path, "sweep")) is not None, path
    code = ("import sys; from accel.sweep.spec import SweepSpec; "
            "SweepSpec.from_dict({'name': 's', 'networks': ['lenet5'], 'grid': {'a.b': [1, 2.5]},"
            " 'random': {'samples': 2, 'axes': {'c': {'min': 1, 'max': 2}}}}); "
            "print('pydantic' in sys.modules)")  # fmt: skip
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"


SCALARS = st.one_of(
    st.integers(-2, 3), st.sampled_from([64, 2**40]), st.booleans(), st.none(),
    st.sampled_from([0.0, 0.5, 2.0, 64.0, -1.0, math.inf, math.nan]),
    st.sampled_from(["", "3", "os", "mobilenet_v2?alpha=0.5", "x.yaml", "a < 2"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["min", "max", "log", "integer",
                                                             "a.b", "name", "params", 1]),
                                            inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip
RANGES = st.fixed_dictionaries(
    {"min": st.sampled_from([0, 1, 0.5, -1, True]), "max": st.sampled_from([2, 8.0, 0, "9"])},
    optional={"log": VALUES, "integer": st.booleans()},
)
AXES = st.dictionaries(st.sampled_from(["array.rows", "clock_mhz", "sram.x"]),
                       st.one_of(st.lists(SCALARS, max_size=3), RANGES, VALUES), max_size=3)
ENTRY = st.one_of(
    st.sampled_from(["lenet5", "mobilenet_v1?alpha=0.5&resolution=160", "n.yaml", "x?a=b"]),
    st.fixed_dictionaries({}, optional={"name": VALUES, "file": st.just("n.yaml"),
                                        "params": st.dictionaries(st.just("alpha"), VALUES)}),
)  # fmt: skip
SPECS = st.fixed_dictionaries(
    {"name": st.one_of(st.just("s"), VALUES), "networks": st.lists(ENTRY, max_size=2)},
    optional={
        "description": VALUES, "chip": st.one_of(st.just({"array": {"rows": 8}}), VALUES),
        "batch": st.one_of(st.lists(SCALARS, max_size=2), SCALARS),
        "grid": st.one_of(AXES, VALUES), "zip": st.one_of(AXES, VALUES),
        "random": st.one_of(st.fixed_dictionaries({"samples": SCALARS, "axes": AXES},
                                                  optional={"seed": SCALARS}), VALUES),
        "constraints": st.one_of(st.lists(st.sampled_from(["a < 2", 3]), max_size=2), VALUES),
        "metrics": st.one_of(st.lists(st.sampled_from(["latency_ms", 3]), max_size=2), VALUES),
        "gird": VALUES,
    },
)  # fmt: skip

FINITE = st.one_of(st.integers(-2, 64), st.booleans(), st.none(), st.sampled_from([0.5, 2.0]),
                   st.sampled_from(["os", "ws"]))  # fmt: skip
LISTS = st.dictionaries(st.sampled_from(["array.rows", "clock_mhz", "sram.x"]),
                        st.lists(FINITE, min_size=1, max_size=3), max_size=2)  # fmt: skip
VALID = st.fixed_dictionaries(  # mostly valid: pydantic takes most, and construct should
    {"name": st.just("s"), "networks": st.lists(ENTRY, min_size=1, max_size=2)},
    optional={
        "batch": st.one_of(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1)),
        "grid": LISTS, "zip": LISTS, "constraints": st.lists(st.just("a < 2"), max_size=1),
        "random": st.fixed_dictionaries(
            {"samples": st.integers(1, 3),
             "axes": st.dictionaries(st.sampled_from(["clock_mhz", "dram.x"]),
                                     st.one_of(st.lists(FINITE, min_size=1), RANGES),
                                     min_size=1, max_size=2)},
            optional={"seed": st.integers(0, 9)}),
        "metrics": st.lists(st.just("latency_ms"), max_size=1), "chip": st.just("default"),
    },
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.one_of(VALID, SPECS))
def test_a_spec_taken_as_written_is_what_pydantic_builds(data: dict[str, Any]) -> None:
    """`construct` builds exactly what pydantic builds, or leaves the input to pydantic:
    it never accepts what pydantic would refuse or convert otherwise."""
    from pydantic import ValidationError

    plain = construct(SweepSpec, data)
    try:
        validated = SweepSpec.model_validate(data)
    except ValidationError:
        assert plain is None
        return
    assert plain is None or same(plain, validated)

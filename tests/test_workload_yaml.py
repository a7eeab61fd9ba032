"""Workload YAML: parameters and expressions, layer fields, and one test per error rule."""

from __future__ import annotations

import pytest

from accel.errors import InputError
from accel.io.expressions import make_divisible
from accel.io.sources import load_network
from accel.io.workload_yaml import load_workload, network_to_yaml, parse_workload
from accel.model.ops import Shape

TINY = """
name: tiny
parameters: {resolution: 16, width: 1.0}
input: {channels: 3, height: "${resolution}", width: "${resolution}"}
layers:
  - {name: c1, kind: conv, out_channels: "${int(8 * width)}", kernel: 3, padding: same, activation: relu}
  - {name: c2, kind: conv, out_channels: "${int(8 * width)}", kernel: 3, padding: 1}
  - {name: sum, kind: add, inputs: [c1, c2], activation: relu}
  - {name: gap, kind: global_avgpool}
  - {name: fc, kind: fc, out_features: 10}
"""


def test_parameters_and_expressions(write_yaml) -> None:  # type: ignore[no-untyped-def]
    path = write_yaml(TINY)
    default = load_workload(path)
    assert default.input_shape == Shape(3, 16, 16)
    wide = load_workload(path, {"width": 2.0, "resolution": 32})
    assert wide.input_shape == Shape(3, 32, 32)
    assert wide.layer("c2").output_shape == Shape(16, 32, 32)


def test_query_string_parameters(write_yaml) -> None:  # type: ignore[no-untyped-def]
    path = write_yaml(TINY)
    net = load_network(f"{path}?resolution=8")
    assert net.input_shape == Shape(3, 8, 8)


def test_round_trip_through_yaml(write_yaml) -> None:  # type: ignore[no-untyped-def]
    original = load_workload(write_yaml(TINY))
    again = parse_workload(__import__("yaml").safe_load(network_to_yaml(original)), "again", {})
    assert again.layers == original.layers


def test_make_divisible_follows_mobilenet_rule() -> None:
    assert make_divisible(32 * 0.75) == 24
    assert make_divisible(16 * 0.35) == 8
    assert make_divisible(96 / 4) == 24
    assert make_divisible(20) == 24  # never more than 10% below: 16 < 0.9 * 20


def test_unknown_parameter_lists_valid_ones(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        InputError, match=r"parameter 'alpha' does not exist; valid parameters: resolution, width"
    ):
        load_workload(write_yaml(TINY), {"alpha": 0.5})


def test_unknown_kind_suggests(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = "input: [1, 8, 8]\nlayers:\n  - {name: a, kind: cnov, out_channels: 2, kernel: 1}\n"
    with pytest.raises(
        InputError, match=r"layer 'a': kind must be one of .*, not 'cnov' \(did you mean 'conv'\?\)"
    ):
        load_workload(write_yaml(text))


def test_unknown_layer_field_suggests(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = "input: [1, 8, 8]\nlayers:\n  - {name: a, kind: conv, out_chanels: 2, kernel: 1}\n"
    with pytest.raises(
        InputError,
        match=r"layer 'a': out_chanels is not a known field \(did you mean 'out_channels'\?\)",
    ):
        load_workload(write_yaml(text))


def test_negative_layer_size_is_rejected(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = "input: [1, 8, 8]\nlayers:\n  - {name: a, kind: conv, out_channels: -2, kernel: 1}\n"
    with pytest.raises(InputError, match=r"layer 'a': out_channels must be > 0, not -2"):
        load_workload(write_yaml(text))


def test_zero_kernel_is_rejected(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = "input: [1, 8, 8]\nlayers:\n  - {name: a, kind: conv, out_channels: 2, kernel: 0}\n"
    with pytest.raises(InputError, match=r"layer 'a': kernel: kernel must be > 0, not 0"):
        load_workload(write_yaml(text))


def test_negative_input_size_is_rejected(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = "input: [1, -8, 8]\nlayers:\n  - {name: a, kind: flatten}\n"
    with pytest.raises(InputError, match=r"input\.height must be a positive integer, not -8"):
        load_workload(write_yaml(text))


def test_fused_activation_must_be_a_clamp(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = "input: [1, 8, 8]\nlayers:\n  - {name: a, kind: conv, out_channels: 2, kernel: 1, activation: hswish}\n"
    with pytest.raises(
        InputError, match=r"layer 'a': activation must be one of 'relu' or 'relu6', not 'hswish'"
    ):
        load_workload(write_yaml(text))


def test_expression_cannot_run_code(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = "input: [1, 8, 8]\nlayers:\n  - {name: a, kind: conv, out_channels: \"${__import__('os')}\", kernel: 1}\n"
    with pytest.raises(InputError, match=r"expression may use numbers, parameters"):
        load_workload(write_yaml(text))


def test_cycle_in_yaml_is_reported(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = (
        "input: [1, 8, 8]\nlayers:\n  - {name: a, kind: add, inputs: [input, b]}\n"
        "  - {name: b, kind: add, inputs: [input, a]}\n"
    )
    with pytest.raises(InputError, match=r"file\.yaml: the layers must form a DAG, but 'a', 'b'"):
        load_workload(write_yaml(text))


def test_unknown_network_name_lists_the_zoo() -> None:
    with pytest.raises(
        InputError,
        match=r"network must be a file or one of .*lenet5.*, not 'lenet' \(did you mean 'lenet5'\?\)",
    ):
        load_network("lenet")


def test_unknown_top_level_key(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        InputError, match=r"'layer' is not a known workload field \(did you mean 'layers'\?\)"
    ):
        load_workload(write_yaml("input: [1, 8, 8]\nlayer: []\n"))

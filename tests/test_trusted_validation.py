"""Validation without building pydantic's validators (accel.user_input.trusted) must build
exactly what pydantic builds, or leave the input to pydantic: never accept what pydantic would
refuse or convert otherwise."""

from __future__ import annotations

import math
import types
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from accel import config
from accel.io.sources import load_network, zoo_names
from accel.io.workload_yaml import OP_CLASSES
from accel.user_input import trusted
from accel.user_input.record import Record

MODELS = sorted({*OP_CLASSES.values(), config.ChipConfig, config.ArrayConfig,
                 config.BufferConfig, config.SramConfig, config.DramConfig,
                 config.EnergyConfig}, key=lambda model: model.__name__)  # fmt: skip


def same(built: Any, validated: Any) -> bool:
    """Equal values of equal types all the way down (64.0 is not 64, (1, 2) is not [1, 2]),
    and for models the same fields set."""
    if type(built) is not type(validated):
        return False
    if isinstance(built, Record):
        return built.model_fields_set == validated.model_fields_set and same(
            built.__dict__, validated.__dict__
        )
    if isinstance(built, dict):
        return built.keys() == validated.keys() and all(same(built[k], validated[k]) for k in built)
    if isinstance(built, tuple | list):
        return len(built) == len(validated) and all(map(same, built, validated))
    if isinstance(built, float) and math.isnan(built):
        return math.isnan(validated)
    return bool(built == validated)


SCALARS = st.one_of(
    st.integers(-3, 8), st.sampled_from([0, 1, 64, 65536, 2**40, -1]), st.booleans(), st.none(),
    st.sampled_from([0.0, 0.5, 1.0, 2.0, 64.0, 1e-7, -1.0, math.inf, -math.inf, math.nan]),
    st.sampled_from(["", "3", "1.5", "true", "same", "valid", "relu", "x"]),
)
VALUES = st.one_of(
    SCALARS, st.lists(st.integers(-1, 5), min_size=0, max_size=5),
    st.lists(st.integers(1, 4), min_size=2, max_size=2).map(tuple),
    st.lists(st.sampled_from([0.5, 2.0, 1]), min_size=2, max_size=2),
)  # fmt: skip


def fitting(annotation: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of `annotation`'s own type, mostly valid, often at or past a limit."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(fitting(arg, depth) for arg in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is tuple:
        items = [fitting(args[0])] * 3 if args[-1] is Ellipsis else [fitting(a) for a in args]
        return st.tuples(*items) | st.tuples(*items).map(list)
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return models(annotation, depth + 1) if depth < 2 else st.just({})
    return {
        bool: st.booleans(), type(None): st.none(), str: st.sampled_from(["x", "conv", ""]),
        int: st.integers(-1, 6) | st.sampled_from([32, 64, 1024, 65536, 65537]),
        float: st.sampled_from([0.5, 1.0, 64.0, 1e-4, 1e-7, 1e9, 0.0, -1.0, math.inf])
        | st.integers(0, 70),
    }.get(annotation, SCALARS)


@st.composite
def models(draw: st.DrawFn, model: type[Record], depth: int = 0) -> dict[str, Any]:
    names = list(model.model_fields)
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    if draw(st.integers(0, 4)):  # mostly with every required field
        chosen += [n for n, f in model.model_fields.items() if f.is_required() and n not in chosen]
    data: dict[str, Any] = {}
    for name in chosen:
        annotation = model.model_fields[name].annotation
        odd = draw(st.integers(0, 7)) == 0  # now and then a value of another type
        data[name] = draw(VALUES if odd else fitting(annotation, depth))
    if draw(st.integers(0, 19)) == 0:
        data["no_such_field"] = 1
    return data


@st.composite
def inputs(draw: st.DrawFn) -> tuple[type[Record], dict[str, Any]]:
    model = draw(st.sampled_from(MODELS))
    return model, draw(models(model))


@settings(max_examples=1500, deadline=None)
@given(inputs())
def test_what_is_built_without_pydantic_is_what_pydantic_builds(
    case: tuple[type[Record], dict[str, Any]],
) -> None:
    model, data = case
    built = trusted.construct(model, data)
    if built is None:
        return
    try:
        validated = model.model_validate(data)
    except ValidationError as err:
        raise AssertionError(f"accepted what pydantic refuses: {err}") from None
    assert same(built, validated), (built, validated)


@pytest.mark.parametrize("name", zoo_names())
def test_a_zoo_network_builds_as_pydantic_builds_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every layer of every built-in network is taken without pydantic's validators (none is
    left to pydantic) and equals the layer pydantic validates."""
    import accel.user_input as user_input

    refused: list[str] = []

    def counting(model: type[Record], data: Any) -> Any:
        built = trusted.construct(model, data)
        if built is None:
            refused.append(model.__name__)
        return built

    monkeypatch.setattr(user_input, "construct", counting)
    fast = load_network(name)
    monkeypatch.setattr(user_input, "construct", lambda model, data: None)
    slow = load_network(name)
    assert refused == []
    assert [layer.name for layer in fast.layers] == [layer.name for layer in slow.layers]
    for ours, theirs in zip(fast.layers, slow.layers, strict=True):
        assert same(ours.op, theirs.op), ours.name


def test_a_chip_config_builds_as_pydantic_builds_it() -> None:
    data = {"name": "x", "clock_mhz": 500, "array": {"rows": 16, "dataflow": "os"},
            "sram": {"ifmap": {"size_kib": 8}, "weight": None, "unified": {"size_kib": 64.0}},
            "dram": {"bandwidth_bytes_per_cycle": 8}}  # fmt: skip
    built = trusted.construct(config.ChipConfig, data)
    assert built is not None
    assert same(built, config.ChipConfig.model_validate(data))
    assert built.sram.ifmap.size_kib == 8.0 and type(built.sram.ifmap.size_kib) is float


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (config.ArrayConfig, {"rows": "32"}),  # pydantic converts the string
        (config.ArrayConfig, {"rows": 32.0}),  # and the whole float
        (config.ArrayConfig, {"fold_overlap": 1}),
        (config.ArrayConfig, {"rows": 0}),  # refused: pydantic words the error
        (config.ArrayConfig, {"precision": "fp16", "accumulator_bits": 16}),  # model validator
        (config.ArrayConfig, {"row": 32}),
        (config.SramConfig, {"ifmap": None}),
        (OP_CLASSES["conv"], {"kernel": 3}),  # out_channels missing
        (OP_CLASSES["conv"], {"out_channels": 8, "kernel": 0}),  # field validator refuses
    ],
)
def test_input_needing_conversion_or_refused_goes_to_pydantic(
    model: type[Record], data: dict[str, Any]
) -> None:
    assert trusted.construct(model, data) is None


def _annotations(annotation: Any) -> list[Any]:
    """`annotation` and every annotation nested in it."""
    found = [annotation]
    for arg in typing.get_args(annotation):
        if not isinstance(arg, str | int | float | bool) and arg is not Ellipsis:
            found.extend(_annotations(arg))
    return found


def test_an_annotation_s_parts_are_typing_s_worked_out_once() -> None:
    """`_parts` (origin and arguments, kept per annotation) gives what `typing` gives for every
    annotation of every record field, nested ones too, however often asked, and for
    annotations equal but spelled differently (`int | None` and `Optional[int]`)."""
    seen = [inner for model in MODELS for spec in model.model_fields.values()
            for inner in _annotations(spec.annotation)]  # fmt: skip
    seen += [int | None, typing.Optional[int], list[int], tuple[int, ...], typing.Literal["a"]]  # noqa: UP045
    for annotation in seen * 2:
        assert trusted._parts(annotation) == (typing.get_origin(annotation),
                                             typing.get_args(annotation))  # fmt: skip
    assert any(trusted._parts(annotation)[1] for annotation in seen)

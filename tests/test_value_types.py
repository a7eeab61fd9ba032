"""The records that are NamedTuples rather than frozen dataclasses (so that a run's start-up
compiles no generated methods for them) keep the frozen dataclass's contract: immutable, equal
exactly when every field is, hashed alike, built by position or keyword, shown as a dataclass is.
"""

from __future__ import annotations

from typing import Any

import pytest

from accel.cli.simulate import SimulateOptions
from accel.memory.activation_plan import ActivationPlan
from accel.memory.bound_timing import Untimed
from accel.memory.tiling import Candidates
from accel.memory.traffic import OrderStack
from accel.memory.variant_bounds import Variant
from accel.model.network import GemmView, LayerEntry
from accel.perf.area import ChipArea

# Each record's class and a value per field (plain numbers stand in for arrays and records).
RECORDS: list[tuple[type[Any], dict[str, Any]]] = [
    (SimulateOptions, {"network": "vgg16", "batch": 2, "quiet": True}),
    (GemmView, {"m": 49, "k": 27, "n": 64, "groups": 1}),
    (LayerEntry, {"name": "conv1", "op": "op", "inputs": ("input",)}),
    (ChipArea, {"pe_um2": 500.0, "pe_count": 1024, "sram_um2_per_kib": 5.0, "sram_kib": 96.0}),
    (Candidates, {name: i for i, name in enumerate(Candidates._fields)}),
    (OrderStack, {name: i for i, name in enumerate(OrderStack._fields)}),
    (Untimed, {name: i for i, name in enumerate(Untimed._fields)}),
    (Variant, {name: i for i, name in enumerate(Variant._fields)}),
    (ActivationPlan, {name: i for i, name in enumerate(ActivationPlan._fields)}),
]


@pytest.mark.parametrize(("cls", "values"), RECORDS, ids=[cls.__name__ for cls, _ in RECORDS])
def test_a_named_record_keeps_the_frozen_dataclass_contract(
    cls: type[Any], values: dict[str, Any]
) -> None:
    record = cls(**values)
    assert record == cls(**values) and hash(record) == hash(cls(**values))
    assert cls(*record) == record  # by position, in field order
    for name, value in values.items():
        assert getattr(record, name) == value
        changed = cls(**{**values, name: ("other", value)})
        assert changed != record
    for name in (*values, "unknown_field"):
        with pytest.raises(AttributeError):
            setattr(record, name, 0)
    shown = ", ".join(f"{name}={getattr(record, name)!r}" for name in cls._fields)
    assert repr(record) == f"{cls.__name__}({shown})"


def test_options_of_two_runs_differ_only_where_their_options_do() -> None:
    plain = SimulateOptions(network="vgg16")
    assert plain.batch == 1 and plain.optimizer == "sgd" and not plain.functional
    assert SimulateOptions(network="vgg16", check=True).functional
    assert plain != SimulateOptions(network="vgg16", quiet=True)

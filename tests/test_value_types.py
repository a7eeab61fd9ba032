"""The records that are NamedTuples rather than frozen dataclasses (so that a run's start-up
compiles no generated methods for them) keep the frozen dataclass's contract: immutable, equal
exactly when every field is, hashed alike, built by position or keyword, shown as a dataclass is.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from accel.cli.simulate import SimulateOptions
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import Mapping
from accel.memory.activation_plan import ActivationPlan
from accel.memory.axis import Axis
from accel.memory.bound_stack import Stack
from accel.memory.bound_terms import Chain
from accel.memory.bound_timing import Untimed
from accel.memory.bounds import Grid, _Source
from accel.memory.geometry import LayerGeometry
from accel.memory.loop_nest import _Tree
from accel.memory.model import MemoryTraffic
from accel.memory.nest import Nest
from accel.memory.streaming import Pieces
from accel.memory.tiling import Candidates, Tiling
from accel.memory.traffic import GridTraffic, OrderStack
from accel.memory.variant_bounds import Variant
from accel.model.frozen import Frozen
from accel.model.network import GemmView, Layer, LayerEntry, Network
from accel.model.op_base import Shape
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
    (Chain, {name: i for i, name in enumerate(Chain._fields)}),
    (_Source, {name: i for i, name in enumerate(_Source._fields)}),
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

# The hand-written frozen classes (`accel.model.frozen`): each class, its `__init__` fields in
# order, the ones a default fills with a fresh dict or list, and those left out of equality.
FROZEN: list[tuple[type[Frozen], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    (Stack, Stack._compared, (), ()),
    (Pieces, Pieces._compared, (), ()),
    (GridTraffic, (*GridTraffic._compared, "joint"), (), ("joint",)),
    (Grid, Grid.__slots__, ("untimed", "positions", "timed", "first_cut"),
     ("untimed", "positions", "parent", "timed", "first_cut")),
    (Axis, Axis._compared, (), ()),
    (LayerGeometry, LayerGeometry._compared, (), ()),
    (Nest, Nest._compared, ("pieces", "loads", "runs"), ()),
    (_Tree, _Tree._compared, ("leaves",), ()),
    (MemoryTraffic, MemoryTraffic.__slots__, (), ("schedule",)),
    (Shape, Shape._compared, (), ()),
    (Layer, Layer._compared, (), ()),
    (Network, Network._compared, (), ()),
    (ArrayMapping, ArrayMapping._compared, (), ()),
    (Mapping, Mapping._compared, (), ()),
]  # fmt: skip


def _plain(cls: type[Frozen], names: tuple[str, ...], ignored: tuple[str, ...]) -> type[Any]:
    """The frozen dataclass `cls` was: its fields in order, `ignored` out of equality and repr."""
    fields = [(name, Any, dataclasses.field(compare=name not in ignored, repr=name not in ignored))
              for name in names]  # fmt: skip
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=True)


@pytest.mark.parametrize(
    ("cls", "names", "fresh", "ignored"), FROZEN, ids=[cls.__name__ for cls, *_ in FROZEN]
)
def test_a_hand_written_record_keeps_the_frozen_dataclass_contract(
    cls: type[Any], names: tuple[str, ...], fresh: tuple[str, ...], ignored: tuple[str, ...]
) -> None:
    plain = _plain(cls, names, ignored)
    values = {name: i for i, name in enumerate(names)}
    record, same = cls(*values.values()), plain(*values.values())
    assert cls(**values) == record and repr(record) == repr(same)
    assert hash(record) == hash(same) == hash(cls(**values))
    assert record != same and record.__eq__(same) is NotImplemented
    for name, value in values.items():
        assert getattr(record, name) == value
        changed = cls(**{**values, name: ("other", value)})
        assert (changed == record) == (name in ignored)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, name, 0)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(record, name)
    with pytest.raises(AttributeError):
        record.unknown_field = 0
    for copied in (pickle.loads(pickle.dumps(record)), copy.copy(record), copy.deepcopy(record)):
        assert copied == record and type(copied) is cls
        assert [getattr(copied, name) for name in names] == list(values.values())
    required = {name: value for name, value in values.items() if name not in fresh}
    first, second = cls(**required), cls(**required)
    for name in fresh:
        assert getattr(first, name) in ({}, [])
        assert getattr(first, name) is not getattr(second, name)  # one per instance


def test_an_axis_caches_its_values_as_the_dataclass_did() -> None:
    """Values cached on an `Axis` (a plain attribute after the first read), as frozen
    dataclasses allow `cached_property`; equal axes share a part."""
    axis = Axis(size=10, outputs=5, kernel=3, stride=2, dilation=1, pad_before=1)
    assert axis.whole == 10 and axis.each_output == (14, 3) and "whole" in vars(axis)
    assert axis.part(0, 1) is Axis(10, 5, 3, 2, 1, 1).part(0, 1)
    geometry = LayerGeometry(2, 3, axis, axis)
    assert geometry.m == 2 * 25 and geometry.image_box == geometry.image_box
    copied = pickle.loads(pickle.dumps(geometry))
    assert copied == geometry and vars(copied) == vars(geometry)  # the cached values too


def test_a_record_keeps_its_hash_but_leaves_it_out_of_pickles_and_copies() -> None:
    """A record with an instance dict (a geometry, an axis) keeps its hash once worked out;
    pickles and copies leave it out (a string's hash differs from process to process) and work
    the same hash out again."""
    axis = Axis(size=10, outputs=5, kernel=3, stride=2, dilation=1, pad_before=1)
    geometry = LayerGeometry(2, 3, axis, axis)
    fresh = Axis(10, 5, 3, 2, 1, 1)
    expected = hash((2, 3, fresh, fresh))  # the fields' hash, as a dataclass's
    assert hash(geometry) == expected == hash(geometry)
    assert "_kept_hash_value" in vars(geometry) and "_kept_hash_value" in vars(axis)
    assert b"_kept_hash_value" not in pickle.dumps(geometry)
    for copied in (pickle.loads(pickle.dumps(geometry)), copy.copy(geometry),
                   copy.deepcopy(geometry)):  # fmt: skip
        assert "_kept_hash_value" not in vars(copied) and copied == geometry
        assert hash(copied) == expected


def test_a_tiling_keeps_the_frozen_dataclass_contract_and_its_check() -> None:
    """`Tiling` (hand-written: it checks `g_tile` when built) is equal, hashed and shown as the
    dataclass was, `replace` builds a checked copy as `dataclasses.replace` did."""
    plain = _plain(Tiling, Tiling._compared, ())
    values = ("ws", "mkn", 49, 9, 1, 1, 1, 1, 96, 49, 13, 49)
    tiling, same = Tiling(*values), plain(*values, (), (), 1)
    assert repr(tiling) == repr(same) and hash(tiling) == hash(same)
    assert tiling == Tiling(*values, streamed=(), streamed_passes=(), g_tile=1)
    assert pickle.loads(pickle.dumps(tiling)) == tiling == copy.deepcopy(tiling)
    grouped = tiling.replace(g_tile=4, ifmap_tile_bytes=4 * 49)
    assert grouped == Tiling(*values[:9], 4 * 49, *values[10:], g_tile=4) != tiling
    assert tiling.g_tile == 1  # unchanged
    with pytest.raises(ValueError, match="g_tile"):
        tiling.replace(g_tile=97)
    with pytest.raises(ValueError, match="g_tile"):
        Tiling("ws", "mkn", 49, 9, 1, 2, 1, 1, 96, 49, 13, 49, g_tile=2)  # M cut
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiling.g_tile = 2  # type: ignore[misc]


def test_a_memory_traffic_copy_changes_only_what_it_names() -> None:
    """`MemoryTraffic.replace`, as `dataclasses.replace` was: every other field kept, the
    schedule (out of equality) too."""
    traffic = MemoryTraffic(1, 2, 3, 4, 5, 6, bound="memory", tile_steps=7, schedule=None)
    changed = traffic.replace(dram_weight_bytes=20, stall_cycles=60)
    assert changed == MemoryTraffic(1, 20, 3, 4, 5, 60, bound="memory", tile_steps=7)
    assert (traffic.dram_weight_bytes, changed.dram_bytes) == (2, 1 + 20 + 4 + 3)
    marked = traffic.replace(schedule="a schedule")
    assert marked == traffic and marked.schedule == "a schedule"
    assert marked.replace(bound="compute").schedule == "a schedule"

"""Records (accel.user_input.record): frozen, compared and hashed by value, and the pydantic
calls the code makes on operators and chips behave as pydantic's did."""

from __future__ import annotations

import copy
import pickle

import pytest
from pydantic import ValidationError

from accel.config import ArrayConfig, BufferConfig, ChipConfig, SramConfig
from accel.model.ops import Clip, Conv
from accel.model.pool_ops import MaxPool


def test_a_record_is_frozen() -> None:
    conv = Conv(out_channels=8, kernel=3)
    with pytest.raises(AttributeError, match="Conv is frozen: kernel cannot be set"):
        conv.kernel = (1, 1)  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del conv.groups


def test_equal_values_are_equal_records_with_one_hash() -> None:
    assert Conv(out_channels=8, kernel=3) == Conv(out_channels=8, kernel=[3, 3])
    assert hash(Conv(out_channels=8, kernel=3)) == hash(Conv(out_channels=8, kernel=(3, 3)))
    assert Conv(out_channels=8, kernel=3) != Conv(out_channels=9, kernel=3)
    assert MaxPool(kernel=2) != Conv(out_channels=1, kernel=2, kind="conv")
    assert len({ChipConfig(), ChipConfig(), ChipConfig(name="x")}) == 2


def test_a_hash_is_kept_but_never_carried_to_a_changed_copy() -> None:
    chip = ChipConfig()
    plain = hash(type(chip)) + hash(tuple(chip.__dict__.values()))
    assert hash(chip) == plain and chip._hash == plain and hash(chip) == hash(ChipConfig())
    assert "_hash" not in chip.__dict__ and chip.model_dump() == ChipConfig().model_dump()
    named = chip.model_copy(update={"name": "other"})
    assert hash(named) == hash(ChipConfig(name="other")) != plain
    restored = pickle.loads(pickle.dumps(named))
    assert hash(restored) == hash(named) and restored == named


def test_a_record_survives_pickle_and_copies() -> None:
    chip = ChipConfig.from_dict({"cores": [{"array": {"rows": 8}}, {}]})
    for again in (pickle.loads(pickle.dumps(chip)), copy.deepcopy(chip), copy.copy(chip)):
        assert again == chip and hash(again) == hash(chip)
        assert again.model_fields_set == {"cores"}


def test_model_copy_changes_fields_without_validating() -> None:
    pool = MaxPool(kernel=2, stride=2)
    same = pool.model_copy(update={"padding": "same", "stride": 5})
    assert (same.padding, same.stride, same.kernel) == ("same", 5, (2, 2))  # kept as given
    assert pool.padding == (0, 0, 0, 0)
    assert same.model_fields_set == {"kernel", "stride", "padding"}


def test_model_dump_as_pydantic_dumps() -> None:
    clip = Clip(minimum=0.0, maximum=float("inf"))
    assert clip.model_dump(mode="json", exclude_defaults=True) == {
        "minimum": 0.0, "maximum": float("inf")
    }
    dumped = Conv(out_channels=8, kernel=3).model_dump()
    assert dumped["kernel"] == (3, 3) and dumped["out_channels"] == 8
    assert Conv(out_channels=8, kernel=3).model_dump(mode="json")["kernel"] == [3, 3]
    assert ChipConfig().model_dump()["sram"]["ifmap"] == BufferConfig(size_kib=64).model_dump()


def test_a_record_given_as_a_field_is_taken_as_it_is_even_when_pydantic_validates() -> None:
    array = ArrayConfig(rows=8)
    chip = ChipConfig(array=array, clock_mhz="500")  # the string needs pydantic
    assert chip.array is array and chip.clock_mhz == 500.0
    with pytest.raises(ValidationError, match=r"greater than or equal to 0\.001"):
        ChipConfig(array=array, sram=SramConfig(ifmap=BufferConfig(size_kib=1)), clock_mhz=0)


def test_defaults_and_descriptions_are_the_fields() -> None:
    fields = ArrayConfig.model_fields
    assert fields["rows"].default == 32 and fields["rows"].rules == {"gt": 0, "le": 65536}
    assert fields["rows"].annotation is int and not fields["rows"].is_required()
    assert BufferConfig.model_fields["size_kib"].is_required()
    assert "PE rows" in (fields["rows"].description or "")


def test_field_annotations_resolve_as_get_type_hints_does() -> None:
    """`fields_of` evaluates each class's field annotations in one go; every record class's
    come out as typing.get_type_hints gives them (the same types, `X | None`, Literal, tuples)."""
    import importlib
    import typing

    from accel.user_input.record import Record, _field_hints

    for module in ("accel.api", "accel.sweep.plan", "accel.io.sources"):  # their records
        importlib.import_module(module)

    def subclasses(cls: type[Record]) -> list[type[Record]]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    classes = subclasses(Record)
    assert len(classes) > 30 and ChipConfig in classes and Conv in classes
    for cls in classes:
        expected = typing.get_type_hints(cls)
        found = _field_hints(cls)
        assert found == {name: expected[name] for name in cls._fields}, cls
    assert _field_hints(BufferConfig)["read_pj_per_byte"] == float | None

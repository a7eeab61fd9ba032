"""Chip configs: defaults, shipped files, and one test per validation rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from pydantic import BaseModel

from accel.config import BufferConfig, ChipConfig
from accel.errors import InputError

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def test_default_yaml_is_the_embedded_default() -> None:
    assert ChipConfig.from_yaml(REPO / "configs" / "default.yaml") == ChipConfig()


def _sets(model: Any) -> list[set[str]]:
    """The fields set on `model` and on each of its sections, in order."""
    sections = [getattr(model, name) for name in type(model).model_fields]
    nested = [fields for v in sections if isinstance(v, BaseModel) for fields in _sets(v)]
    return [model.model_fields_set, *nested]


def test_the_embedded_default_is_a_validated_default_chip() -> None:
    """`ChipConfig()` is assembled without pydantic's validators; it must equal a validated
    default in every value (and its type: 64.0 is not 64), every set field, its hash."""
    assembled, validated = ChipConfig(), ChipConfig.model_validate({})
    assert assembled == validated and hash(assembled) == hash(validated)
    assert json.dumps(assembled.model_dump()) == json.dumps(validated.model_dump())
    assert _sets(assembled) == _sets(validated)
    assert ChipConfig(name="x") == validated.model_copy(update={"name": "x"})


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_field_values_are_the_model_dump(path: Path) -> None:
    for chip in (ChipConfig(), ChipConfig.from_yaml(path)):
        assert json.dumps(chip.field_values()) == json.dumps(chip.model_dump())


def test_default_chip_is_the_documented_edge_npu(chip: ChipConfig) -> None:
    assert (chip.array.rows, chip.array.cols, chip.array.dataflow) == (32, 32, "ws")
    assert chip.sram.buffer_for("ifmap").size_bytes == 64 * 1024
    assert chip.sram.buffer_for("weight").size_bytes == 64 * 1024
    assert chip.sram.buffer_for("ofmap").size_bytes == 32 * 1024
    assert chip.dram.bandwidth_bytes_per_cycle == 16
    assert chip.dram_bandwidth_gb_per_s == 16.0
    assert chip.clock_mhz == 1000


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_load(path: Path) -> None:
    config = ChipConfig.from_yaml(path)
    assert config.name == path.stem


def test_tpu_v1_like_follows_the_paper() -> None:
    tpu = ChipConfig.from_yaml(REPO / "configs" / "tpu_v1_like.yaml")
    assert (tpu.array.rows, tpu.array.cols, tpu.clock_mhz) == (256, 256, 700)
    assert tpu.sram.buffer_for("ifmap").size_kib == 24 * 1024
    assert tpu.sram.is_shared("ifmap")
    assert tpu.dram_bandwidth_gb_per_s == pytest.approx(34, rel=0.01)


def test_eyeriss_like_has_a_108_kib_global_buffer() -> None:
    eyeriss = ChipConfig.from_yaml(REPO / "configs" / "eyeriss_like.yaml")
    assert (eyeriss.array.rows, eyeriss.array.cols, eyeriss.clock_mhz) == (12, 14, 200)
    assert all(eyeriss.sram.buffer_for(op).size_kib == 108 for op in ("ifmap", "weight", "ofmap"))


def test_double_buffered_tile_is_half_the_buffer() -> None:
    assert BufferConfig(size_kib=64).tile_bytes == 32 * 1024
    assert BufferConfig(size_kib=64, double_buffered=False).tile_bytes == 64 * 1024


def test_with_values_changes_a_dotted_field(chip: ChipConfig) -> None:
    bigger = chip.with_values({"array.rows": 64, "dram.bandwidth_bytes_per_cycle": 32})
    assert (bigger.array.rows, bigger.dram.bandwidth_bytes_per_cycle) == (64, 32)
    assert chip.array.rows == 32  # the original is untouched


def test_with_values_rejects_unknown_path(chip: ChipConfig) -> None:
    with pytest.raises(InputError, match=r"chip field 'array\.rowz' does not exist"):
        chip.with_values({"array.rowz": 64})


def test_unknown_field_suggests_the_closest(write_yaml) -> None:  # type: ignore[no-untyped-def]
    path = write_yaml("array:\n  rwos: 16\n")
    with pytest.raises(
        InputError, match=r"array\.rwos is not a known field \(did you mean 'rows'\?\)"
    ):
        ChipConfig.from_yaml(path)


def test_negative_size_names_field_rule_and_value(write_yaml) -> None:  # type: ignore[no-untyped-def]
    path = write_yaml("sram:\n  ifmap: {size_kib: -4}\n")
    with pytest.raises(InputError, match=r"sram\.ifmap\.size_kib must be >= 0\.0009765625, not -4"):
        ChipConfig.from_yaml(path)


def test_zero_rows_is_rejected(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"array\.rows must be > 0, not 0"):
        ChipConfig.from_yaml(write_yaml("array: {rows: 0}\n"))


def test_wrong_type_is_rejected(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"array\.cols must be an integer, not 'wide'"):
        ChipConfig.from_yaml(write_yaml("array: {cols: wide}\n"))


def test_unknown_dataflow_lists_the_valid_ones(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError,
                       match=r"array\.dataflow must be one of 'os', 'ws', 'is' or 'rs'"):
        ChipConfig.from_yaml(write_yaml("array: {dataflow: xs}\n"))


def test_undersized_policy_is_error_or_stream(write_yaml) -> None:  # type: ignore[no-untyped-def]
    assert ChipConfig().sram.undersized == "error"
    assert ChipConfig.from_yaml(write_yaml("sram: {undersized: stream}\n")).sram.undersized == "stream"
    with pytest.raises(InputError, match=r"sram\.undersized must be one of 'error' or 'stream'"):
        ChipConfig.from_yaml(write_yaml("sram: {undersized: spill}\n"))


def test_bad_yaml_syntax_names_line_and_column(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"file\.yaml:\d+:\d+: invalid YAML"):
        ChipConfig.from_yaml(write_yaml("array:\n  rows: [1\n"))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"chip config file '.*nope\.yaml' does not exist"):
        ChipConfig.from_yaml(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"the top level must be a mapping, not list"):
        ChipConfig.from_yaml(write_yaml("- 1\n- 2\n"))


def test_operand_without_buffer_needs_unified(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        InputError, match=r"weight needs a buffer: set sram\.weight or sram\.unified"
    ):
        ChipConfig.from_yaml(write_yaml("sram: {weight: null}\n"))


def test_accumulator_width_is_bounded(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"array\.accumulator_bits must be >= 8, not 4"):
        ChipConfig.from_yaml(write_yaml("array: {accumulator_bits: 4}\n"))


def test_json_schema_describes_fields_with_units() -> None:
    schema = ChipConfig.model_json_schema()
    rows = schema["$defs"]["ArrayConfig"]["properties"]["rows"]
    assert rows["exclusiveMinimum"] == 0
    assert "PE rows" in rows["description"]
    bandwidth = schema["$defs"]["DramConfig"]["properties"]["bandwidth_bytes_per_cycle"]
    assert "bytes per" in bandwidth["description"]

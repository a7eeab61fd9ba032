"""The area model: a PE's MAC and registers and the SRAM's cells at 45 nm, with the chip's
overrides; the summary and the sweep table report the same figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_chip, load_network
from accel.perf.area import adder_area_um2, chip_area, pe_area_um2, sram_area_um2_per_kib
from accel.results import write_results
from accel.simulation import simulate_network


def test_default_chip_area_from_the_cited_figures() -> None:
    area = chip_area(ChipConfig())
    # 8-bit multiply 282 + 32-bit add 137 + (8 ifmap + 8 weight + 32 psum + 8 shadow weight)
    # flip-flops of 4.522 µm² each
    assert area.pe_um2 == pytest.approx(282 + 137 + 56 * 4.522)
    assert area.pe_um2 == pytest.approx(672.232)
    assert area.array_mm2 == pytest.approx(0.688366, abs=1e-6)  # 1024 PEs
    # 8,192 cells of 0.346 µm² at 50% array efficiency, 160 KiB
    assert sram_area_um2_per_kib() == pytest.approx(5668.864)
    assert area.sram_mm2 == pytest.approx(0.907018, abs=1e-6)
    assert area.total_mm2 == 1.595384


@pytest.mark.parametrize(
    ("bits", "um2"),
    [(8, 36.0), (12, 51.5), (16, 67.0), (24, 102.0), (32, 137.0), (48, 207.0), (64, 277.0)],
)
def test_adder_interpolates_horowitz_adders_in_bits(bits: int, um2: float) -> None:
    assert adder_area_um2(bits) == pytest.approx(um2)


@pytest.mark.parametrize(
    ("array", "registers_bits"),
    [
        ({"dataflow": "ws"}, 56),  # ifmap, weight, psum + shadow weight
        ({"dataflow": "is"}, 56),  # + shadow ifmap
        ({"dataflow": "os"}, 80),  # + shadow partial sum (32 bits)
        ({"dataflow": "os", "fold_overlap": False}, 48),  # no shadow register
        ({"accumulator_bits": 16}, 40),  # 8 + 8 + 16 + 8
    ],
)
def test_pe_registers_follow_dataflow_overlap_and_accumulator(
    array: dict[str, object], registers_bits: int
) -> None:
    chip = ChipConfig.from_dict({"array": array})
    adder = adder_area_um2(chip.array.accumulator_bits)
    assert pe_area_um2(chip) == pytest.approx(282 + adder + registers_bits * 4.522)


@pytest.mark.parametrize(
    ("precision", "um2"),
    [("fp16", 1640 + 4184 + 80 * 4.522), ("bf16", 1640 + 4184 + 80 * 4.522),
     ("fp32", 7700 + 4184 + 128 * 4.522)],
)  # fmt: skip
def test_a_float_pe_is_a_float_multiplier_and_an_fp32_adder(precision: str, um2: float) -> None:
    """ws with fold overlap: ifmap, weight and its shadow at the precision, an fp32 psum."""
    chip = ChipConfig.model_validate({"array": {"precision": precision}})
    assert pe_area_um2(chip) == pytest.approx(um2)


def test_stated_pe_and_sram_areas_replace_the_model() -> None:
    chip = ChipConfig.from_dict({"area": {"pe_um2": 1000, "sram_um2_per_kib": 2000}})
    area = chip_area(chip)
    assert (area.array_mm2, area.sram_mm2) == (pytest.approx(1.024), pytest.approx(0.32))
    assert area.total_mm2 == 1.344
    half = chip_area(ChipConfig.from_dict({"area": {"pe_um2": 500}}))
    assert half.total_mm2 == pytest.approx(0.512 + 0.907018, abs=1e-6)


def test_unified_buffer_counts_once() -> None:
    tpu = load_chip("tpu_v1_like")  # 256×256 PEs; 24 MiB unified + 256 KiB weight + 4 MiB ofmap
    area = chip_area(tpu)
    assert area.sram_kib == tpu.sram.total_bytes / 1024 == 28928
    assert area.total_mm2 == pytest.approx(65536 * 672.232e-6 + 28928 * 5668.864e-6, abs=1e-6)


@pytest.mark.parametrize("field", ["pe_um2", "sram_um2_per_kib"])
def test_stated_areas_must_be_positive(field: str) -> None:
    with pytest.raises(InputError, match=rf"area\.{field} must be > 0, not 0"):
        ChipConfig.from_dict({"area": {field: 0}})


def test_summary_reports_the_area(tmp_path: Path) -> None:
    result = simulate_network(load_network("lenet5"), ChipConfig(), 1)
    assert result.summary()["area_mm2"] == 1.595384
    write_results(result, tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["area_mm2"] == 1.595384
    chip = ChipConfig.from_yaml(tmp_path / "chip.yaml")  # the chip as written reloads
    assert chip == ChipConfig()

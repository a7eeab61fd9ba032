"""Energy per component from event counts, Horowitz defaults and per-buffer overrides."""

from __future__ import annotations

import math

import pytest
from conftest import chip_with, single_layer

from accel.config import BufferConfig, ChipConfig
from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.memory.model import model_memory
from accel.model.ops import FullyConnected
from accel.perf.energy import layer_energy, sram_pj_per_byte
from accel.perf.timing import time_layer
from accel.simulation import simulate_network


@pytest.mark.parametrize(
    ("kib", "pj"),
    [(8, 10 / 8), (32, 20 / 8), (1024, 100 / 8), (64, 2.5 * 2 ** (math.log(5) / math.log(32)))],
)
def test_sram_energy_follows_horowitz_through_the_buffer_size(kib: float, pj: float) -> None:
    assert sram_pj_per_byte(BufferConfig(size_kib=kib)) == pytest.approx(pj)


def test_bigger_buffers_cost_more_per_byte() -> None:
    sizes = [1, 4, 8, 16, 32, 128, 1024, 24576]
    energies = [sram_pj_per_byte(BufferConfig(size_kib=size)) for size in sizes]
    assert energies == sorted(energies)


def _fc_energy(chip: ChipConfig, cycles: int = 1000) -> dict[str, float]:
    # FC 64 → 16 on the default 32×32 ws array: two row folds, everything fits on chip.
    layer = single_layer(FullyConnected(out_features=16), 64, 1)
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    assert (timing.sram_ifmap_reads, timing.sram_weight_reads) == (64, 1024)
    assert (timing.sram_ofmap_writes, timing.sram_ofmap_reads) == (32, 16)
    assert (memory.dram_ifmap_bytes, memory.dram_weight_bytes) == (64, 1024 + 64)
    energy = layer_energy(mapping, timing, memory, cycles, chip)
    return energy._asdict() | {"total": energy.total_pj}


def test_layer_energy_adds_up_every_event() -> None:
    energy = _fc_energy(ChipConfig())
    big = 2.5 * 2 ** (math.log(5) / math.log(32))  # 64 KiB ifmap / weight buffers
    assert energy["mac_pj"] == pytest.approx(1024 * 0.3)
    assert energy["vector_pj"] == 0
    assert energy["sram_ifmap_pj"] == pytest.approx((64 + 64) * big)  # array reads + DMA fills
    assert energy["sram_weight_pj"] == pytest.approx((1024 + 1088) * big)
    # 32 KiB ofmap buffer: int32 accumulators (16 partial sums read back): 32 writes + 16 reads
    # of 4 bytes, and the DMA drains 16 int8 outputs.
    assert energy["sram_ofmap_pj"] == pytest.approx((32 * 4 + 16 * 4 + 16) * 2.5)
    assert energy["dram_pj"] == pytest.approx((64 + 1088 + 16) * 250)
    assert energy["leakage_pj"] == 1000 * 10
    parts = sum(v for k, v in energy.items() if k != "total")
    assert energy["total"] == pytest.approx(parts)


def test_buffer_energies_override_the_chip_wide_ones() -> None:
    chip = chip_with(
        sram__weight__read_pj_per_byte=1.0,
        sram__weight__write_pj_per_byte=2.0,
        energy__sram_read_pj_per_byte=5.0,
    )
    energy = _fc_energy(chip)
    assert energy["sram_weight_pj"] == pytest.approx(1024 * 1.0 + 1088 * 2.0)
    assert energy["sram_ifmap_pj"] == pytest.approx(128 * 5.0)  # write defaults to the read


def test_leakage_runs_over_the_end_to_end_timeline() -> None:
    result = simulate_network(load_network("lenet5"), ChipConfig())
    summary = result.summary()
    assert summary["energy_leakage_uj"] == pytest.approx(summary["total_cycles"] * 10e-6, abs=1e-3)
    parts = [key for key in summary if key.startswith("energy_") and key.endswith("_uj")]
    assert len(parts) == 8  # energy_uj and its seven components
    assert sum(summary[k] for k in parts if k != "energy_uj") == pytest.approx(
        summary["energy_uj"], abs=0.01
    )
    joules = summary["energy_uj"] * 1e-6
    assert summary["tops_per_w"] == pytest.approx(2 * summary["macs"] / joules / 1e12, rel=1e-3)

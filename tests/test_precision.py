"""MAC precisions: bytes per element through SRAM fit, DRAM traffic, footprint and energy."""

from __future__ import annotations

import pytest
from conftest import chip_with, run_accel, single_layer

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.memory.model import every_candidate, model_memory
from accel.model.ops import Conv, FullyConnected
from accel.perf.energy import layer_energy
from accel.perf.timing import time_layer
from accel.simulation import simulate_network

BIG_SRAM = {"sram__ifmap__size_kib": 1024, "sram__weight__size_kib": 1024,
            "sram__ofmap__size_kib": 1024}  # fmt: skip
WIDTH = {"int8": 1, "fp16": 2, "bf16": 2, "fp32": 4}


@pytest.mark.parametrize("precision", ["int8", "fp16", "bf16", "fp32"])
def test_every_operand_is_as_wide_as_the_precision_and_biases_stay_four_bytes(
    precision: str,
) -> None:
    # 3×3 conv, 16 → 32 channels on 28×28 with everything on chip: each tensor crosses once.
    chip = chip_with(array__precision=precision, **BIG_SRAM)
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=32), 16, 28)
    mapping = map_layer(layer, chip)
    memory = model_memory(mapping, time_layer(mapping, chip), chip)
    width = WIDTH[precision]
    assert memory.dram_ifmap_bytes == 16 * 28 * 28 * width
    assert memory.dram_weight_bytes == 32 * 144 * width + 32 * 4
    assert memory.dram_ofmap_write_bytes == 32 * 28 * 28 * width
    assert memory.dram_ofmap_read_bytes == 0


def test_a_tile_that_fits_in_int8_is_cut_in_fp32() -> None:
    # FC 512 → 32 for 8 images: 16,512 weight bytes in int8 fit one 32 KiB half; in fp32
    # (65,664) they do not, and the largest candidate K-tile that fits is 128 (128·32·4 + 128
    # bias bytes; 256 would need 32,896). (The search may still cut int8's K, when the
    # K-tiles' loads overlapping compute make the layer faster.)
    layer = single_layer(FullyConnected(out_features=32), 512, 1)
    largest = {}
    for precision in ("int8", "fp32"):
        chip = chip_with(array__precision=precision)
        mapping = map_layer(layer, chip, 8)
        timing = time_layer(mapping, chip)
        memory = model_memory(mapping, timing, chip)
        assert memory.tiling is not None
        candidates = every_candidate(mapping, timing, chip)
        largest[precision] = max(tiling.k_tile for tiling, *_ in candidates)
        assert memory.tiling.k_tile <= largest[precision]
    assert largest == {"int8": 512, "fp32": 128}


def test_fp32_refuses_what_int8_fits_when_the_buffer_is_tiny() -> None:
    layer = single_layer(FullyConnected(out_features=32), 64, 1)
    small = {"sram__weight__size_kib": 2, "sram__weight__double_buffered": False}
    for precision in ("int8", "fp32"):
        chip = chip_with(array__precision=precision, **small)
        mapping = map_layer(layer, chip)
        if precision == "int8":
            model_memory(mapping, time_layer(mapping, chip), chip)
        else:
            with pytest.raises(InputError, match=r"weight buffer \(2048 bytes per half\).* tile of 4224 bytes"):
                model_memory(mapping, time_layer(mapping, chip), chip)


@pytest.mark.parametrize(
    ("precision", "mac_pj", "vector_pj"),
    [("int8", 0.3, 0.1), ("fp16", 2.0, 0.9), ("bf16", 2.0, 0.9), ("fp32", 4.6, 0.9)],
)
def test_energy_per_mac_and_per_sram_byte_follows_the_precision(
    precision: str, mac_pj: float, vector_pj: float
) -> None:
    chip = chip_with(array__precision=precision)
    # FC 64 → 16 on the 32×32 ws array: 1024 MACs, 64 ifmap and 1024 weight element reads.
    layer = single_layer(FullyConnected(out_features=16), 64, 1)
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    energy = layer_energy(mapping, timing, memory, 0, chip)
    assert energy.mac_pj == pytest.approx(1024 * mac_pj)
    assert chip.energy.vector_op_pj_at(chip.array.precision) == vector_pj
    big = ChipConfig().sram.ifmap
    from accel.perf.energy import sram_pj_per_byte

    width = WIDTH[precision]
    assert energy.sram_ifmap_pj == pytest.approx(
        (64 * width + memory.dram_ifmap_bytes) * sram_pj_per_byte(big)
    )


def test_footprint_and_traffic_of_a_network_grow_with_the_precision() -> None:
    network = load_network("resnet18")
    summaries = {
        precision: simulate_network(network, chip_with(array__precision=precision)).summary()
        for precision in ("int8", "bf16", "fp32")
    }
    weights = sum(layer.weight_elements for layer in network.layers)
    biases = sum(layer.bias_elements for layer in network.layers)
    assert weights == 11_678_912  # ResNet-18: 11,689,512 params less 9,600 folded BN + biases
    for precision, summary in summaries.items():
        assert summary["weight_bytes"] == weights * WIDTH[precision] + 4 * biases
        assert summary["peak_activation_bytes"] == (
            summaries["int8"]["peak_activation_bytes"] * WIDTH[precision]
        )
    assert summaries["bf16"]["total_cycles"] > summaries["int8"]["total_cycles"]
    assert summaries["fp32"]["dram_read_bytes"] > 1.9 * summaries["bf16"]["dram_read_bytes"]


def test_float_precisions_accumulate_in_fp32() -> None:
    with pytest.raises(InputError, match="accumulator_bits must be 32 for bf16 precision"):
        ChipConfig.from_dict({"array": {"precision": "bf16", "accumulator_bits": 24}})
    with pytest.raises(InputError, match="precision"):
        ChipConfig.from_dict({"array": {"precision": "int4"}})


def test_check_is_refused_on_a_float_chip(write_yaml) -> None:  # type: ignore[no-untyped-def]
    chip = write_yaml("array: {precision: bf16}\n")
    result = run_accel("simulate-network", "-n", "lenet5", "-c", str(chip), "--check", "-q")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --check, --inputs and --dump run the int8 datapath: array.precision must be "
        "int8 for them, not 'bf16'"
    )

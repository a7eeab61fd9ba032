"""DRAM traffic with real reuse, compulsory traffic, the tiling choice, stalls and the roofline."""

from __future__ import annotations

import math

import pytest
from conftest import chip_with, chips, layers, single_layer, streaming_chips
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.mapper import map_layer
from accel.memory.candidates import Hashed
from accel.memory.geometry import LayerGeometry
from accel.memory.model import MemoryTraffic, clear_cache, compulsory_traffic, model_memory
from accel.model.network import Layer, LayerEntry, Network
from accel.model.ops import Conv, Flatten, FullyConnected, Shape
from accel.model.pool_ops import MaxPool
from accel.perf.timing import time_layer

BIG_SRAM = {"sram__ifmap__size_kib": 1024, "sram__weight__size_kib": 1024, "sram__ofmap__size_kib": 1024}


def memory_of(layer: Layer, chip: ChipConfig, batch: int = 1) -> MemoryTraffic:
    mapping = map_layer(layer, chip, batch)
    return model_memory(mapping, time_layer(mapping, chip), chip)


def traffic(memory: MemoryTraffic) -> tuple[int, int, int, int]:
    return (
        memory.dram_ifmap_bytes,
        memory.dram_weight_bytes,
        memory.dram_ofmap_write_bytes,
        memory.dram_ofmap_read_bytes,
    )


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize(
    ("op", "shape", "expected"),
    [
        # 3×3 conv, 16 → 32 channels on 28×28: ifmap 16·28·28, weights 32·144 + 32 int32
        # biases, ofmap 32·28·28; nothing twice although row tiles would re-read halos.
        (Conv(kernel=3, padding=1, out_channels=32), (16, 28), (12544, 4736, 25088, 0)),
        (FullyConnected(out_features=100), (256, 1), (256, 25600 + 400, 100, 0)),
        (Conv(kernel=3, padding=1, groups=8, out_channels=8), (8, 10), (800, 72 + 32, 800, 0)),
    ],
)
def test_when_everything_fits_traffic_is_compulsory(
    dataflow: str, op: Conv | FullyConnected, shape: tuple[int, int], expected: tuple[int, ...]
) -> None:
    chip = chip_with(array__dataflow=dataflow, **BIG_SRAM)
    memory = memory_of(single_layer(op, *shape), chip)
    assert traffic(memory) == expected
    assert memory.compulsory_dram_bytes == sum(expected)
    assert memory.tiling is not None and memory.tiling.passes("ifmap") == 1


def test_k_split_in_two_spills_partial_sums_exactly_once() -> None:
    # FC 512 → 32 for 8 images. Weights (512·32 + 32·4 = 16512 B) fit a weight half only as two
    # K-tiles of 256 (8320 B each); int32 outputs (8·32·4 = 1024 B) fit an ofmap half (512 B)
    # only as two M-tiles. Keeping weights resident (k outer, m inner) reads every weight once
    # and spills each output's partial sum once: 1024 B written and read back, not another
    # 16512 B of weights.
    chip = chip_with(
        sram__weight__size_kib=16.5, sram__ofmap__size_kib=1, dram__bandwidth_bytes_per_cycle=1
    )
    memory = memory_of(single_layer(FullyConnected(out_features=32), 512, 1), chip, batch=8)
    assert memory.tiling is not None
    assert (memory.tiling.k_tiles, memory.tiling.m_tiles, memory.tiling.loop_order) == (2, 2, "kmn")
    assert traffic(memory) == (4096, 16512, 256 + 1024, 1024)
    assert memory.tiling.passes("ofmap") == 2


def test_tiny_ifmap_buffer_refetches_halo_rows() -> None:
    # 3×3 conv, 8 → 8 channels on 16×16. The ifmap half (384 B) holds one output row's box
    # (3 input rows × 16 × 8 = 384 B) but not two rows' (512 B): each interior input row is
    # fetched by the three output rows that read it, edge rows by two.
    chip = chip_with(
        array__rows=8, array__cols=8, sram__ifmap__size_kib=0.75, sram__ofmap__size_kib=1
    )
    memory = memory_of(single_layer(Conv(kernel=3, padding=1, out_channels=8), 8, 16), chip)
    input_rows_fetched = 2 + 14 * 3 + 2
    assert memory.dram_ifmap_bytes == input_rows_fetched * 16 * 8 == 5888
    assert memory.compulsory_ifmap_bytes == 16 * 16 * 8
    assert traffic(memory)[1:] == (8 * 72 + 8 * 4, 8 * 256, 0)
    assert memory.tiling is not None and memory.tiling.m_tile == 16


def test_tiny_weight_buffer_rereads_the_ifmap_once_per_weight_column() -> None:
    # FC 64 → 64 at batch 64. A weight half (1280 B) holds a 32 × 32 tile (+ 32 biases), so
    # weights come in 2 K-tiles × 2 N-tiles and the ifmap in 2 K-tiles. Reading the 4 KiB
    # ifmap once per N-tile (2 passes) beats spilling 16 KiB of int32 partial sums.
    chip = chip_with(sram__weight__size_kib=2.5)
    memory = memory_of(single_layer(FullyConnected(out_features=64), 64, 1), chip, batch=64)
    assert traffic(memory) == (2 * 4096, 4352, 4096, 0)
    assert memory.tiling is not None
    assert (memory.tiling.k_tiles, memory.tiling.n_tiles, memory.tiling.passes("ifmap")) == (2, 2, 2)


def test_compulsory_ifmap_is_what_the_windows_read() -> None:
    strided = single_layer(Conv(kernel=1, stride=2, out_channels=4), 3, 8)
    assert compulsory_traffic(strided, 2) == (2 * 3 * 16, 12 + 16, 2 * 4 * 16)
    geometry = LayerGeometry.of(strided, 2)  # the caller's, where it has one
    assert compulsory_traffic(strided, 2, 1, geometry) == (2 * 3 * 16, 12 + 16, 2 * 4 * 16)
    pool = single_layer(MaxPool(kernel=2, stride=2), 3, 8)
    assert compulsory_traffic(pool, 1) == (192, 0, 48)


@settings(max_examples=80, deadline=None)
@given(layer=layers, chip=chips | streaming_chips, batch=st.integers(1, 3))
def test_actual_traffic_is_at_least_compulsory(layer: Layer, chip: ChipConfig, batch: int) -> None:
    try:
        memory = memory_of(layer, chip, batch)
    except InputError:
        return  # no tile fits this chip (tested separately)
    assert memory.dram_ifmap_bytes >= memory.compulsory_ifmap_bytes
    assert memory.dram_weight_bytes >= memory.compulsory_weight_bytes
    assert memory.dram_ofmap_write_bytes >= memory.compulsory_ofmap_bytes
    assert memory.dram_bytes >= memory.compulsory_dram_bytes
    assert memory.stall_cycles >= memory.refill_cycles >= 0
    tiling = memory.tiling
    assert tiling is not None
    whole = tiling.m_tiles == tiling.k_tiles == tiling.n_tiles == 1
    if whole and not tiling.streamed:  # a streamed operand is refetched even then
        assert memory.dram_bytes == memory.compulsory_dram_bytes


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=streaming_chips, batch=st.integers(1, 2))
def test_a_streamed_operand_crosses_the_channel_once_per_array_read(
    layer: Layer, chip: ChipConfig, batch: int
) -> None:
    """Streamed through an undersized buffer, an operand moves as often as the array reads it:
    the untiled fold schedule's SRAM reads (the timing model, equal to SCALE-Sim's), times the
    chunks of the streamed dimension when each chunk reloads the stationary operand."""
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    array, tiling = mapping.array, memory.tiling
    assume(array is not None and tiling is not None and tiling.streamed)
    assert array is not None and tiling is not None
    stationary = {"os": "ofmap", "ws": "weight", "is": "ifmap"}[array.dataflow]
    chunks = 1 if tiling.in_place(array) else tiling.trips(array.time_dim)
    reloads = {op: chunks if op == stationary else 1 for op in ("ifmap", "weight")}
    if "ifmap" in tiling.streamed:
        assert memory.dram_ifmap_bytes == timing.sram_ifmap_reads * reloads["ifmap"]
    if "weight" in tiling.streamed:  # int32 biases travel with each weight pass
        products = array.groups * array.k * array.n
        assert memory.dram_weight_bytes * products == (
            timing.sram_weight_reads * layer.weight_bytes * reloads["weight"]
        )
    if "ofmap" in tiling.streamed and array.dataflow != "os":  # every row fold's partial sums
        assert memory.dram_ofmap_read_bytes == 4 * timing.sram_ofmap_reads
    event(f"{array.dataflow}: {'+'.join(tiling.streamed)}")


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_infinite_bandwidth_means_no_stalls(layer: Layer, chip: ChipConfig) -> None:
    unlimited = chip.with_values(
        {"dram.bandwidth_bytes_per_cycle": math.inf, "dram.latency_cycles": 0}
    )
    try:
        memory = memory_of(layer, unlimited)
    except InputError:
        return
    assert (memory.stall_cycles, memory.refill_cycles) == (0, 0)
    assert memory.bound == "compute"


def test_fc_at_batch_1_is_memory_bound_by_its_weight_stream() -> None:
    # 2048 → 2048 FC: 4.2 MB of weights at 8 B/cycle take 525k cycles; a 64×64 array with
    # overlapped folds computes it in 66k, so the layer waits on DRAM for the rest.
    chip = chip_with(
        array__rows=64, array__cols=64, array__fold_overlap=True,
        dram__bandwidth_bytes_per_cycle=8,
    )
    layer = single_layer(FullyConnected(out_features=2048), 2048, 1)
    mapping = map_layer(layer, chip)
    compute = time_layer(mapping, chip).compute_cycles
    memory = model_memory(mapping, time_layer(mapping, chip), chip)
    transfer = memory.dram_bytes / chip.dram.bandwidth_bytes_per_cycle
    assert memory.bound == "memory"
    assert memory.arithmetic_intensity == pytest.approx(layer.macs / memory.dram_bytes)
    assert memory.arithmetic_intensity < 1 < chip.ridge_point_macs_per_byte == 512
    assert memory.stall_cycles == pytest.approx(transfer - compute, rel=0.01)
    assert compute + memory.stall_cycles == pytest.approx(transfer, rel=0.01)


def test_roofline_classifies_reuse_heavy_convs_as_compute_bound() -> None:
    chip = chip_with(**BIG_SRAM)
    conv = memory_of(single_layer(Conv(kernel=3, padding=1, out_channels=64), 64, 28), chip)
    assert conv.arithmetic_intensity > chip.ridge_point_macs_per_byte == 64
    assert conv.bound == "compute"
    pool = memory_of(single_layer(MaxPool(kernel=2, stride=2), 64, 28), chip)
    assert pool.bound == "memory"  # 4 ops per 1.25 bytes vs 32 ops per 16 bytes per cycle
    assert (pool.dram_ifmap_bytes, pool.dram_ofmap_write_bytes) == (64 * 28 * 28, 64 * 14 * 14)


def test_layers_that_move_nothing_cost_nothing() -> None:
    network = Network.build("flat", Shape(4, 2, 2), [LayerEntry("flat", Flatten())])
    memory = memory_of(network.layers[0], ChipConfig())
    assert (memory.dram_bytes, memory.stall_cycles, memory.bound, memory.schedule) == (
        0, 0, "", None,
    )


def test_output_stationary_partial_sums_may_stay_in_the_pes() -> None:
    # os, 12×14 array, 1 KiB ofmap buffer (512 B halves): a 12 × 14 tile of int32 partial sums
    # (672 B) does not fit, but a single-fold tile that streams its whole K before moving on
    # keeps the sums in the PEs and only sends 168 int8 outputs to the buffer.
    chip = chip_with(
        array__rows=12, array__cols=14, array__dataflow="os", sram__ifmap__size_kib=1,
        sram__weight__size_kib=1, sram__ofmap__size_kib=1,
    )
    layer = single_layer(Conv(kernel=3, out_channels=64, bias=False), 32, 14)
    memory = memory_of(layer, chip)
    tiling = memory.tiling
    assert tiling is not None
    moving = [dim for dim in tiling.loop_order if tiling.trips(dim) > 1]
    assert moving[-1] == "k" and tiling.m_tile <= 12 and tiling.n_tile <= 14
    assert tiling.ofmap_tile_bytes <= 512 < tiling.m_tile * tiling.n_tile * 4
    assert memory.dram_ofmap_read_bytes == 0


def test_chips_differing_in_dram_timing_share_plans_and_get_the_cold_answer() -> None:
    from accel.memory import model as memory
    from accel.memory import plans

    layer = single_layer(Conv(kernel=3, out_channels=64, padding=1), 32, 28)
    fast, slow = chip_with(dram__bandwidth_bytes_per_cycle=64), chip_with(
        dram__bandwidth_bytes_per_cycle=2, dram__latency_cycles=300, clock_mhz=400
    )

    def run(chip: ChipConfig) -> MemoryTraffic:
        mapping = map_layer(layer, chip)
        return model_memory(mapping, time_layer(mapping, chip), chip)

    memory.clear_cache()
    cold_slow = run(slow)
    memory.clear_cache()
    run(fast)
    planned = plans.layer_table.cache_info()
    warm_slow = run(slow)
    after = plans.layer_table.cache_info()
    assert (after.misses, after.hits) == (planned.misses, planned.hits + 1)
    assert warm_slow == cold_slow
    assert warm_slow.stall_cycles > run(fast).stall_cycles


@settings(max_examples=25, deadline=None)
@given(layer=layers, chip=chips | streaming_chips, other=chips | streaming_chips)
def test_a_layer_after_another_chip_gets_its_cold_answer(
    layer: Layer, chip: ChipConfig, other: ChipConfig
) -> None:
    """The stage caches are keyed on what each stage reads of the chip (candidate grid, loop
    orders' traffic, schedules, loop runs): a chip simulated after another that shares some of
    them gets exactly the answer it gets from empty caches."""
    from accel.memory import model as memory

    def run(target: ChipConfig) -> MemoryTraffic | str:
        mapping = map_layer(layer, target)
        try:
            return model_memory(mapping, time_layer(mapping, target), target)
        except InputError as err:
            return str(err)

    memory.clear_cache()
    cold = run(chip)
    memory.clear_cache()
    run(other)
    warm = run(chip)
    assert warm == cold
    if isinstance(cold, MemoryTraffic) and cold.schedule is not None:
        assert warm.schedule == cold.schedule  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "kib", "layer"),
    [({"dram__burst_bytes": 4096}, 16, single_layer(Conv(kernel=3, out_channels=128, padding=1), 64, 14)),
     ({"array__accumulator_bits": 16}, 4, single_layer(Conv(kernel=3, out_channels=48, padding=1), 24, 20)),
     ({"array__fold_overlap": False}, 4, single_layer(Conv(kernel=3, out_channels=48, padding=1), 24, 20)),
     ({"sram__ofmap__double_buffered": False}, 4, single_layer(Conv(kernel=3, out_channels=48, padding=1), 24, 20)),
     ({"sram__weight__size_kib": 16}, 4, single_layer(Conv(kernel=3, out_channels=48, padding=1), 24, 20))],
)  # fmt: skip
def test_each_chip_field_a_stage_reads_is_in_its_cache_key(
    change: dict[str, object], kib: int, layer: Layer
) -> None:
    """A chip simulated after one that differs only in `change` gets its cold answer (each case
    fails when that field is left out of its stage's cache key)."""
    from accel.memory import model as memory

    base = {f"sram__{buffer}__size_kib": kib for buffer in ("ifmap", "weight", "ofmap")}
    first, second = chip_with(**base), chip_with(**{**base, **change})
    memory.clear_cache()
    cold = memory_of(layer, second)
    memory.clear_cache()
    memory_of(layer, first)
    warm = memory_of(layer, second)
    assert warm == cold and warm.schedule == cold.schedule
    assert warm != memory_of(layer, first)  # the field matters to this layer


@settings(max_examples=25, deadline=None)
@given(layer=layers, chip=chips | streaming_chips,
       bandwidth=st.sampled_from([1.5, 3.0, 8.0, 48.6]), latency=st.sampled_from([0, 100, 300]))
def test_a_layer_at_another_dram_timing_is_what_a_fresh_model_gives(
    layer: Layer, chip: ChipConfig, bandwidth: float, latency: int
) -> None:
    """A chip that differs only in DRAM timing reuses the table's facts from the first chip,
    its kept schedules and their hashed memo keys among them: its layer is the one a model with
    every cache empty gives (same tiling, traffic, cycles and schedule)."""
    other = chip.with_values({"dram.bandwidth_bytes_per_cycle": bandwidth,
                              "dram.latency_cycles": latency})  # fmt: skip
    try:
        memory_of(layer, chip)
        again = memory_of(layer, other)
    except InputError:
        return
    clear_cache()
    assert again == memory_of(layer, other)
    assert again.schedule is not None


def test_a_hashed_key_is_equal_to_an_equal_value_hashed_again() -> None:
    key = Hashed(("tiling", (1, 2), 3))
    same, different = Hashed(("tiling", (1, 2), 3)), Hashed(("tiling", (1, 2), 4))
    assert (key == same, hash(key) == hash(same), key == different) == (True, True, False)
    assert {key: 5}[same] == 5
    assert key != ("tiling", (1, 2), 3)  # only another `Hashed` is equal

"""Deep loop nests for the schedule and replay property tests: a layer's picked tiling cut into
smaller tiles, in any loop order (edge tiles, middle indices, nested repeats)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from hypothesis import assume

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import map_layer
from accel.memory.geometry import LayerGeometry
from accel.memory.loop_nest import array_schedule
from accel.memory.model import model_memory
from accel.memory.tile_schedule import Schedule
from accel.memory.tiling import Tiling
from accel.model.network import Layer
from accel.perf.timing import time_layer


class Nest(NamedTuple):
    """A smaller tiling of one layer on one chip, with what `array_schedule` reads beside it."""

    tiling: Tiling
    geometry: LayerGeometry
    array: ArrayMapping
    chip: ChipConfig
    has_bias: bool
    compute_cycles: int

    def schedule(self) -> Schedule:
        return array_schedule(self.tiling, self.geometry, self.array, self.chip, self.has_bias,
                              self.compute_cycles)  # fmt: skip


def smaller_nest(
    layer: Layer, chip: ChipConfig, batch: int, cuts: tuple[int, int, int], order: str
) -> Nest | None:
    """The layer's picked tiling with each tile size divided by its cut, in loop `order`; None
    when no tile fits the chip."""
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    try:
        memory = model_memory(mapping, timing, chip)
    except InputError:
        return None
    tiling, array = memory.tiling, mapping.array
    assume(tiling is not None and array is not None)
    assert tiling is not None and array is not None
    m, k, n = (max(1, size // cut) for size, cut in
               zip((tiling.m_tile, tiling.k_tile, tiling.n_tile), cuts, strict=True))  # fmt: skip
    smaller = tiling.replace(
        loop_order=order, m_tile=m, k_tile=k, n_tile=n, g_tile=1,
        m_tiles=-(-array.m // m), k_tiles=-(-array.k // k), n_tiles=-(-array.n // n),
    )  # fmt: skip
    geometry = LayerGeometry.of(layer, batch)
    return Nest(smaller, geometry, array, chip, layer.bias_elements > 0, timing.compute_cycles)


# The chips of the pinned schedules (test_loop_nest) and replays (test_replay), as chip_with
# keywords.
PINNED_CHIPS = {
    "default": {},
    "8x8 ws, single-buffered ofmap": {
        "array__rows": 8, "array__cols": 8, "array__dataflow": "ws",
        "sram__ofmap__double_buffered": False, "sram__ifmap__size_kib": 4,
    },
    "4x8 is, streamed through 64-byte buffers": {
        "array__rows": 4, "array__cols": 8, "array__dataflow": "is",
        "sram__ifmap__size_kib": 0.0625, "sram__weight__size_kib": 0.0625,
        "sram__ofmap__size_kib": 0.0625, "sram__undersized": "stream",
    },
}  # fmt: skip


def pinned_nests(chip: ChipConfig) -> Iterator[tuple[str, str, Nest]]:
    """(layer name, loop order, nest) of the pinned set on `chip`: the array layers of LeNet-5
    and of MobileNetV2 and ResNet-18 at 32×32, each tiling cut smaller in three loop orders."""
    for name, resolution in (("lenet5", None), ("mobilenet_v2", 32), ("resnet18", 32)):
        parameters = None if resolution is None else {"resolution": resolution}
        for layer in load_network(name, parameters).layers:
            if map_layer(layer, chip).array is None:
                continue
            for cuts, order in (((1, 1, 1), "mkn"), ((2, 3, 2), "nkm"), ((3, 1, 2), "kmn")):
                nest = smaller_nest(layer, chip, 1, cuts, order)
                if nest is not None:
                    yield layer.name, order, nest

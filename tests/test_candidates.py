"""The candidate tilings of a layer and their fit: every loop order's validity at once against
one order at a time."""

from __future__ import annotations

import numpy as np
from conftest import chips, layers, streaming_chips
from hypothesis import assume, given, settings

from accel.config import ChipConfig
from accel.mapping.mapper import map_layer
from accel.memory import tile_fit
from accel.memory.candidates import NoFit, candidate_grid, fitting, valid, valid_orders
from accel.memory.geometry import LayerGeometry
from accel.memory.plans import compulsory_traffic
from accel.model.network import Layer


def _fitting(layer: Layer, chip: ChipConfig):  # type: ignore[no-untyped-def]
    """The layer's loop orders, their fit and its compulsory traffic (None: no array layer,
    or nothing fits)."""
    mapping = map_layer(layer, chip)
    if mapping.array is None:
        return None
    array, geometry = mapping.array, LayerGeometry.of(layer, 1)
    grid = candidate_grid(array, geometry)
    sizes = tile_fit.tile_bytes(grid, geometry, array, chip, layer.bias_elements > 0)
    compulsory = compulsory_traffic(layer, 1, chip.array.element_bytes, geometry)
    try:
        orders, _, fit = fitting(grid, geometry, sizes, array, chip, compulsory[1])
    except NoFit:
        return None
    return orders, fit, compulsory


@settings(max_examples=60, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_every_orders_validity_at_once_is_each_orders_own(layer: Layer, chip: ChipConfig) -> None:
    """`valid_orders` (the exact-traffic rule read off the orders' stacked bytes) against
    `valid` of one order at a time."""
    found = _fitting(layer, chip)
    assume(found is not None)
    orders, fit, compulsory = found
    fast = valid_orders(orders, fit, compulsory)
    plain = [valid(traffic, f, compulsory) for traffic, f in zip(orders, fit, strict=True)]
    assert fast.dtype == np.bool_
    assert fast.tolist() == np.array(plain).tolist()


def test_a_layer_that_fits_whole_keeps_only_its_exact_tilings() -> None:
    """A 3×3 conv whose every tensor fits the default buffers: only the candidates that fetch
    each tensor once and spill no partial sums stay valid, in every loop order that fits it."""
    from conftest import single_layer

    from accel.model.ops import Conv

    layer = single_layer(Conv(kernel=3, padding=1, out_channels=64), 32, 8)
    found = _fitting(layer, ChipConfig())
    assert found is not None
    orders, fit, compulsory = found
    fast = valid_orders(orders, fit, compulsory)
    assert all(f[-1, -1, -1] for f in fit)
    for o, traffic in enumerate(orders):
        bytes_ = traffic.bytes
        exact = ((bytes_["ifmap"] == compulsory[0]) & (bytes_["weight"] == compulsory[1])
                 & (bytes_["ofmap_read"] == 0))  # fmt: skip
        assert fast[o].tolist() == (fit[o] & exact).tolist()
    assert 0 < fast.sum() < np.array(fit).sum()

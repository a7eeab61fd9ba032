"""Weights plus live activations per layer, the peak, and what fits on chip."""

from __future__ import annotations

from conftest import residual_network

from accel.io.sources import load_network
from accel.memory.footprint import network_footprint
from accel.model.network import LayerEntry, Network
from accel.model.ops import Concat, Conv, Shape


def test_skip_connections_keep_their_source_alive() -> None:
    footprint = network_footprint(residual_network())
    live = [layer.live_activation_bytes for layer in footprint.layers]
    # a: input 192 + a 512; b: a + b; sum: a + b + sum; flat: sum (viewed flat); fc: sum + fc.
    assert live == [704, 1024, 1536, 512, 522]
    weights = [layer.weight_bytes for layer in footprint.layers]
    assert weights == [8 * 27 + 32, 8 * 72 + 32, 0, 0, 5120 + 40]
    assert footprint.peak_bytes == 5160 + 522
    assert (footprint.peak_activation_bytes, footprint.total_weight_bytes) == (1536, 6016)


def test_batch_scales_activations_and_bounds_the_batch_on_chip() -> None:
    footprint = network_footprint(residual_network(), batch=2)
    assert footprint.peak_activation_bytes == 2 * 1536
    assert footprint.fits(6016 + 3072) and not footprint.fits(6016 + 3071)
    assert footprint.max_batch(10_000) == (10_000 - 6016) // 1536 == 2
    assert footprint.max_batch(6000) == 0


def test_concat_branches_write_into_one_allocation() -> None:
    network = Network.build(
        "inception",
        Shape(4, 4, 4),
        [
            LayerEntry("b1", Conv(kernel=1, out_channels=2), ("input",)),
            LayerEntry("b2", Conv(kernel=1, out_channels=2), ("input",)),
            LayerEntry("cat", Concat(), ("b1", "b2")),
            LayerEntry("out", Conv(kernel=1, out_channels=4)),
        ],
    )
    live = [layer.live_activation_bytes for layer in network_footprint(network).layers]
    # input 64 lives until b2; the concat's 64 bytes from b1 on; out adds 64.
    assert live == [64 + 64, 64 + 64, 64, 64 + 64]


def test_vgg16_peaks_at_fc6_weights() -> None:
    footprint = network_footprint(load_network("vgg16"))
    assert footprint.total_weight_bytes == sum(layer.weight_bytes for layer in load_network("vgg16"))
    assert footprint.peak_bytes > 102_760_448  # fc6: 25088 × 4096 int8 weights
    assert footprint.peak_activation_bytes == 2 * 64 * 224 * 224  # conv1_1 → conv1_2

"""The built-in network zoo (workloads/*.yaml) against published parameter and MAC counts.

tests/data/published_figures.csv holds one row per network (or per parameter setting, as
`mobilenet_v1?alpha=0.5&resolution=160`): the published figure, the tolerance its rounding allows
(0 where the figure is exact, e.g. torchvision's num_params) and where it comes from. MACs count
conv and fc layers only, at batch 1, as `Network.macs` does.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from accel.io.sources import load_network, zoo_names
from accel.model.network import Network
from accel.model.ops import Conv

FIGURES = Path(__file__).parent / "data" / "published_figures.csv"
ROWS = list(csv.DictReader(FIGURES.open(encoding="utf-8")))
ZOO = zoo_names()


@pytest.mark.parametrize("row", ROWS, ids=[row["network"] for row in ROWS])
def test_published_figures(row: dict[str, str]) -> None:
    net = load_network(row["network"])
    params, params_tolerance = int(row["params"]), int(row["params_tolerance"])
    macs, macs_tolerance = int(row["macs"]), int(row["macs_tolerance"])
    assert abs(net.params - params) <= params_tolerance, (
        f"{row['network']}: {net.params:,} params, published {params:,} ± {params_tolerance:,}"
    )
    assert abs(net.macs - macs) <= macs_tolerance, (
        f"{row['network']}: {net.macs:,} MACs, published {macs:,} ± {macs_tolerance:,}"
    )


def test_every_zoo_network_has_published_figures() -> None:
    covered = {row["network"].partition("?")[0] for row in ROWS}
    assert set(ZOO) == covered
    assert len(ZOO) == 13


@pytest.mark.parametrize(
    "source",
    [
        *ZOO,
        *(f"{name}?classes=7" for name in ZOO),
        "mobilenet_v1?alpha=0.25&resolution=128",
        "mobilenet_v2?alpha=0.35&resolution=96",
        "mobilenet_v2?alpha=1.4",
        "mobilenet_v3_large?alpha=0.75&resolution=160",
        "mobilenet_v3_small?alpha=0.5&resolution=128",
        "resnet50?resolution=160",
        "googlenet?resolution=192",
    ],
)
def test_zoo_loads_with_positive_shapes(source: str) -> None:
    net = load_network(source)
    assert len(net) > 0
    for layer in net:
        for shape in (*layer.input_shapes, layer.output_shape):
            assert min(shape.channels, shape.height, shape.width) > 0, layer.name
    (output,) = net.outputs
    default = 10 if source.startswith("lenet5") else 1000
    expected = 7 if "classes=7" in source else default
    assert net.layer(output).output_shape.channels == expected


def _net(name: str) -> Network:
    return load_network(name)


def _conv(net: Network, name: str) -> Conv:
    op = net.layer(name).op
    assert isinstance(op, Conv)
    return op


def test_alexnet_spot_checks() -> None:
    net = _net("alexnet")
    assert str(net.layer("conv1").output_shape) == "64x55x55"
    assert str(net.layer("pool5").output_shape) == "256x6x6"
    assert net.layer("fc6").params == 9216 * 4096 + 4096


def test_vgg16_spot_checks() -> None:
    net = _net("vgg16")
    assert net.layer("fc6").params == 102_764_544  # 25088 × 4096 + 4096
    conv = sum(layer.macs for layer in net if layer.kind == "conv")
    fc = sum(layer.macs for layer in net if layer.kind == "fc")
    assert round(conv / 1e9, 2) == 15.35
    assert round(fc / 1e9, 2) == 0.12
    assert fc == 25088 * 4096 + 4096 * 4096 + 4096 * 1000


def test_resnet_spot_checks() -> None:
    net = _net("resnet50")
    last = net.layers[-1]
    assert last.name == "fc"
    assert str(last.input_shapes[0]) == "2048x1x1"
    # v1.5: the stride is on the 3x3 conv of a downsampling bottleneck
    assert _conv(net, "layer2.0.conv1").stride == (1, 1)
    assert _conv(net, "layer2.0.conv2").stride == (2, 2)
    assert net.layer("layer1.0.downsample").params == 64 * 256 + 2 * 256
    assert str(_net("resnet18").layer("layer4.1.add").output_shape) == "512x7x7"
    assert sum(layer.kind == "add" for layer in _net("resnet34")) == 3 + 4 + 6 + 3


def test_mobilenet_spot_checks() -> None:
    v1 = load_network("mobilenet_v1?alpha=0.5")
    assert str(v1.layer("conv_pw_13").output_shape) == "512x7x7"
    assert v1.layer("conv_dw_2").is_depthwise
    v2 = _net("mobilenet_v2")
    blocks = [layer for layer in v2 if layer.name.endswith(".project")]
    assert len(blocks) == 17
    assert sum(layer.kind == "add" for layer in v2) == 10
    assert str(v2.layer("features.18").output_shape) == "1280x7x7"
    large = _net("mobilenet_v3_large")
    assert large.layer("features.4.se.fc1").output_shape.channels == 24  # make_divisible(72/4, 8)
    assert str(large.layer("features.4.se.scale").output_shape) == "72x28x28"
    assert str(large.layer("features.16").output_shape) == "960x7x7"
    small = _net("mobilenet_v3_small")
    assert small.layer("features.1.se.fc1").output_shape.channels == 8
    assert str(small.layer("features.12").output_shape) == "576x7x7"


def test_googlenet_spot_checks() -> None:
    net = _net("googlenet")
    assert str(net.layer("maxpool1").output_shape) == "64x56x56"  # ceil_mode
    assert str(net.layer("inception3a").output_shape) == "256x28x28"
    assert str(net.layer("inception4e").output_shape) == "832x14x14"
    assert str(net.layer("inception5b").output_shape) == "1024x7x7"
    assert _conv(net, "inception3a.b3.conv3x3").kernel == (3, 3)  # torchvision's "5x5"

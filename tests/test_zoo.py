"""The built-in network zoo (workloads/*.yaml) against published parameter and MAC counts.

tests/data/published_figures.csv holds one row per network (or per parameter setting, as
`mobilenet_v1?alpha=0.5&resolution=160`): the published figure, the tolerance its rounding allows
(0 where the figure is exact, e.g. torchvision's num_params) and where it comes from. MACs count
conv, transposed conv and fc layers only, at batch 1, as `Network.macs` does. Where no figure
was published (U-Net's counts, the MACs of the padded FCN-8s, LeNet-5's MACs) the counts are
written here independently from the paper's layer table and compared with the network's.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import REPO

from accel.io.sources import load_network, zoo_names
from accel.model.network import Network
from accel.model.ops import Conv

FIGURES = Path(__file__).parent / "data" / "published_figures.csv"
ROWS = list(csv.DictReader(FIGURES.open(encoding="utf-8")))
ZOO = zoo_names()
DEFAULT_CLASSES = {"lenet5": 10, "lenet5_tanh": 10, "fcn8s": 21, "unet": 2}
INDEPENDENTLY_COUNTED = {"lenet5_tanh", "fcn8s", "unet", "alexnet_v1"}  # tests at the end of this file


@pytest.mark.parametrize("row", ROWS, ids=[row["network"] for row in ROWS])
def test_published_figures(row: dict[str, str]) -> None:
    net = load_network(row["network"])
    params, params_tolerance = int(row["params"]), int(row["params_tolerance"])
    assert abs(net.params - params) <= params_tolerance, (
        f"{row['network']}: {net.params:,} params, published {params:,} ± {params_tolerance:,}"
    )
    if not row["macs"]:
        return  # no published MAC figure: an independent count below
    macs, macs_tolerance = int(row["macs"]), int(row["macs_tolerance"])
    assert abs(net.macs - macs) <= macs_tolerance, (
        f"{row['network']}: {net.macs:,} MACs, published {macs:,} ± {macs_tolerance:,}"
    )


def test_every_zoo_network_has_published_figures() -> None:
    covered = {row["network"].partition("?")[0] for row in ROWS}
    no_macs = {row["network"] for row in ROWS if not row["macs"]}
    assert set(ZOO) == covered | INDEPENDENTLY_COUNTED
    assert no_macs | (set(ZOO) - covered) <= INDEPENDENTLY_COUNTED
    assert len(ZOO) == 17


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
        "fcn8s?resolution=224",
        "unet?resolution=64",
        "lenet5_tanh?resolution=36",
    ],
)
def test_zoo_loads_with_positive_shapes(source: str) -> None:
    net = load_network(source)
    assert len(net) > 0
    for layer in net:
        for shape in (*layer.input_shapes, layer.output_shape):
            assert min(shape.channels, shape.height, shape.width) > 0, layer.name
    (output,) = net.outputs
    name = source.partition("?")[0]
    expected = 7 if "classes=7" in source else DEFAULT_CLASSES.get(name, 1000)
    shape = net.layer(output).output_shape
    assert shape.channels == expected
    if name in ("fcn8s", "unet"):  # segmentation: a score map at the input's size
        assert (shape.height, shape.width) == (net.inputs[0][1].height, net.inputs[0][1].width)


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


# ------------------------------------------------------------------ independent counts


def test_lenet5_tanh_matches_the_papers_layer_table() -> None:
    """LeCun et al. 1998, Section II.B: params and connections per layer. A connection is a
    multiply-accumulate or a bias of a unit (C and F layers: MACs + one bias per output); a
    subsampling unit has 4 input connections and a bias (its coefficient multiplies the sum
    once: the 1x1 conv's MACs, not connections)."""
    net = _net("lenet5_tanh")
    paper = {"C1": (156, 122_304), "S2": (12, 5_880), "C3": (1_516, 151_600),
             "S4": (32, 2_000), "C5": (48_120, 48_120), "F6": (10_164, 10_164)}  # fmt: skip
    for name, (params, connections) in paper.items():
        if name.startswith("S"):
            layer, pool = net.layer(name), net.layer(f"{name}.pool")
            window = pool.op.kernel[0] * pool.op.kernel[1]  # type: ignore[attr-defined]
            ours = (layer.params, (window + 1) * layer.output_shape.elements)
            assert layer.macs == layer.output_shape.elements  # one coefficient per unit
        else:
            layers = [net.layer(n) for n in (["C3.a", "C3.b", "C3.c", "C3.d"]
                                             if name == "C3" else [name])]  # fmt: skip
            ours = (sum(x.params for x in layers),
                    sum(x.macs + x.output_shape.elements for x in layers))
        assert ours == (params, connections), name
    # Table I: 60 S2 maps feed C3 (6 x 3 + 6 x 4 + 3 x 4 + 6)
    assert sum(net.layer(f"C3.{p}").input_shapes[0].channels for p in "abcd") == 60
    assert str(net.layer("C3").output_shape) == "16x10x10"
    output = net.layer("output")
    assert output.params == output.macs == 84 * 10  # the RBF units: fixed, no bias
    trainable = net.params - output.params
    assert trainable == 60_000  # "only 60,000 trainable free parameters"
    connections = 340_908 - output.macs  # the paper's total, output layer included
    assert connections == sum(c for _, c in paper.values())


def _vgg16_convs(resolution: int) -> tuple[int, int, int]:
    """(params, MACs, channels out) of VGG16's 13 3x3 convs with padding 1."""
    params = macs = 0
    channels = 3
    for stage, widths in enumerate([[64] * 2, [128] * 2, [256] * 3, [512] * 3, [512] * 3]):
        side = resolution >> stage
        for width in widths:
            params += 9 * channels * width + width
            macs += side * side * 9 * channels * width
            channels = width
    return params, macs, channels


@pytest.mark.parametrize(("resolution", "classes"), [(512, 21), (224, 7), (32, 21)])
def test_fcn8s_counts(resolution: int, classes: int) -> None:
    """FCN-8s from Long et al. 2015, Fig. 3 and Section 4.2: score at strides 32, 16 and 8;
    a transposed conv costs its input pixels x its weights."""
    net = load_network(f"fcn8s?resolution={resolution}&classes={classes}")
    conv_params, conv_macs, _ = _vgg16_convs(resolution)
    s32, s16, s8 = (resolution // 32) ** 2, (resolution // 16) ** 2, (resolution // 8) ** 2
    k = classes
    trunk = conv_params + (25088 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * k + k)
    skips = (512 * k + k) + (256 * k + k)
    upsampling = 2 * (4 * 4 * k * k) + 16 * 16 * k * k  # no bias
    assert net.params == trunk + skips + upsampling
    macs = conv_macs + s32 * (25088 * 4096 + 4096 * 4096 + 4096 * k)  # fc6, fc7, score_fr
    macs += s16 * 512 * k + s8 * 256 * k  # score_pool4, score_pool3
    macs += s32 * 16 * k * k + s16 * 16 * k * k + s8 * 256 * k * k  # upscore2, _pool4, 8
    assert net.macs == macs
    if (resolution, classes) == (512, 21):
        # the FCN-VGG16 trunk is VGG16 (torchvision: 138,357,544) with fc8 -> 21 scores
        assert trunk == 138_357_544 - (4096 * 1000 + 1000) + (4096 * 21 + 21) == 134_346_581
        assert str(net.layer("fuse_pool3").output_shape) == "21x64x64"
        assert (net.params, net.macs) == (134_489_759, 111_306_461_184)


@pytest.mark.parametrize(("resolution", "classes"), [(512, 2), (64, 5), (16, 2)])
def test_unet_counts(resolution: int, classes: int) -> None:
    """U-Net, Ronneberger et al. 2015, Fig. 1 with padded convs: 2 x conv3x3 per level
    (64 ... 1024), up-conv 2x2 halving the channels, concat with the skip, 2 x conv3x3,
    conv1x1 to the classes; one input channel."""
    net = load_network(f"unet?resolution={resolution}&classes={classes}")
    widths = [64, 128, 256, 512, 1024]
    params = macs = 0
    channels = 1
    for level, width in enumerate(widths):
        side = resolution >> level
        for cin in (channels, width):
            params += 9 * cin * width + width
            macs += side * side * 9 * cin * width
        channels = width
    for level in range(3, -1, -1):  # expanding path, from 1024 down to 64 channels
        width, side = widths[level], resolution >> level
        params += (2 * width) * width * 4 + width  # up-conv 2x2 with bias
        macs += (side // 2) ** 2 * (2 * width) * width * 4  # its input pixels x weights
        for cin in (2 * width, width):  # on the concat, then on its own output
            params += 9 * cin * width + width
            macs += side * side * 9 * cin * width
    params += 64 * classes + classes
    macs += resolution * resolution * 64 * classes
    assert (net.params, net.macs) == (params, macs)
    if (resolution, classes) == (512, 2):
        assert (net.params, net.macs) == (31_030_658, 192_384_335_872)
        assert str(net.layer("down5.conv2").output_shape) == "1024x32x32"
        assert str(net.layer("up1.concat").output_shape) == "1024x64x64"


def test_alexnet_v1_conv_macs_are_eyeriss_figures() -> None:
    # Chen et al.: 666 million conv MACs per 227×227 image (ISSCC 2016), 2.66 G for the batch
    # of 4 of JSSC 2017 Table V; per layer 0.42 / 0.90 / 0.60 / 0.45 / 0.30 G at batch 4.
    net = load_network("alexnet_v1")
    convs = {layer.name: layer.macs for layer in net.layers if layer.kind == "conv"}
    assert sum(convs.values()) == 665_784_864
    assert [round(4 * macs / 1e9, 2) for macs in convs.values()] == [0.42, 0.9, 0.6, 0.45, 0.3]
    assert [layer.op.groups for layer in net.layers if isinstance(layer.op, Conv)] == [
        1, 2, 1, 2, 2]  # fmt: skip


def test_zoo_json_holds_every_workload_file_as_parsed(tmp_path: Path) -> None:
    """accel/io/zoo.json is current (else: python tools/gen_zoo.py), and an edited workload
    file is read from its YAML, not from the stale entry."""
    import shutil

    from accel.io.workload_yaml import load_workload
    from accel.io.zoo import parsed_workload
    from accel.user_input import load_yaml_mapping

    workloads = sorted((REPO / "workloads").glob("*.yaml"))
    assert [path.stem for path in workloads] == zoo_names()
    for path in workloads:
        assert parsed_workload(path) == load_yaml_mapping(path, "workload"), path.name
    edited = tmp_path / "vgg16.yaml"
    shutil.copy(REPO / "workloads" / "vgg16.yaml", edited)
    edited.write_text(edited.read_text().replace("classes: 1000", "classes: 10"))
    assert parsed_workload(edited) is None
    assert load_workload(edited).layers[-1].output_shape.channels == 10

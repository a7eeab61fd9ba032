"""Generate the built-in network zoo: the workload YAML files in `workloads/`.

The committed YAML files are the source of truth that users read and edit; this script only saves
typing the repetitive blocks (ResNet stages, MobileNet bottlenecks, inception modules). Rerun it
after changing a network here, then review the diff of `workloads/`:

    pip install -e .               # in any environment with accel installed
    python tools/gen_workloads.py            # rewrite every zoo file except lenet5.yaml
    python tools/gen_workloads.py resnet50   # rewrite only the named networks
    python tools/gen_workloads.py --check    # exit 1 if a committed file differs from the output

Each file gets one flow-style mapping per layer and a header stating the paper, the framework
variant followed, and the parameter and MAC counts at the default parameters, computed by loading
the generated text with accel itself (so the header cannot drift from the layers). lenet5.yaml is
hand-written and not generated.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from accel.io.workload_yaml import parse_workload

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"

Value = int | str | bool | list[Any]


def _fmt(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if value.startswith("${"):
        return f'"{value}"'
    return value


class Net:
    """Collects the lines of one workload file."""

    def __init__(
        self,
        name: str,
        header: list[str],
        source: str,
        parameters: dict[str, int | float],
        published: str,
        channels: int = 3,
    ) -> None:
        self.name = name
        self.channels = channels
        self.header = header
        self.source = source
        self.parameters = parameters
        self.published = published
        self.lines: list[str] = []
        self.last = "input"

    def comment(self, text: str) -> None:
        self.lines.append(f"  # {text}")

    def layer(self, name: str, kind: str, inputs: list[str] | None = None, **fields: Value) -> str:
        items = [f"name: {name}", f"kind: {kind}"]
        if inputs:
            items.append(f"inputs: {_fmt(list(inputs))}")
        items += [f"{key}: {_fmt(value)}" for key, value in fields.items() if value is not None]
        self.lines.append("  - {" + ", ".join(items) + "}")
        self.last = name
        return name

    def conv(
        self, name: str, out: Value, kernel: int, stride: int = 1, padding: Value = 0,
        groups: Value = 1, bias: bool = True, bn: bool = False, act: str | None = None,
        inputs: list[str] | None = None,
    ) -> str:
        fields: dict[str, Any] = {"out_channels": out, "kernel": kernel}
        if stride != 1:
            fields["stride"] = stride
        if padding != 0:
            fields["padding"] = padding
        if groups != 1:
            fields["groups"] = groups
        if not bias:
            fields["bias"] = False
        if bn:
            fields["batchnorm"] = True
        fields["activation"] = act
        return self.layer(name, "conv", inputs, **fields)

    def body(self) -> str:
        params = ", ".join(f"{k}: {v}" for k, v in self.parameters.items())
        out = [
            f"name: {self.name}",
            f"source: {_quote(self.source)}",
            f"parameters: {{{params}}}",
            f'input: {{channels: {self.channels}, height: "${{resolution}}", '
            'width: "${resolution}"}',
            "layers:",
            *self.lines,
        ]
        return "\n".join(out) + "\n"

    def text(self) -> str:
        body = self.body()
        net = parse_workload(yaml.safe_load(body), f"{self.name}.yaml", {})
        defaults = ", ".join(f"{k}={v}" for k, v in self.parameters.items())
        size = f"{net.macs / 1e9:.3f} G" if net.macs >= 1e7 else f"{net.macs / 1e6:.3f} M"
        transposed = any(layer.kind == "conv_transpose" for layer in net)
        kinds = "conv, transposed conv + fc" if transposed else "conv + fc"
        figures = (
            f"At the defaults ({defaults}): {net.params:,} parameters, {net.macs:,} MACs "
            f"({size}, {kinds} only); {len(net)} layers."
        )
        lines = [*self.header, *_wrap(figures), *_wrap(f"Published: {self.published}")]
        header = [f"# {line}" if line else "#" for line in lines]
        return "\n".join([*header, body])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------------------------
# AlexNet and VGG
# --------------------------------------------------------------------------------------------

_ADAPTIVE_NOTE = (
    "torchvision's AdaptiveAvgPool2d({0}x{0}) before the classifier is the identity at 224 and is "
    "left out (the IR has no adaptive pooling): at other resolutions fc6 reads the flattened "
    "feature map as it is, as in the original non-adaptive networks."
)


def alexnet() -> Net:
    net = Net(
        "alexnet",
        [
            "AlexNet (Krizhevsky, Sutskever, Hinton, 2012), following torchvision's AlexNet",
            "(the single-GPU 'one weird trick' variant: 64-192-384-256-256 channels, no LRN).",
            *_wrap(_ADAPTIVE_NOTE.format(6)),
            "Dropout is omitted (the identity at inference).",
        ],
        "Krizhevsky, Sutskever, Hinton: ImageNet Classification with Deep Convolutional Neural "
        "Networks, NIPS 2012; Krizhevsky: One weird trick for parallelizing convolutional neural "
        "networks, 2014; torchvision.models.alexnet",
        {"resolution": 224, "classes": 1000},
        "torchvision AlexNet_Weights.IMAGENET1K_V1: 61,100,840 params, 0.71 GFLOPS (= G MACs).",
    )
    net.comment("features")
    net.conv("conv1", 64, 11, stride=4, padding=2, act="relu")
    net.layer("pool1", "maxpool", kernel=3, stride=2)
    net.conv("conv2", 192, 5, padding=2, act="relu")
    net.layer("pool2", "maxpool", kernel=3, stride=2)
    net.conv("conv3", 384, 3, padding=1, act="relu")
    net.conv("conv4", 256, 3, padding=1, act="relu")
    net.conv("conv5", 256, 3, padding=1, act="relu")
    net.layer("pool5", "maxpool", kernel=3, stride=2)
    net.comment("classifier")
    net.layer("flatten", "flatten")
    net.layer("fc6", "fc", out_features=4096, activation="relu")
    net.layer("fc7", "fc", out_features=4096, activation="relu")
    net.layer("fc8", "fc", out_features="${classes}")
    return net


def alexnet_v1() -> Net:
    net = Net(
        "alexnet_v1",
        [
            "AlexNet as published (Krizhevsky, Sutskever, Hinton, 2012; Caffe's bvlc_alexnet):",
            "the two-GPU network, 96-256-384-384-256 channels on a 227x227 input, CONV2/4/5 in 2",
            "groups, local response normalisation after CONV1 and CONV2. The network Eyeriss ran",
            "(Chen et al., JSSC 2017, Tables III and V). Dropout is omitted (the identity at",
            "inference).",
        ],
        "Krizhevsky, Sutskever, Hinton: ImageNet Classification with Deep Convolutional Neural "
        "Networks, NIPS 2012; Caffe models/bvlc_alexnet; Chen et al., Eyeriss, ISSCC 2016 / "
        "JSSC 2017",
        {"resolution": 227, "classes": 1000},
        "Caffe bvlc_alexnet: 60,965,224 params; Eyeriss (ISSCC 2016): 666 million conv MACs per "
        "227x227 image.",
    )
    net.comment("features")
    net.conv("conv1", 96, 11, stride=4, act="relu")
    net.layer("norm1", "lrn", size=5)
    net.layer("pool1", "maxpool", kernel=3, stride=2)
    net.conv("conv2", 256, 5, padding=2, groups=2, act="relu")
    net.layer("norm2", "lrn", size=5)
    net.layer("pool2", "maxpool", kernel=3, stride=2)
    net.conv("conv3", 384, 3, padding=1, act="relu")
    net.conv("conv4", 384, 3, padding=1, groups=2, act="relu")
    net.conv("conv5", 256, 3, padding=1, groups=2, act="relu")
    net.layer("pool5", "maxpool", kernel=3, stride=2)
    net.comment("classifier")
    net.layer("flatten", "flatten")
    net.layer("fc6", "fc", out_features=4096, activation="relu")
    net.layer("fc7", "fc", out_features=4096, activation="relu")
    net.layer("fc8", "fc", out_features="${classes}")
    return net


_VGG = {
    "vgg16": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "vgg19": [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
}
_VGG_PUBLISHED = {
    "vgg16": "torchvision VGG16_Weights.IMAGENET1K_V1: 138,357,544 params, 15.47 GFLOPS "
    "(= G MACs).",
    "vgg19": "torchvision VGG19_Weights.IMAGENET1K_V1: 143,667,240 params, 19.63 GFLOPS "
    "(= G MACs).",
}


def vgg(name: str) -> Net:
    depth = name[3:]
    net = Net(
        name,
        [
            f"VGG-{depth} (Simonyan & Zisserman, 2015, configuration "
            f"{'D' if depth == '16' else 'E'}), following torchvision's {name}",
            "(no BatchNorm; convolutions and linear layers have biases).",
            *_wrap(_ADAPTIVE_NOTE.format(7)),
            "Dropout is omitted (the identity at inference).",
        ],
        "Simonyan, Zisserman: Very Deep Convolutional Networks for Large-Scale Image "
        f"Recognition, ICLR 2015; torchvision.models.{name}",
        {"resolution": 224, "classes": 1000},
        _VGG_PUBLISHED[name],
    )
    for stage, widths in enumerate(_VGG[name], start=1):
        net.comment(f"block {stage}: {len(widths)} x conv3x3({widths[0]}), maxpool 2x2")
        for index, width in enumerate(widths, start=1):
            net.conv(f"conv{stage}_{index}", width, 3, padding=1, act="relu")
        net.layer(f"pool{stage}", "maxpool", kernel=2, stride=2)
    net.comment("classifier")
    net.layer("flatten", "flatten")
    net.layer("fc6", "fc", out_features=4096, activation="relu")
    net.layer("fc7", "fc", out_features=4096, activation="relu")
    net.layer("fc8", "fc", out_features="${classes}")
    return net


# --------------------------------------------------------------------------------------------
# ResNet
# --------------------------------------------------------------------------------------------

_RESNET = {
    "resnet18": ("basic", [2, 2, 2, 2], "11,689,512 params, 1.81 GFLOPS"),
    "resnet34": ("basic", [3, 4, 6, 3], "21,797,672 params, 3.66 GFLOPS"),
    "resnet50": ("bottleneck", [3, 4, 6, 3], "25,557,032 params, 4.09 GFLOPS"),
}


def resnet(name: str) -> Net:
    block, counts, published = _RESNET[name]
    depth = name[6:]
    weights = f"ResNet{depth}_Weights.IMAGENET1K_V1"
    net = Net(
        name,
        [
            f"ResNet-{depth} (He et al., 2016), following torchvision's {name}"
            + (" (v1.5: a downsampling" if block == "bottleneck" else "."),
            *(["bottleneck has its stride 2 on the 3x3 conv, not on the first 1x1)."]
              if block == "bottleneck" else []),
            "Convolutions have no bias; each BatchNorm is folded into its conv (batchnorm: true).",
            "A block's final ReLU is fused into its residual add; a downsampling shortcut is a",
            "1x1 conv + BN (torchvision's downsample).",
        ],
        "He, Zhang, Ren, Sun: Deep Residual Learning for Image Recognition, CVPR 2016; "
        f"torchvision.models.{name}",
        {"resolution": 224, "classes": 1000},
        f"torchvision {weights}: {published} (= G MACs).",
    )
    net.comment("stem")
    net.conv("conv1", 64, 7, stride=2, padding=3, bias=False, bn=True, act="relu")
    net.layer("maxpool", "maxpool", kernel=3, stride=2, padding=1)
    expansion = 4 if block == "bottleneck" else 1
    channels = 64
    for stage, count in enumerate(counts, start=1):
        planes = 64 * 2 ** (stage - 1)
        out = planes * expansion
        first_stride = 1 if stage == 1 else 2
        kind = (f"bottleneck {planes}-{planes}-{out}" if block == "bottleneck"
                else f"basic block 2 x conv3x3({planes})")
        net.comment(f"layer{stage}: {count} x {kind}, stride {first_stride}")
        for index in range(count):
            prefix = f"layer{stage}.{index}"
            stride = first_stride if index == 0 else 1
            source = net.last
            if block == "basic":
                net.conv(f"{prefix}.conv1", planes, 3, stride, 1, bias=False, bn=True, act="relu")
                main = net.conv(f"{prefix}.conv2", planes, 3, 1, 1, bias=False, bn=True)
            else:
                net.conv(f"{prefix}.conv1", planes, 1, bias=False, bn=True, act="relu")
                net.conv(f"{prefix}.conv2", planes, 3, stride, 1, bias=False, bn=True, act="relu")
                main = net.conv(f"{prefix}.conv3", out, 1, bias=False, bn=True)
            shortcut = source
            if stride != 1 or channels != out:
                shortcut = net.conv(
                    f"{prefix}.downsample", out, 1, stride, bias=False, bn=True, inputs=[source]
                )
            net.layer(f"{prefix}.add", "add", [main, shortcut], activation="relu")
            channels = out
    net.comment("head")
    net.layer("avgpool", "global_avgpool")
    net.layer("flatten", "flatten")
    net.layer("fc", "fc", out_features="${classes}")
    return net


# --------------------------------------------------------------------------------------------
# MobileNet v1, v2, v3
# --------------------------------------------------------------------------------------------

# (pointwise channels, depthwise stride) of the 13 depthwise-separable blocks
_MOBILENET_V1 = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]
_KERAS_S2_PADDING = [0, 1, 0, 1]  # ZeroPadding2D(((0, 1), (0, 1))) then a 'valid' convolution


def mobilenet_v1() -> Net:
    net = Net(
        "mobilenet_v1",
        [
            "MobileNet v1 (Howard et al., 2017), following Keras' MobileNet (= TF-slim",
            "mobilenet_v1): conv3x3/2, 13 depthwise-separable blocks, global average pool and the",
            "classifier as a 1x1 conv with bias. Convolutions have no bias; BatchNorm is folded in",
            "(batchnorm: true, 2 params per channel). Width multiplier alpha: channels =",
            "int(c * alpha) (Keras rule); stride-2 convs pad bottom/right only, as Keras does.",
            "Paper conventions: its mult-adds include the classifier (without it 1.0-224 is",
            "567.7 M, not 569 M); its 0.1 M-rounded params cannot tell whether BN and biases",
            "count: 4,231,976 with them (this file) and 4,209,088 without both round to 4.2 M,",
            "and so at every width. Keras reports 4,253,864: it also counts BN's moving mean and",
            "variance.",
        ],
        "Howard et al.: MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
        "Applications, arXiv:1704.04861, 2017; keras.applications.MobileNet",
        {"resolution": 224, "classes": 1000, "alpha": 1.0},
        "paper Table 6/7, 1.0 MobileNet-224: 569 M mult-adds, 4.2 M params.",
    )

    def ch(c: int) -> str:
        return f"${{int({c}*alpha)}}"

    net.comment("stem")
    net.conv("conv1", ch(32), 3, 2, _KERAS_S2_PADDING, bias=False, bn=True, act="relu6")
    previous = 32
    for index, (width, stride) in enumerate(_MOBILENET_V1, start=1):
        net.comment(f"block {index}: depthwise 3x3/{stride} ({previous}), pointwise -> {width}")
        padding: Value = 1 if stride == 1 else _KERAS_S2_PADDING
        net.conv(f"conv_dw_{index}", ch(previous), 3, stride, padding, groups=ch(previous),
                 bias=False, bn=True, act="relu6")
        net.conv(f"conv_pw_{index}", ch(width), 1, bias=False, bn=True, act="relu6")
        previous = width
    net.comment("head (Dropout omitted: the identity at inference)")
    net.layer("global_pool", "global_avgpool")
    net.conv("conv_preds", "${classes}", 1)
    net.layer("predictions", "softmax")
    return net


# t (expansion), c (channels), n (repeats), s (first stride)
_MOBILENET_V2 = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
]


def _md(c: int) -> str:
    """Channels c scaled by alpha and rounded to a multiple of 8 (torchvision's rule)."""
    return f"make_divisible({c}*alpha, 8)"


def mobilenet_v2() -> Net:
    net = Net(
        "mobilenet_v2",
        [
            "MobileNetV2 (Sandler et al., 2018), following torchvision's mobilenet_v2: a conv3x3/2",
            "stem, 17 inverted-residual blocks (features.1 ... features.17), a 1x1 conv to 1280",
            "channels, global average pool and a linear classifier. Convolutions have no bias;",
            "BatchNorm is folded in (batchnorm: true). Width multiplier alpha: channels =",
            "make_divisible(c * alpha, 8); the last conv keeps >= 1280 channels",
            "(make_divisible(1280 * max(1, alpha), 8)). Dropout is omitted. Residual adds are",
            "placed as at alpha = 1; at alpha = 0.25 torchvision also adds one in features.1 (its",
            "input and output both round to 8 channels). A layer cannot depend on a parameter;",
            "adds carry no parameters or MACs.",
        ],
        "Sandler, Howard, Zhu, Zhmoginov, Chen: MobileNetV2: Inverted Residuals and Linear "
        "Bottlenecks, CVPR 2018; torchvision.models.mobilenet_v2",
        {"resolution": 224, "classes": 1000, "alpha": 1.0},
        "torchvision MobileNet_V2_Weights.IMAGENET1K_V1: 3,504,872 params, 0.30 GFLOPS "
        "(= G MACs); paper Table 3: 300 M multiply-adds, 3.4 M params.",
    )
    net.comment("stem (features.0)")
    net.conv("features.0", f"${{{_md(32)}}}", 3, 2, 1, bias=False, bn=True, act="relu6")
    index = 1
    previous = 32
    for t, c, n, s in _MOBILENET_V2:
        span = f"features.{index}" + (f"-{index + n - 1}" if n > 1 else "")
        net.comment(f"{span}: {n} x inverted residual, expand {t}, {c} channels, stride {s}")
        for repeat in range(n):
            stride = s if repeat == 0 else 1
            prefix = f"features.{index}"
            source = net.last
            hidden = f"${{{_md(previous)}*{t}}}" if t != 1 else f"${{{_md(previous)}}}"
            if t != 1:
                net.conv(f"{prefix}.expand", hidden, 1, bias=False, bn=True, act="relu6")
            net.conv(f"{prefix}.dw", hidden, 3, stride, 1, groups=hidden, bias=False, bn=True,
                     act="relu6")
            net.conv(f"{prefix}.project", f"${{{_md(c)}}}", 1, bias=False, bn=True)
            if stride == 1 and previous == c:
                net.layer(f"{prefix}.add", "add", [source, f"{prefix}.project"])
            previous = c
            index += 1
    net.comment(f"last conv (features.{index}) and classifier")
    net.conv(f"features.{index}", "${make_divisible(1280*max(1, alpha), 8)}", 1, bias=False,
             bn=True, act="relu6")
    net.layer("avgpool", "global_avgpool")
    net.layer("flatten", "flatten")
    net.layer("classifier", "fc", out_features="${classes}")
    return net


# input, kernel, expanded, out, SE, activation (RE = ReLU, HS = h-swish), stride
_MOBILENET_V3 = {
    "mobilenet_v3_large": [
        (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2),
        (24, 3, 72, 24, False, "RE", 1), (24, 5, 72, 40, True, "RE", 2),
        (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
        (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1),
        (80, 3, 184, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
        (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
        (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1),
        (160, 5, 960, 160, True, "HS", 1),
    ],
    "mobilenet_v3_small": [
        (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
        (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2),
        (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
        (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1),
        (48, 5, 288, 96, True, "HS", 2), (96, 5, 576, 96, True, "HS", 1),
        (96, 5, 576, 96, True, "HS", 1),
    ],
}
_V3_LAST = {"mobilenet_v3_large": 1280, "mobilenet_v3_small": 1024}
_V3_PUBLISHED = {
    "mobilenet_v3_large": "torchvision MobileNet_V3_Large_Weights.IMAGENET1K_V1: 5,483,032 "
    "params, 0.22 GFLOPS (= G MACs); paper Table 3: 219 M MAdds, 5.4 M params.",
    "mobilenet_v3_small": "torchvision MobileNet_V3_Small_Weights.IMAGENET1K_V1: 2,542,856 "
    "params, 0.06 GFLOPS (= G MACs); paper Table 4: 56 M MAdds, 2.5 M params.",
}


def mobilenet_v3(name: str) -> Net:
    size = name.rsplit("_", 1)[1]
    last = _V3_LAST[name]
    net = Net(
        name,
        [
            f"MobileNetV3-{size.capitalize()} (Howard et al., 2019), following torchvision's "
            f"{name}.",
            "Convolutions have no bias; BatchNorm is folded in (batchnorm: true). ReLU is fused;",
            "h-swish and the SE gate's h-sigmoid are standalone activation layers. An SE block is",
            "global avg pool -> 1x1 conv (bias, ReLU) -> 1x1 conv (bias) -> h-sigmoid -> mul,",
            "squeezing to make_divisible(expanded // 4, 8) channels. Width multiplier alpha:",
            "channels = make_divisible(c * alpha, 8). The classifier is fc -> h-swish -> fc",
            f"(Dropout omitted); the last conv has 6 x the last block's channels, fc1 {last}.",
            *(["Residual adds are placed as at alpha = 1; at alpha <= 0.5 torchvision also adds",
               "one in features.7 (its 40 and 48 channels round to the same width). A layer",
               "cannot depend on a parameter; adds carry no parameters or MACs."]
              if size == "small" else []),
        ],
        "Howard et al.: Searching for MobileNetV3, ICCV 2019; "
        f"torchvision.models.{name}",
        {"resolution": 224, "classes": 1000, "alpha": 1.0},
        _V3_PUBLISHED[name],
    )

    def activation(layer: str, function: str) -> str:
        if function == "RE":
            return layer
        return net.layer(f"{layer}.hswish", "activation", function="hswish")

    net.comment("stem (features.0): conv3x3/2, h-swish")
    blocks = _MOBILENET_V3[name]
    net.conv("features.0", f"${{{_md(blocks[0][0])}}}", 3, 2, 1, bias=False, bn=True)
    activation("features.0", "HS")
    for index, (cin, kernel, expanded, cout, se, act, stride) in enumerate(blocks, start=1):
        prefix = f"features.{index}"
        fused = "relu" if act == "RE" else None
        net.comment(
            f"{prefix}: {kernel}x{kernel}/{stride} expand {cin}->{expanded} -> {cout}, "
            f"{'h-swish' if act == 'HS' else 'ReLU'}{', SE' if se else ''}"
        )
        source = net.last
        hidden = f"${{{_md(expanded)}}}"
        if expanded != cin:
            net.conv(f"{prefix}.expand", hidden, 1, bias=False, bn=True, act=fused)
            activation(f"{prefix}.expand", act)
        net.conv(f"{prefix}.dw", hidden, kernel, stride, (kernel - 1) // 2, groups=hidden,
                 bias=False, bn=True, act=fused)
        data = activation(f"{prefix}.dw", act)
        if se:
            net.layer(f"{prefix}.se.pool", "global_avgpool")
            net.conv(f"{prefix}.se.fc1", f"${{make_divisible({_md(expanded)}//4, 8)}}", 1,
                     act="relu")
            net.conv(f"{prefix}.se.fc2", hidden, 1)
            gate = net.layer(f"{prefix}.se.hsigmoid", "activation", function="hsigmoid")
            net.layer(f"{prefix}.se.scale", "mul", [data, gate])
        net.conv(f"{prefix}.project", f"${{{_md(cout)}}}", 1, bias=False, bn=True)
        if stride == 1 and cin == cout:
            net.layer(f"{prefix}.add", "add", [source, f"{prefix}.project"])
    index = len(blocks) + 1
    cout = blocks[-1][3]
    net.comment(f"last conv (features.{index}): 1x1 to 6 x {cout}, h-swish")
    net.conv(f"features.{index}", f"${{6*{_md(cout)}}}", 1, bias=False, bn=True)
    activation(f"features.{index}", "HS")
    net.comment("classifier")
    net.layer("avgpool", "global_avgpool")
    net.layer("flatten", "flatten")
    net.layer("classifier.0", "fc", out_features=f"${{{_md(last)}}}")
    net.layer("classifier.1", "activation", function="hswish")
    net.layer("classifier.3", "fc", out_features="${classes}")
    return net


# --------------------------------------------------------------------------------------------
# GoogLeNet
# --------------------------------------------------------------------------------------------

# ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5 (a 3x3 kernel in torchvision), pool_proj
_INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet() -> Net:
    net = Net(
        "googlenet",
        [
            "GoogLeNet / Inception v1 (Szegedy et al., 2015), following torchvision's googlenet",
            "with aux_logits=False (the two auxiliary classifiers only exist in training).",
            "BasicConv2d = conv without bias + folded BatchNorm + ReLU. Max pools use",
            "ceil_mode: true, as torchvision does. torchvision's '5x5' branch uses a 3x3 kernel",
            "(a known deviation from the paper kept for its pretrained weights); so does this",
            "file (branch b3). Dropout is omitted. Branches: b1 = 1x1; b2 = 1x1 reduce -> 3x3;",
            "b3 = 1x1 reduce -> '5x5' (3x3); b4 = maxpool 3x3/1 -> 1x1 projection.",
        ],
        "Szegedy et al.: Going Deeper with Convolutions, CVPR 2015; torchvision.models.googlenet",
        {"resolution": 224, "classes": 1000},
        "torchvision GoogLeNet_Weights.IMAGENET1K_V1: 6,624,904 params, 1.50 GFLOPS (= G MACs).",
    )

    def basic(name: str, out: int, kernel: int, stride: int = 1, padding: int = 0,
              inputs: list[str] | None = None) -> str:
        return net.conv(name, out, kernel, stride, padding, bias=False, bn=True, act="relu",
                        inputs=inputs)

    net.comment("stem")
    basic("conv1", 64, 7, 2, 3)
    net.layer("maxpool1", "maxpool", kernel=3, stride=2, ceil_mode=True)
    basic("conv2", 64, 1)
    basic("conv3", 192, 3, 1, 1)
    net.layer("maxpool2", "maxpool", kernel=3, stride=2, ceil_mode=True)
    for module, (c1, r3, c3, r5, c5, proj) in _INCEPTION.items():
        name = f"inception{module}"
        net.comment(f"{name}: 1x1 {c1} | 1x1 {r3} -> 3x3 {c3} | 1x1 {r5} -> 3x3 {c5} | "
                    f"pool -> 1x1 {proj}")
        source = net.last
        b1 = basic(f"{name}.b1", c1, 1, inputs=[source])
        basic(f"{name}.b2.reduce", r3, 1, inputs=[source])
        b2 = basic(f"{name}.b2.conv3x3", c3, 3, 1, 1)
        basic(f"{name}.b3.reduce", r5, 1, inputs=[source])
        b3 = basic(f"{name}.b3.conv3x3", c5, 3, 1, 1)
        net.layer(f"{name}.b4.pool", "maxpool", [source], kernel=3, stride=1, padding=1,
                  ceil_mode=True)
        b4 = basic(f"{name}.b4.proj", proj, 1)
        net.layer(name, "concat", [b1, b2, b3, b4])
        if module == "3b":
            net.layer("maxpool3", "maxpool", kernel=3, stride=2, ceil_mode=True)
        if module == "4e":
            net.layer("maxpool4", "maxpool", kernel=2, stride=2, ceil_mode=True)
    net.comment("head")
    net.layer("avgpool", "global_avgpool")
    net.layer("flatten", "flatten")
    net.layer("fc", "fc", out_features="${classes}")
    return net


# --------------------------------------------------------------------------------------------
# DenseNet
# --------------------------------------------------------------------------------------------


def densenet121() -> Net:
    growth, bottleneck, blocks = 32, 4 * 32, (6, 12, 24, 16)
    net = Net(
        "densenet121",
        [
            "DenseNet-121 (Huang et al., 2017), following torchvision's densenet121: growth",
            "rate 32, blocks of 6, 12, 24, 16 layers, bottleneck width 4 x 32 = 128,",
            "compression 0.5, 64 initial features. A dense layer is BN -> ReLU -> conv1x1(128)",
            "-> BN -> ReLU -> conv3x3(32) on the concatenation of every earlier feature map of",
            "its block: the first BN and ReLU act on the concatenation, before a conv, so they",
            "are layers of their own (vector unit); the second BN folds into conv1x1",
            "(batchnorm: true). A transition is BN -> ReLU -> conv1x1(half) -> avgpool 2x2/2.",
            "Convolutions have no bias; the stem's BN folds into conv0. torchvision",
            "re-concatenates a block's features for every layer (torch.cat); here each dense",
            "layer reads a concat of them (free: addressing only).",
        ],
        "Huang, Liu, van der Maaten, Weinberger: Densely Connected Convolutional Networks, CVPR "
        "2017; torchvision.models.densenet121",
        {"resolution": 224, "classes": 1000},
        "torchvision DenseNet121_Weights.IMAGENET1K_V1: 7,978,856 params, 2.83 GFLOPS (= G MACs).",
    )
    net.comment("stem")
    net.conv("conv0", 64, 7, stride=2, padding=3, bias=False, bn=True, act="relu")
    net.layer("pool0", "maxpool", kernel=3, stride=2, padding=1)
    channels = 64
    for number, count in enumerate(blocks, start=1):
        block = f"denseblock{number}"
        net.comment(f"{block}: {count} dense layers on {channels} + {growth} x i channels")
        features = [net.last]
        for index in range(1, count + 1):
            prefix = f"{block}.denselayer{index}"
            source = features[0]
            if len(features) > 1:
                source = net.layer(f"{prefix}.cat", "concat", list(features))
            net.layer(f"{prefix}.norm1", "batchnorm", [source])
            net.layer(f"{prefix}.relu1", "activation", function="relu")
            net.conv(f"{prefix}.conv1", bottleneck, 1, bias=False, bn=True, act="relu")
            features.append(net.conv(f"{prefix}.conv2", growth, 3, padding=1, bias=False))
        channels += growth * count
        net.layer(f"{block}.cat", "concat", list(features))
        if number < len(blocks):
            transition = f"transition{number}"
            channels //= 2
            net.comment(f"{transition}: to {channels} channels, half the resolution")
            net.layer(f"{transition}.norm", "batchnorm")
            net.layer(f"{transition}.relu", "activation", function="relu")
            net.conv(f"{transition}.conv", channels, 1, bias=False)
            net.layer(f"{transition}.pool", "avgpool", kernel=2, stride=2)
    net.comment("head")
    net.layer("norm5", "batchnorm")
    net.layer("relu5", "activation", function="relu")
    net.layer("avgpool", "global_avgpool")
    net.layer("flatten", "flatten")
    net.layer("classifier", "fc", out_features="${classes}")
    return net


# --------------------------------------------------------------------------------------------
# LeNet-5 (the original, with tanh)
# --------------------------------------------------------------------------------------------

# LeCun et al. 1998, Table I: the S2 feature maps each C3 map reads
_C3_TABLE = [
    *([(j + i) % 6 for i in range(3)] for j in range(6)),
    *([(j + i) % 6 for i in range(4)] for j in range(6)),
    [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
    list(range(6)),
]


def _runs(channels: list[int]) -> list[tuple[int, int]]:
    """[start, end) ranges of consecutive channels: [4, 5, 0] -> [(4, 6), (0, 1)]."""
    runs: list[tuple[int, int]] = []
    for channel in channels:
        if runs and runs[-1][1] == channel:
            runs[-1] = (runs[-1][0], channel + 1)
        else:
            runs.append((channel, channel + 1))
    return runs


def lenet5_tanh() -> Net:
    net = Net(
        "lenet5_tanh",
        [
            "LeNet-5 as published (LeCun, Bottou, Bengio, Haffner, 1998, Section II.B), on 32x32",
            "grey images: C1 conv5x5(6), S2, C3 conv5x5(16), S4, C5 conv5x5(120), F6 fc(84), each",
            "followed by the squashing function f(a) = A tanh(S a) (A = 1.7159, S = 2/3: constant",
            "scales, folded into the weights, so a plain tanh here). A subsampling layer S2 / S4",
            "sums each 2x2 window, multiplies it by a trainable coefficient and adds a trainable",
            "bias per map: avgpool 2x2/2 (the sum / 4) then a depthwise 1x1 conv with bias (the",
            "coefficient absorbs the 1/4), 2 params per map. C3 keeps the paper's Table I",
            "connection scheme (not the all-connected simplification): maps 0-5 read 3",
            "contiguous S2 maps, 6-11 read 4 contiguous, 12-14 read 4 discontinuous, 15 reads",
            "all 6 (60 map connections, 1,516 params); as three grouped convs on concatenated",
            "channel slices (free: addressing) and one dense conv, concatenated. The output",
            "layer's 10 Euclidean RBF units, y_i = sum_j (x_j - w_ij)^2 over F6's 84 outputs",
            "with fixed weights, are an fc without bias: the same 840 weights and 840",
            "multiply-accumulates. Per-layer params and connections equal the paper's (tested).",
            "The hand-written lenet5.yaml is the common simplification (ReLU for tanh, plain",
            "average pooling, an all-connected C3).",
        ],
        "LeCun, Bottou, Bengio, Haffner: Gradient-Based Learning Applied to Document "
        "Recognition, Proc. IEEE 86(11), 1998, Section II.B and Table I",
        {"resolution": 32, "classes": 10},
        "paper Section II.B: C1 156 params, 122,304 connections; S2 12, 5,880; C3 1,516, "
        "151,600; S4 32, 2,000; C5 48,120 connections; F6 10,164 params; 340,908 connections "
        "and 60,000 trainable parameters in all (the output RBF's 840 weights are fixed).",
        channels=1,
    )
    net.comment("C1: 6 maps, conv5x5, 28x28")
    net.conv("C1", 6, 5)
    net.layer("C1.tanh", "activation", function="tanh")
    net.comment("S2: 2x2 sums x coefficient + bias per map, 14x14")
    net.layer("S2.pool", "avgpool", kernel=2, stride=2)
    net.conv("S2", 6, 1, groups=6)
    s2 = net.layer("S2.tanh", "activation", function="tanh")
    net.comment("C3: 16 maps over the S2 maps of Table I, 10x10")
    slices: dict[tuple[int, int], str] = {}
    for start, end in sorted({run for maps in _C3_TABLE[:15] for run in _runs(maps)}):
        name = f"S2.map{start}" if end == start + 1 else f"S2.maps{start}-{end - 1}"
        slices[(start, end)] = net.layer(name, "channel_slice", [s2], start=start, end=end)
    groups = [("C3.a", _C3_TABLE[0:6], "maps 0-5: 3 contiguous inputs each"),
              ("C3.b", _C3_TABLE[6:12], "maps 6-11: 4 contiguous inputs each"),
              ("C3.c", _C3_TABLE[12:15], "maps 12-14: 4 discontinuous inputs each")]
    parts = []
    for name, table, text in groups:
        net.comment(f"{name}, {text}")
        sources = [slices[run] for maps in table for run in _runs(maps)]
        net.layer(f"{name}.inputs", "concat", sources)
        parts.append(net.conv(name, len(table), 5, groups=len(table)))
    net.comment("C3.d, map 15: all 6 inputs")
    parts.append(net.conv("C3.d", 1, 5, inputs=[s2]))
    net.layer("C3", "concat", parts)
    net.layer("C3.tanh", "activation", function="tanh")
    net.comment("S4: 2x2 sums x coefficient + bias per map, 5x5")
    net.layer("S4.pool", "avgpool", kernel=2, stride=2)
    net.conv("S4", 16, 1, groups=16)
    net.layer("S4.tanh", "activation", function="tanh")
    net.comment("C5: 120 maps, conv5x5, 1x1; F6: 84 units; output: 10 RBF units")
    net.conv("C5", 120, 5)
    net.layer("C5.tanh", "activation", function="tanh")
    net.layer("F6", "fc", out_features=84)
    net.layer("F6.tanh", "activation", function="tanh")
    net.layer("output", "fc", out_features="${classes}", bias=False)
    return net


# --------------------------------------------------------------------------------------------
# Segmentation: FCN-8s and U-Net
# --------------------------------------------------------------------------------------------


def fcn8s() -> Net:
    net = Net(
        "fcn8s",
        [
            "FCN-8s (Long, Shelhamer, Darrell, 2015), the VGG16-based fully convolutional net with",
            "skips from pool4 and pool3, as the authors' voc-fcn8s (Caffe): VGG16's 13 convs",
            "(bias, ReLU) and 5 max pools; fc6 and fc7 as convolutions (7x7 and 1x1 to 4096",
            "channels, ReLU; Dropout omitted); score layers are 1x1 convs to the classes with",
            "bias; the upsampling layers are transposed convs without bias (the paper's",
            "'deconvolution', initialised to bilinear): upscore2 and upscore_pool4 4x4 stride 2,",
            "upscore8 16x16 stride 8. Padded variant: the original pads conv1_1 by 100 and crops",
            "each skip and the output (Caffe Crop layers); here conv1_1 pads 1, fc6 pads 3, the",
            "transposed convs crop 1 / 1 / 4 (padding), so every skip aligns without a crop and",
            "the output is classes x resolution x resolution for a resolution divisible by 32",
            "(default 512, PASCAL VOC images are up to 500 pixels a side). Parameters are those",
            "of the original (padding has none); MACs are fewer than the pad-100 original's.",
        ],
        "Long, Shelhamer, Darrell: Fully Convolutional Networks for Semantic Segmentation, "
        "CVPR 2015 (voc-fcn8s in github.com/shelhamer/fcn.berkeleyvision.org)",
        {"resolution": 512, "classes": 21},
        "paper Table 1, FCN-VGG16: 134 M parameters (134,346,581 here without the upsampling "
        "filters and the two skip score layers, which add 143,178).",
    )
    skips = {3: "pool3", 4: "pool4"}
    for stage, widths in enumerate(_VGG["vgg16"], start=1):
        net.comment(f"block {stage}: {len(widths)} x conv3x3({widths[0]}), maxpool 2x2")
        for index, width in enumerate(widths, start=1):
            net.conv(f"conv{stage}_{index}", width, 3, padding=1, act="relu")
        net.layer(skips.get(stage, f"pool{stage}"), "maxpool", kernel=2, stride=2)
    net.comment("fc6 and fc7 as convolutions, score at stride 32")
    net.conv("fc6", 4096, 7, padding=3, act="relu")
    net.conv("fc7", 4096, 1, act="relu")
    net.conv("score_fr", "${classes}", 1)
    net.comment("2x up, + score of pool4 (stride 16)")
    def upsample(name: str, kernel: int, stride: int, padding: int) -> str:
        return net.layer(name, "conv_transpose", out_channels="${classes}", kernel=kernel,
                         stride=stride, padding=padding, bias=False)

    upsample("upscore2", 4, 2, 1)
    net.conv("score_pool4", "${classes}", 1, inputs=["pool4"])
    net.layer("fuse_pool4", "add", ["upscore2", "score_pool4"])
    net.comment("2x up, + score of pool3 (stride 8)")
    upsample("upscore_pool4", 4, 2, 1)
    net.conv("score_pool3", "${classes}", 1, inputs=["pool3"])
    net.layer("fuse_pool3", "add", ["upscore_pool4", "score_pool3"])
    net.comment("8x up to the input resolution")
    upsample("upscore8", 16, 8, 4)
    return net


def unet() -> Net:
    net = Net(
        "unet",
        [
            "U-Net (Ronneberger, Fischer, Brox, 2015), the paper's Fig. 1 network in its common",
            "padded variant: a contracting path of 2 x (conv3x3 + ReLU) per level with 64, 128,",
            "256, 512, 1024 channels and max pool 2x2/2 between levels; an expanding path of",
            "up-convolutions (transposed conv 2x2 stride 2 halving the channels, with bias),",
            "concatenation with the contracting path's feature map of that level, 2 x (conv3x3 +",
            "ReLU); a final conv1x1 to the classes (the paper's 2). Convolutions have bias, no",
            "BatchNorm (as the paper). Input 1 channel (the paper's grey EM images). The paper's",
            "convolutions are unpadded (572x572 in, 388x388 out) and it crops each skip to the",
            "expanding path's size; here the convs pad 1, so nothing is cropped and the output",
            "has the input's size, for a resolution divisible by 16 (default 512). Parameters",
            "are the same either way; MACs differ from the unpadded network's.",
        ],
        "Ronneberger, Fischer, Brox: U-Net: Convolutional Networks for Biomedical Image "
        "Segmentation, MICCAI 2015, Fig. 1",
        {"resolution": 512, "classes": 2},
        "the paper states no parameter or operation count; independent count from its Fig. 1 "
        "in tests/test_zoo.py.",
        channels=1,
    )
    widths = [64, 128, 256, 512, 1024]
    skips = []
    for level, width in enumerate(widths, start=1):
        name = f"down{level}"
        if level > 1:
            net.comment(f"{name}: maxpool 2x2, 2 x conv3x3({width})")
            net.layer(f"{name}.pool", "maxpool", kernel=2, stride=2)
        else:
            net.comment(f"{name}: 2 x conv3x3({width})")
        net.conv(f"{name}.conv1", width, 3, padding=1, act="relu")
        skips.append(net.conv(f"{name}.conv2", width, 3, padding=1, act="relu"))
    for level, width in enumerate(reversed(widths[:-1]), start=1):
        name = f"up{level}"
        net.comment(f"{name}: up-conv 2x2 to {width}, concat with {skips[-1 - level]}, "
                    f"2 x conv3x3({width})")
        up = net.layer(f"{name}.upconv", "conv_transpose", out_channels=width, kernel=2,
                       stride=2)
        net.layer(f"{name}.concat", "concat", [skips[-1 - level], up])
        net.conv(f"{name}.conv1", width, 3, padding=1, act="relu")
        net.conv(f"{name}.conv2", width, 3, padding=1, act="relu")
    net.comment("output: conv1x1 to the classes")
    net.conv("outc", "${classes}", 1)
    return net


# --------------------------------------------------------------------------------------------


def _wrap(text: str, width: int = 94) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current else lines


GENERATORS: dict[str, Callable[[], Net]] = {
    "alexnet": alexnet,
    "alexnet_v1": alexnet_v1,
    "vgg16": lambda: vgg("vgg16"),
    "vgg19": lambda: vgg("vgg19"),
    "resnet18": lambda: resnet("resnet18"),
    "resnet34": lambda: resnet("resnet34"),
    "resnet50": lambda: resnet("resnet50"),
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_large": lambda: mobilenet_v3("mobilenet_v3_large"),
    "mobilenet_v3_small": lambda: mobilenet_v3("mobilenet_v3_small"),
    "googlenet": googlenet,
    "densenet121": densenet121,
    "lenet5_tanh": lenet5_tanh,
    "fcn8s": fcn8s,
    "unet": unet,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"networks to write (default: all): "
                        f"{', '.join(GENERATORS)}")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed file differs")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in GENERATORS]
    if unknown:
        choices = ", ".join(GENERATORS)
        parser.error(f"unknown network(s) {', '.join(unknown)}; choose from {choices}")
    stale = []
    for name in args.names or GENERATORS:
        text = GENERATORS[name]().text()
        path = WORKLOADS / f"{name}.yaml"
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; rerun python tools/gen_workloads.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

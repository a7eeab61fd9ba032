"""Small ONNX graphs built with onnx.helper, one per model-zoo family, with seeded weights.

Each builder mimics how the family's real ONNX exports are wired (AlexNet's LRN + Dropout +
Gemm(transB) head, GoogLeNet's concatenated branches, DenseNet's pre-activation BatchNorm after
a concat, ShuffleNet's reshape-transpose-reshape shuffle, MobileNetV2's Clip in both opset forms,
EfficientNet-lite's NHWC input with a leading Transpose, ...) at a small width and resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphBuilder:
    """Append nodes one call at a time; each call returns the new output's name."""

    def __init__(self, name: str, shape: Sequence[int | str], opset: int = 13,
                 input_name: str = "input", seed: int = 0) -> None:
        self.name, self.opset = name, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs = [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(shape))]
        self.input = input_name
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def _name(self, op: str) -> str:
        self.count += 1
        return f"{op.lower()}{self.count}"

    def constant(self, array: np.ndarray, name: str | None = None) -> str:
        name = name or self._name("const")
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: Sequence[str], outputs: int = 1, domain: str = "",
             **attrs: Any) -> str:
        name = self._name(op)
        outs = [f"{name}_out{i}" if i else name for i in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name, domain=domain,
                                           **attrs))
        return outs[0]

    def weights(self, *shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:])) or 1
        return (self.rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32)

    def conv(self, x: str, in_ch: int, out_ch: int, kernel: int, stride: int = 1,
             pad: int | None = None, group: int = 1, bias: bool = True, **attrs: Any) -> str:
        w = self.constant(self.weights(out_ch, in_ch // group, kernel, kernel))
        inputs = [x, w] + ([self.constant(self.weights(out_ch) * 0.1)] if bias else [])
        if "auto_pad" not in attrs:
            p = kernel // 2 if pad is None else pad
            attrs["pads"] = [p, p, p, p]
        return self.node("Conv", inputs, kernel_shape=[kernel, kernel], strides=[stride, stride],
                         group=group, **attrs)

    def bn(self, x: str, channels: int) -> str:
        gamma = (1 + 0.1 * self.rng.standard_normal(channels)).astype(np.float32)
        beta = (0.1 * self.rng.standard_normal(channels)).astype(np.float32)
        mean = (0.1 * self.rng.standard_normal(channels)).astype(np.float32)
        var = (1 + 0.1 * self.rng.random(channels)).astype(np.float32)
        names = [self.constant(a) for a in (gamma, beta, mean, var)]
        return self.node("BatchNormalization", [x, *names], epsilon=1e-5)

    def relu(self, x: str) -> str:
        return self.node("Relu", [x])

    def relu6(self, x: str) -> str:
        if self.opset < 11:
            return self.node("Clip", [x], min=0.0, max=6.0)
        low = self.constant(np.array(0.0, np.float32))
        high = self.constant(np.array(6.0, np.float32))
        return self.node("Clip", [x, low, high])

    def maxpool(self, x: str, kernel: int, stride: int, pad: int = 0, ceil: int = 0) -> str:
        extra = {"ceil_mode": ceil} if ceil else {}  # ceil_mode exists from opset 10 on
        return self.node("MaxPool", [x], kernel_shape=[kernel, kernel], strides=[stride, stride],
                         pads=[pad] * 4, **extra)

    def avgpool(self, x: str, kernel: int, stride: int, pad: int = 0, include: int = 0) -> str:
        return self.node("AveragePool", [x], kernel_shape=[kernel, kernel],
                         strides=[stride, stride], pads=[pad] * 4, count_include_pad=include)

    def gemm(self, x: str, in_f: int, out_f: int, trans_b: int = 1) -> str:
        w = self.weights(out_f, in_f)
        b = self.constant((0.1 * self.rng.standard_normal(out_f)).astype(np.float32))
        return self.node("Gemm", [x, self.constant(w if trans_b else w.T.copy()), b],
                         transB=trans_b)

    def model(self, outputs: Sequence[str]) -> Any:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, [], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model, data_prop=True).graph.value_info}
        for name in outputs:  # declare outputs with their inferred types, as exporters do
            known = inferred.get(name)
            if known is None or not known.type.tensor_type.HasField("shape"):
                known = helper.make_tensor_value_info(name, TensorProto.FLOAT, ["?"])
            model.graph.output.append(known)
        onnx.checker.check_model(model)
        return model


def alexnet() -> Any:
    g = GraphBuilder("alexnet", [1, 3, 67, 67], opset=9, input_name="data_0")
    x = g.relu(g.conv(g.input, 3, 16, 11, stride=4, pad=2))
    x = g.maxpool(g.node("LRN", [x], size=5, alpha=1e-4, beta=0.75, bias=1.0), 3, 2)
    x = g.relu(g.conv(x, 16, 24, 5, pad=2))
    x = g.maxpool(g.node("LRN", [x], size=5), 3, 2)
    for cin, cout in ((24, 32), (32, 32), (32, 24)):
        x = g.relu(g.conv(x, cin, cout, 3))
    x = g.maxpool(x, 3, 2)
    x = g.node("Reshape", [x, g.constant(np.array([1, -1], np.int64))])
    x = g.node("Dropout", [g.relu(g.gemm(x, 24, 64))], ratio=0.5)
    x = g.node("Dropout", [g.relu(g.gemm(x, 64, 64))], ratio=0.5)
    return g.model([g.node("Softmax", [g.gemm(x, 64, 10)], axis=1)])


def vgg() -> Any:
    g = GraphBuilder("vgg", [1, 3, 32, 32])
    x, channels = g.input, 3
    for width, repeats in ((8, 1), (16, 2), (32, 2)):
        for _ in range(repeats):
            x, channels = g.relu(g.conv(x, channels, width, 3)), width
        x = g.maxpool(x, 2, 2)
    x = g.node("Flatten", [x], axis=1)
    x = g.relu(g.gemm(x, 32 * 16, 64))
    return g.model([g.gemm(x, 64, 10)])


def resnet() -> Any:
    g = GraphBuilder("resnet", ["N", 3, 64, 64], input_name="data")
    x = g.relu(g.bn(g.conv(g.input, 3, 16, 7, stride=2, pad=3, bias=False), 16))
    x, channels = g.maxpool(x, 3, 2, pad=1), 16
    for width, stride in ((16, 1), (32, 2)):
        y = g.relu(g.bn(g.conv(x, channels, width, 3, stride=stride, bias=False), width))
        y = g.bn(g.conv(y, width, width, 3, bias=False), width)
        if stride != 1:
            x = g.bn(g.conv(x, channels, width, 1, stride=stride, pad=0, bias=False), width)
        x, channels = g.relu(g.node("Add", [y, x])), width
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    return g.model([g.gemm(x, 32, 10)])


def googlenet() -> Any:
    g = GraphBuilder("googlenet", [1, 3, 48, 48])
    x = g.relu(g.conv(g.input, 3, 16, 7, stride=2, pad=3))
    x = g.node("LRN", [g.maxpool(x, 3, 2, ceil=1)], size=5)
    x = g.relu(g.conv(x, 16, 24, 3))

    def inception(x: str, cin: int, b1: int, b3: tuple[int, int], b5: tuple[int, int],
                  bp: int) -> str:
        one = g.relu(g.conv(x, cin, b1, 1))
        three = g.relu(g.conv(g.relu(g.conv(x, cin, b3[0], 1)), b3[0], b3[1], 3))
        five = g.relu(g.conv(g.relu(g.conv(x, cin, b5[0], 1)), b5[0], b5[1], 5))
        pool = g.relu(g.conv(g.maxpool(x, 3, 1, pad=1), cin, bp, 1))
        return g.node("Concat", [one, three, five, pool], axis=1)

    x = inception(x, 24, 8, (8, 12), (4, 6), 6)  # 32 channels
    x = inception(g.maxpool(x, 3, 2, ceil=1), 32, 12, (8, 16), (4, 8), 8)  # 44
    x = g.avgpool(x, 6, 1)
    x = g.node("Dropout", [g.node("Flatten", [x])])
    return g.model([g.node("Softmax", [g.gemm(x, 44, 10)], axis=1)])


def densenet() -> Any:
    g = GraphBuilder("densenet", [1, 3, 32, 32])
    x = g.relu(g.bn(g.conv(g.input, 3, 16, 3, bias=False), 16))
    channels, growth = 16, 8
    for block in range(2):
        for _ in range(2):
            y = g.conv(g.relu(g.bn(x, channels)), channels, 4 * growth, 1, pad=0, bias=False)
            y = g.conv(g.relu(g.bn(y, 4 * growth)), 4 * growth, growth, 3, bias=False)
            x, channels = g.node("Concat", [x, y], axis=1), channels + growth
        if block == 0:
            x = g.conv(g.relu(g.bn(x, channels)), channels, channels // 2, 1, pad=0, bias=False)
            x, channels = g.avgpool(x, 2, 2), channels // 2
    x = g.node("GlobalAveragePool", [g.relu(g.bn(x, channels))])
    return g.model([g.gemm(g.node("Flatten", [x]), channels, 10)])


def squeezenet() -> Any:
    g = GraphBuilder("squeezenet", [1, 3, 47, 47], opset=10)
    x = g.maxpool(g.relu(g.conv(g.input, 3, 16, 3, stride=2, pad=0)), 3, 2, ceil=1)

    def fire(x: str, cin: int, squeeze: int, expand: int) -> str:
        s = g.relu(g.conv(x, cin, squeeze, 1, pad=0))
        return g.node("Concat", [g.relu(g.conv(s, squeeze, expand, 1, pad=0)),
                                 g.relu(g.conv(s, squeeze, expand, 3))], axis=1)

    x = fire(fire(x, 16, 4, 8), 16, 4, 8)
    x = fire(g.maxpool(x, 3, 2, ceil=1), 16, 8, 16)
    x = g.node("Dropout", [x], ratio=0.5)
    x = g.node("GlobalAveragePool", [g.relu(g.conv(x, 32, 10, 1, pad=0))])
    x = g.node("Reshape", [x, g.constant(np.array([1, 10], np.int64))])
    return g.model([g.node("Softmax", [x], axis=1)])


def shufflenet() -> Any:
    g = GraphBuilder("shufflenet", [1, 3, 32, 32], opset=11)
    x = g.maxpool(g.relu(g.conv(g.input, 3, 24, 3, stride=2)), 3, 2, pad=1)

    def shuffle(x: str, channels: int, groups: int, size: int) -> str:
        x = g.node("Reshape", [x, g.constant(np.array(
            [1, groups, channels // groups, size, size], np.int64))])
        x = g.node("Transpose", [x], perm=[0, 2, 1, 3, 4])
        return g.node("Reshape", [x, g.constant(np.array([1, -1, size, size], np.int64))])

    # ShuffleNet v1 unit: grouped 1x1, shuffle, depthwise 3x3, grouped 1x1, residual add.
    y = g.relu(g.conv(x, 24, 24, 1, pad=0, group=3))
    y = g.conv(shuffle(y, 24, 3, 8), 24, 24, 3, group=24)
    x = g.relu(g.node("Add", [g.conv(y, 24, 24, 1, pad=0, group=3), x]))
    # ShuffleNet v2 downsampling unit: two branches concatenated, then shuffled.
    left = g.relu(g.conv(g.conv(x, 24, 24, 3, stride=2, group=24), 24, 24, 1, pad=0))
    right = g.conv(g.relu(g.conv(x, 24, 24, 1, pad=0)), 24, 24, 3, stride=2, group=24)
    x = shuffle(g.node("Concat", [left, g.relu(g.conv(right, 24, 24, 1, pad=0))], axis=1), 48,
                2, 4)
    x = g.node("ReduceMean", [x], axes=[2, 3], keepdims=0)
    return g.model([g.gemm(x, 48, 10)])


def mobilenet_v2(opset: int = 13) -> Any:
    g = GraphBuilder(f"mobilenet_v2_opset{opset}", [1, 3, 32, 32], opset=opset)
    x = g.relu6(g.bn(g.conv(g.input, 3, 16, 3, stride=2, bias=False), 16))

    def inverted(x: str, cin: int, cout: int, stride: int, expand: int = 4) -> str:
        hidden = cin * expand
        y = g.relu6(g.conv(x, cin, hidden, 1, pad=0))
        y = g.relu6(g.conv(y, hidden, hidden, 3, stride=stride, group=hidden))
        y = g.conv(y, hidden, cout, 1, pad=0)
        return g.node("Add", [x, y]) if stride == 1 and cin == cout else y

    x = inverted(inverted(inverted(x, 16, 16, 1), 16, 24, 2), 24, 24, 1)
    x = g.node("GlobalAveragePool", [g.relu6(g.conv(x, 24, 64, 1, pad=0))])
    # torch's x.view(x.size(0), -1): the target shape is computed from the tensor's shape.
    batch = g.node("Gather", [g.node("Shape", [x]), g.constant(np.array(0, np.int64))], axis=0)
    unsq = (g.node("Unsqueeze", [batch], axes=[0]) if opset < 13 else
            g.node("Unsqueeze", [batch, g.constant(np.array([0], np.int64))]))
    shape = g.node("Concat", [unsq, g.constant(np.array([-1], np.int64))], axis=0)
    x = g.node("Reshape", [x, shape])
    return g.model([g.gemm(g.node("Dropout", [x]), 64, 10)])


def efficientnet_lite() -> Any:
    g = GraphBuilder("efficientnet_lite", [1, 32, 32, 3], input_name="images:0")
    x = g.node("Transpose", [g.input], perm=[0, 3, 1, 2])
    x = g.relu6(g.conv(x, 3, 16, 3, stride=2, auto_pad="SAME_UPPER"))
    x = g.relu6(g.conv(x, 16, 16, 3, group=16, auto_pad="SAME_UPPER"))
    x = g.conv(x, 16, 24, 1, pad=0)
    pads = g.constant(np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))
    x = g.node("Pad", [g.relu6(g.conv(x, 24, 48, 1, pad=0)), pads], mode="constant")
    x = g.relu6(g.conv(x, 48, 48, 3, stride=2, pad=0, group=48))
    x = g.relu6(g.conv(g.conv(x, 48, 32, 1, pad=0), 32, 64, 1, pad=0))
    x = g.node("ReduceMean", [x], axes=[2, 3], keepdims=0)
    w = g.constant(g.weights(64, 10))
    bias = g.constant(np.zeros(10, np.float32))
    return g.model([g.node("Softmax", [g.node("Add", [g.node("MatMul", [x, w]), bias])])])


def mobilenet_v3() -> Any:
    g = GraphBuilder("mobilenet_v3", [1, 3, 32, 32], opset=14)
    x = g.node("HardSwish", [g.conv(g.input, 3, 16, 3, stride=2)])
    y = g.relu(g.conv(x, 16, 16, 3, group=16))
    se = g.node("GlobalAveragePool", [y])
    se = g.node("HardSigmoid", [g.conv(g.relu(g.conv(se, 16, 8, 1, pad=0)), 8, 16, 1, pad=0)],
                alpha=1 / 6, beta=0.5)
    x = g.node("Add", [g.conv(g.node("Mul", [y, se]), 16, 16, 1, pad=0), x])
    x = g.node("Sigmoid", [g.node("LeakyRelu", [x], alpha=0.1)])
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    return g.model([g.gemm(x, 16, 10)])


FAMILIES: dict[str, Callable[[], Any]] = {
    "alexnet": alexnet,
    "vgg": vgg,
    "resnet": resnet,
    "googlenet": googlenet,
    "densenet": densenet,
    "squeezenet": squeezenet,
    "shufflenet": shufflenet,
    "mobilenet_v2_opset9": lambda: mobilenet_v2(9),
    "mobilenet_v2_opset13": lambda: mobilenet_v2(13),
    "efficientnet_lite": efficientnet_lite,
    "mobilenet_v3": mobilenet_v3,
}

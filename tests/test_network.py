"""The network DAG: default chaining, topological order, and errors that name both layers."""

from __future__ import annotations

import pytest

from accel.errors import InputError
from accel.model.network import LayerEntry, Network
from accel.model.ops import Add, Concat, Conv, FullyConnected, Shape
from accel.model.pool_ops import MaxPool

IMAGE = Shape(3, 32, 32)


def test_layers_chain_by_default() -> None:
    net = Network.build(
        "n",
        IMAGE,
        [
            LayerEntry("c1", Conv(out_channels=8, kernel=3, padding=1)),
            LayerEntry("p1", MaxPool(kernel=2, stride=2)),
            LayerEntry("fc", FullyConnected(out_features=10)),
        ],
    )
    assert [layer.inputs for layer in net] == [("input",), ("c1",), ("p1",)]
    assert net.layer("fc").input_shapes == (Shape(8, 16, 16),)
    assert net.params == (3 * 9 * 8 + 8) + (8 * 16 * 16 * 10 + 10)
    assert net.outputs == ("fc",)


def test_entries_may_be_written_out_of_order() -> None:
    net = Network.build(
        "n",
        IMAGE,
        [
            LayerEntry("sum", Add(), ("a", "b")),
            LayerEntry("a", Conv(out_channels=4, kernel=1), ("input",)),
            LayerEntry("b", Conv(out_channels=4, kernel=1), ("input",)),
        ],
    )
    assert [layer.name for layer in net] == ["a", "b", "sum"]


def test_gemm_view_per_group() -> None:
    net = Network.build(
        "n",
        Shape(32, 14, 14),
        [
            LayerEntry("dw", Conv(out_channels=32, kernel=3, padding=1, groups=32)),
        ],
    )
    gemm = net.layer("dw").gemm
    assert gemm is not None
    assert (gemm.m, gemm.k, gemm.n, gemm.groups) == (196, 9, 1, 32)
    assert net.layer("dw").label == "depthwise"


def test_unknown_input_suggests_a_layer() -> None:
    with pytest.raises(
        InputError, match=r"layer 'b' reads 'cnv1', which is not a layer \(did you mean 'conv1'\?\)"
    ):
        Network.build(
            "n",
            IMAGE,
            [
                LayerEntry("conv1", Conv(out_channels=4, kernel=1)),
                LayerEntry("b", Conv(out_channels=4, kernel=1), ("cnv1",)),
            ],
        )


def test_cycle_is_named() -> None:
    with pytest.raises(InputError, match=r"must form a DAG, but 'x', 'y' depend on each other"):
        Network.build(
            "n",
            IMAGE,
            [
                LayerEntry("x", Conv(out_channels=4, kernel=1), ("y",)),
                LayerEntry("y", Conv(out_channels=4, kernel=1), ("x",)),
            ],
        )


def test_shape_mismatch_names_both_layers() -> None:
    with pytest.raises(
        InputError, match=r"layer 'sum' cannot take its input from 'a' \(4x32x32\), 'b' \(8x32x32\)"
    ):
        Network.build(
            "n",
            IMAGE,
            [
                LayerEntry("a", Conv(out_channels=4, kernel=1), ("input",)),
                LayerEntry("b", Conv(out_channels=8, kernel=1), ("input",)),
                LayerEntry("sum", Add(), ("a", "b")),
            ],
        )


def test_concat_needs_equal_planes() -> None:
    with pytest.raises(InputError, match="concat inputs must share height and width"):
        Network.build(
            "n",
            IMAGE,
            [
                LayerEntry("a", Conv(out_channels=4, kernel=1), ("input",)),
                LayerEntry("b", Conv(out_channels=4, kernel=3), ("input",)),
                LayerEntry("cat", Concat(), ("a", "b")),
            ],
        )


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(InputError, match="layer name 'a' must be unique"):
        Network.build(
            "n",
            IMAGE,
            [
                LayerEntry("a", Conv(out_channels=4, kernel=1)),
                LayerEntry("a", Conv(out_channels=4, kernel=1)),
            ],
        )


def test_arity_is_checked() -> None:
    with pytest.raises(InputError, match=r"layer 'sum' \(add\) must have at least 2 inputs, not 1"):
        Network.build("n", IMAGE, [LayerEntry("sum", Add())])


def test_kernel_larger_than_input_names_layer() -> None:
    with pytest.raises(
        InputError,
        match=r"layer 'big' cannot take its input from 'input' \(3x32x32\): kernel extent 35",
    ):
        Network.build("n", IMAGE, [LayerEntry("big", Conv(out_channels=4, kernel=35))])

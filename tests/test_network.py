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


def _rounds_order(entries: list[LayerEntry], done: set[str]) -> tuple[list[str], list[str]]:
    """The order as Kahn's algorithm in rescanned rounds gives it, and the layers left in a
    cycle (or depending on one), in written order."""
    ordered: list[str] = []
    pending = list(entries)
    while pending:
        ready = [e for e in pending if all(source in done for source in e.inputs)]
        if not ready:
            return ordered, [e.name for e in pending]
        done.update(e.name for e in ready)
        ordered.extend(e.name for e in ready)
        pending = [e for e in pending if e.name not in done]
    return ordered, []


@pytest.mark.parametrize("seed", range(40))
def test_topological_order_is_the_rounds_order(seed: int) -> None:
    """Random DAGs (and some cycles) written in shuffled order: each layer's round worked out
    once from its inputs gives the rounds' order and the same cycle error."""
    import random

    from accel.model.network import _topological_order

    rng = random.Random(seed)
    count = rng.randint(1, 30)
    entries = []
    for i in range(count):
        sources = ["input", *(f"l{j}" for j in range(i))]
        inputs = tuple(rng.choice(sources) for _ in range(rng.randint(1, 3)))
        entries.append(LayerEntry(f"l{i}", Add(), inputs))
    if seed % 5 == 4:  # a cycle: an early layer reads a later one
        last = entries[0]
        entries[0] = LayerEntry(last.name, last.op, (*last.inputs, f"l{count - 1}"))
    rng.shuffle(entries)
    expected, stuck = _rounds_order(entries, {"input"})
    if stuck:
        names = ", ".join(repr(name) for name in stuck[:6])
        with pytest.raises(InputError) as caught:
            _topological_order(entries, {"input"})
        assert str(caught.value) == f"the layers must form a DAG, but {names} depend on each other"
    else:
        assert [e.name for e in _topological_order(entries, {"input"})] == expected

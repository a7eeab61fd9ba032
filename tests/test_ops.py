"""Operators: output sizes, MACs and parameter counts by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel.model.ops import Conv, FullyConnected, Mul, Shape, ShapeError
from accel.model.pool_ops import AvgPool, MaxPool


def test_conv_output_size_uses_floor() -> None:
    conv = Conv(out_channels=64, kernel=11, stride=4, padding=2)
    assert conv.output_shape((Shape(3, 224, 224),)) == Shape(64, 55, 55)


def test_ceil_mode_keeps_scalesim_convention() -> None:
    # 224 with an 11x11 kernel at stride 4 and no padding: floor gives 54, ceil (SCALE-Sim) 55.
    floor = Conv(out_channels=96, kernel=11, stride=4)
    ceil = Conv(out_channels=96, kernel=11, stride=4, ceil_mode="scalesim")
    assert floor.output_shape((Shape(3, 224, 224),)).height == 54
    assert ceil.output_shape((Shape(3, 224, 224),)).height == 55


def test_ceil_mode_drops_a_window_that_starts_in_padding() -> None:
    # ONNX Runtime / PyTorch: H=4, k=3, s=2, pads 0/2: ceil gives 3 windows, the last starts at
    # row 4 (all padding) and is dropped; SCALE-Sim's rule keeps it.
    pool = MaxPool(kernel=3, stride=2, padding=[0, 2, 0, 2], ceil_mode=True)
    assert pool.output_shape((Shape(1, 4, 4),)) == Shape(1, 2, 2)
    scalesim = Conv(out_channels=1, kernel=1, stride=2, ceil_mode="scalesim")
    assert scalesim.output_shape((Shape(1, 56, 56),)).height == 29
    assert (
        Conv(out_channels=1, kernel=1, stride=2, ceil_mode=True)
        .output_shape((Shape(1, 56, 56),))
        .height
        == 28
    )


def test_same_padding_matches_tensorflow() -> None:
    conv = Conv(out_channels=8, kernel=3, stride=2, padding="same")
    assert conv.pads(224, 224) == (0, 1, 0, 1)  # TF puts the odd pixel at the end
    assert conv.output_shape((Shape(3, 224, 224),)) == Shape(8, 112, 112)
    lower = Conv(out_channels=8, kernel=3, stride=2, padding="same_lower")
    assert lower.pads(224, 224) == (1, 0, 1, 0)


def test_asymmetric_padding_and_dilation() -> None:
    conv = Conv(out_channels=4, kernel=3, padding=[0, 2, 1, 0], dilation=2)
    # height: 10 + 0 + 2 - 2*(3-1) - 1 = 7 -> 8; width: 10 + 1 + 0 - 5 = 6 -> 7
    assert conv.output_shape((Shape(2, 10, 10),)) == Shape(4, 8, 7)


def test_depthwise_macs_and_params() -> None:
    conv = Conv(out_channels=32, kernel=3, padding=1, groups=32, bias=False, batchnorm=True)
    inputs = (Shape(32, 112, 112),)
    out = conv.output_shape(inputs)
    assert conv.macs(inputs, out) == 112 * 112 * 32 * 9
    assert conv.params(inputs) == 32 * 9 + 2 * 32


def test_groups_must_divide_channels() -> None:
    with pytest.raises(ShapeError, match="groups must divide in_channels 30"):
        Conv(out_channels=32, kernel=1, groups=4).output_shape((Shape(30, 8, 8),))


def test_kernel_larger_than_padded_input() -> None:
    with pytest.raises(ShapeError, match="kernel extent 7 must fit the padded input size 5"):
        Conv(out_channels=1, kernel=7).output_shape((Shape(1, 5, 5),))


def test_fc_flattens_its_input() -> None:
    fc = FullyConnected(out_features=4096)
    inputs = (Shape(512, 7, 7),)
    assert fc.params(inputs) == 25088 * 4096 + 4096
    assert fc.macs(inputs, fc.output_shape(inputs)) == 25088 * 4096


def test_pooling_with_ceil_mode() -> None:
    pool = MaxPool(kernel=3, stride=2, ceil_mode=True)
    assert pool.output_shape((Shape(64, 112, 112),)) == Shape(64, 56, 56)
    assert AvgPool(kernel=2, stride=2).output_shape((Shape(6, 28, 28),)) == Shape(6, 14, 14)


def test_mul_accepts_a_per_channel_scale() -> None:
    mul = Mul()
    assert mul.output_shape((Shape(16, 8, 8), Shape(16, 1, 1))) == Shape(16, 8, 8)
    with pytest.raises(ShapeError, match="mul inputs must be equal or 16x1x1"):
        mul.output_shape((Shape(16, 8, 8), Shape(8, 1, 1)))


@given(
    size=st.integers(1, 64),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    pad=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_output_size_formula(size: int, kernel: int, stride: int, pad: int, dilation: int) -> None:
    conv = Conv(out_channels=1, kernel=kernel, stride=stride, padding=pad, dilation=dilation)
    extent = dilation * (kernel - 1) + 1
    if extent > size + 2 * pad:
        with pytest.raises(ShapeError):
            conv.output_shape((Shape(1, size, size),))
        return
    expected = (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    assert conv.output_shape((Shape(1, size, size),)).height == expected


def test_tensor_ops_shapes_and_costs() -> None:
    from accel.model.ops import (
        BatchNorm,
        ChannelShuffle,
        ChannelSlice,
        LocalResponseNorm,
        Pad,
        Reshape,
        Transpose,
        Unsupported,
    )

    shape = Shape(8, 4, 6)
    assert BatchNorm().params((shape,)) == 16 and BatchNorm().vector_ops((shape,), shape) == 192
    lrn = LocalResponseNorm(size=5)
    assert lrn.vector_ops((shape,), shape) == 192 * 8
    pad = Pad(padding=(1, 2, 0, 1), channel_padding=(0, 4))
    assert pad.output_shape((shape,)) == Shape(12, 7, 7)
    assert Reshape(shape=(48, 4, 1)).output_shape((shape,)) == Shape(48, 4, 1)
    assert Reshape(shape=(48, 4, 1)).vector_ops((shape,), Shape(48, 4, 1)) == 0
    assert Transpose(perm=(1, 2, 0)).output_shape((shape,)) == Shape(4, 6, 8)
    assert ChannelShuffle(groups=4).output_shape((shape,)) == shape
    assert ChannelSlice(start=2, end=6).output_shape((shape,)) == Shape(4, 4, 6)
    placeholder = Unsupported(op_type="Tanh", shape=(8, 4, 6))
    assert placeholder.vector_ops((shape,), shape) == 0 and placeholder.macs((shape,), shape) == 0


def test_tensor_op_rules() -> None:
    from accel.model.ops import ChannelShuffle, ChannelSlice, Pad, Reshape, Transpose

    with pytest.raises(ShapeError, match=r"reshape must keep 192 elements, not 10x1x1"):
        Reshape(shape=(10, 1, 1)).output_shape((Shape(8, 4, 6),))
    with pytest.raises(ShapeError, match=r"groups must divide the 8 channels, not 3"):
        ChannelShuffle(groups=3).output_shape((Shape(8, 4, 6),))
    with pytest.raises(ShapeError, match=r"channel range must lie within the 8 channels"):
        ChannelSlice(start=4, end=9).output_shape((Shape(8, 4, 6),))
    with pytest.raises(ValueError, match=r"perm must be a permutation of 0, 1, 2"):
        Transpose(perm=(0, 0, 1))
    with pytest.raises(ValueError, match=r"padding must be >= 0 \(cropping is not supported\)"):
        Pad(padding=(-1, 0, 0, 0))

"""The GEMMs of a conv or fc layer's backward pass, each as a layer the array maps like any other.

A forward conv per group is `Y = X_col · W` (the im2col view: M = batch·Ho·Wo output pixels,
K = Cin/g·kh·kw, N = Cout/g). Its backward is two more GEMMs with exactly the same MACs, because
each forward product `w · x` appears once in each:

- **dW** (backward_weight) is the correlation of the input with the output gradient,
  `dW[n, c, r, s] = Σ_b Σ_o dY[b, n, o] · X[b, c, o·stride + r·dilation − pad]`, the GEMM
  `dW = dYᵀ · X_col`: M = Cout/g, K = batch·Ho·Wo, N = Cin/g·kh·kw per group. It is mapped as a
  1×1 conv whose ifmap is dYᵀ and whose weight operand is `X_col`, the forward's im2col matrix.
  So the DMA moves `X_col`, up to kh·kw times the bytes of X (the memory model reuses windows
  only for an ifmap read through a conv's taps). Seen as a convolution of X with dY as a huge
  dilated kernel, the reuse would be exact, but the tiling search then takes seconds per layer.
- **dX** (backward_data) is the full convolution of dY with the kernel rotated 180° (and the
  channels swapped), on dY dilated by the stride. For a stride-1 conv whose padding keeps the
  plane (`pad_begin + pad_end = dilation·(k − 1)` per axis: every `same` conv) that convolution
  is computed directly: a conv of `Cout` → `Cin` channels with the mirrored padding
  `dilation·(k − 1) − pad`, whose dense MACs equal the forward's. Otherwise (strided or
  plane-changing convs) a dense full convolution would multiply the zeros inserted between dY's
  pixels (3/4 of its MACs at stride 2), so dX is instead the transposed GEMM `dX_col = dY · Wᵀ`
  (M = batch·Ho·Wo, K = Cout/g, N = Cin/g·kh·kw: a 1×1 conv over dY), which computes exactly the
  products that land on real pixels, followed by `col2im` on the vector unit, which adds each
  column into its input pixel (one add per `dX_col` element).

An fc layer is the 1×1 case: dX = dY · Wᵀ (M = batch, K = out, N = in features) and
dW = Xᵀ · dY (M = in features, K = batch, N = out features).
"""

from __future__ import annotations

from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected, Shape

WEIGHT_GRADIENT = "dW"
DATA_GRADIENT = "dX"


def weight_gradient(layer: Layer, batch: int) -> Layer:
    """dW of a conv or fc layer for `batch` images, as a 1×1 conv layer mapped with batch 1.

    Per group its GEMM is M = Cout/g (dY's channels, as the pixels of a column image), K =
    batch·Ho·Wo (dY's and X_col's pixels, as its channels) and N = Cin/g·kh·kw (X_col's
    columns, as its output channels).
    """
    shape, out = layer.input_shapes[0], layer.output_shape
    if isinstance(layer.op, FullyConnected):
        groups, taps, channels = 1, 1, shape.elements
    else:
        conv = _conv(layer)
        groups, taps, channels = conv.groups, conv.kernel[0] * conv.kernel[1], shape.channels
    op = Conv(kernel=1, out_channels=channels * taps, groups=groups, bias=False)
    column = Shape(groups * batch * out.height * out.width, out.channels // groups, 1)
    name = f"{layer.name}.{WEIGHT_GRADIENT}"
    return Layer(name, op, (layer.name,), (column,), op.output_shape((column,)))


def keeps_plane(layer: Layer) -> bool:
    """A stride-1 conv whose padding keeps the plane: dX is a direct full convolution."""
    conv = _conv(layer)
    shape = layer.input_shapes[0]
    top, bottom, left, right = conv.fitted_pads(shape.height, shape.width)
    spans = (conv.dilation[0] * (conv.kernel[0] - 1), conv.dilation[1] * (conv.kernel[1] - 1))
    return conv.stride == (1, 1) and (top + bottom, left + right) == spans and (
        max(top, bottom) <= spans[0] and max(left, right) <= spans[1]
    )


def data_gradient(layer: Layer) -> Layer:
    """dX of a conv or fc layer as a layer on the array (per image, like the forward).

    Its output is dX itself for fc and plane-keeping convs, else the `dX_col` columns that
    `col2im` adds into dX (`needs_col2im`).
    """
    name = f"{layer.name}.{DATA_GRADIENT}"
    shape = layer.input_shapes[0]
    out = layer.output_shape
    if isinstance(layer.op, FullyConnected):
        op = FullyConnected(out_features=shape.elements, bias=False)
        return Layer(name, op, (layer.name,), (out,), Shape(shape.elements, 1, 1))
    conv = _conv(layer)
    if keeps_plane(layer):
        top, bottom, left, right = conv.fitted_pads(shape.height, shape.width)
        span_h = conv.dilation[0] * (conv.kernel[0] - 1)
        span_w = conv.dilation[1] * (conv.kernel[1] - 1)
        mirrored = Conv(
            kernel=conv.kernel,
            dilation=conv.dilation,
            padding=(span_h - top, span_h - bottom, span_w - left, span_w - right),
            out_channels=shape.channels,
            groups=conv.groups,
            bias=False,
        )
        assert mirrored.output_shape((out,)) == shape, f"{layer.name}: dX full convolution"
        return Layer(name, mirrored, (layer.name,), (out,), shape)
    taps = conv.kernel[0] * conv.kernel[1]
    columns = Conv(kernel=1, out_channels=shape.channels * taps, groups=conv.groups, bias=False)
    return Layer(name, columns, (layer.name,), (out,), columns.output_shape((out,)))


def needs_col2im(layer: Layer) -> bool:
    """True when dX is computed as columns that `col2im` must add into the input gradient."""
    return isinstance(layer.op, Conv) and not keeps_plane(layer)


def _conv(layer: Layer) -> Conv:
    if not isinstance(layer.op, Conv):
        raise ValueError(f"layer {layer.name!r} is not a conv layer, but {layer.kind!r}")
    return layer.op

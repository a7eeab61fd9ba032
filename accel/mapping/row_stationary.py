"""Row stationary (Eyeriss): one filter row per PE, ifmap rows sliding diagonally, psums upward.

A conv layer is broken into 1-D row convolutions. A *PE set* of `R × e` PEs computes `e` ofmap
rows: PE (i, j) keeps filter row i, reads ifmap row `j·U + i` and adds its row of partial sums
to the one coming up from the PE below, so column j ends with ofmap row j. On the physical
`rows × cols` array (Chen et al., JSSC 2017, Sec. IV):

- a set wider than the array is *folded*: its `ceil(E / cols)` segments are stacked vertically
  when `R · segments` rows fit (AlexNet CONV2: 5 × 27 → 10 × 14, 135 PEs);
- otherwise the ofmap is *strip-mined* into strips of `e < E` rows, each a separate pass over
  the ifmap rows it needs (CONV1: 11 × 7, two sets side by side);
- sets that fit several times are *replicated*: `t` sets take different filters (they share the
  ifmap by multicast) and `r` sets different channels.

Inside a PE the scratchpads decide how much work a pass holds: `q` channels of a filter row
(`q·S` ifmap entries), `p` filters (`p·q·S` filter entries, `p` psum entries). A *pass* is one
run of the array over `n` images, `p·t` filters and `q·r` channels of one strip; the global
buffer keeps the partial sums of `m` ofmap channels (`n·m·e·F` psums) and the ifmap rows of
one pass's channels, so passes loop: groups → image blocks of `n` → strips → ofmap-channel
blocks of `m` → channel chunks of `q·r` → filter chunks of `p·t` → filter-row / -column chunks
(a filter taller than the array or wider than the ifmap scratchpad).

The mapping rule is one for every layer: the set folded if it fits, else strip-mined at the
`e` within 2% of the most busy PEs that reads the global buffer least per MAC; its sets split
into `r × t` and the scratchpads filled (`q`, `p`) for the fewest MAC cycles over channels ×
filters, a pass's filters fitting the filter buffer; then `n` and `m` with the least DRAM
traffic that fits the global buffer (ties: more images, more channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.array import ceil_div, fold_sizes
from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected


@dataclass(frozen=True)
class ConvShape:
    """One group's conv as Eyeriss's paper names it (FC: a 1×1 conv on a 1×1 map)."""

    groups: int
    in_channels: int  # C, per group
    out_channels: int  # M, per group
    filter_height: int  # R
    filter_width: int  # S
    stride_height: int  # U
    stride_width: int
    ifmap_height: int  # H, without padding
    ifmap_width: int  # W
    pad_top: int
    pad_left: int
    ofmap_height: int  # E
    ofmap_width: int  # F

    @classmethod
    def of(cls, layer: Layer) -> ConvShape:
        op, shape = layer.op, layer.input_shapes[0]
        if isinstance(op, FullyConnected):
            return cls(1, shape.elements, op.out_features, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1)
        if not isinstance(op, Conv):
            raise InputError(f"layer {layer.name!r}: the rs dataflow maps conv and fc layers only")
        if op.dilation != (1, 1):
            raise InputError(
                f"layer {layer.name!r}: the rs dataflow needs dilation 1, not {op.dilation!r}"
            )
        top, _, left, _ = op.pads(shape.height, shape.width)
        out = layer.output_shape
        return cls(
            op.groups, shape.channels // op.groups, op.out_channels // op.groups, *op.kernel,
            *op.stride, shape.height, shape.width, top, left, out.height, out.width,
        )  # fmt: skip

    def ifmap_rows(self, first_row: int, rows: int) -> int:
        """Real (unpadded) ifmap rows that ofmap rows first_row … first_row + rows − 1 read."""
        begin = first_row * self.stride_height - self.pad_top
        end = begin + (rows - 1) * self.stride_height + self.filter_height
        return max(0, min(end, self.ifmap_height) - max(begin, 0))

    @property
    def ifmap_cols(self) -> int:
        """Real ifmap columns a full ofmap row reads."""
        begin = -self.pad_left
        end = begin + (self.ofmap_width - 1) * self.stride_width + self.filter_width
        return max(0, min(end, self.ifmap_width) - max(begin, 0))


@dataclass(frozen=True)
class RowStationaryMapping:
    """One layer on a row-stationary array: the set shape, its copies, and the pass sizes."""

    shape: ConvShape
    batch: int  # N
    array_rows: int
    array_cols: int
    set_rows: int  # filter rows one set holds (R, or the array's rows when R is taller)
    filter_cols: int  # filter columns one PE holds (S, or the ifmap scratchpad when S is wider)
    e: int  # ofmap rows per strip (the set's logical width)
    sets: int  # r · t sets in use
    r: int  # sets on different channels
    t: int  # sets on different filters
    p: int  # filters per PE per pass
    q: int  # channels per PE per pass
    n: int  # images per pass
    m: int  # ofmap channels whose psums the global buffer holds

    @property
    def strips(self) -> int:
        return ceil_div(self.shape.ofmap_height, self.e)

    @property
    def segments(self) -> int:
        """Pieces a set is folded into (1 unless it is wider than the array)."""
        return ceil_div(self.e, self.array_cols)

    @property
    def active_pes(self) -> int:
        """PEs holding work in a full pass: `set_rows · e` per set (folded or not)."""
        return self.set_rows * self.e * self.sets

    @cached_property
    def passes(self) -> int:
        return sum(kind.count for kind in pass_kinds(self))

    @property
    def macs(self) -> int:
        s = self.shape
        return (s.groups * self.batch * s.out_channels * s.in_channels * s.filter_height
                * s.filter_width * s.ofmap_height * s.ofmap_width)  # fmt: skip


def map_row_stationary(layer: Layer, chip: ChipConfig, batch: int) -> RowStationaryMapping:
    """Place one conv / fc layer on the chip's row-stationary array (the rule in the docstring)."""
    s = ConvShape.of(layer)
    rows, cols, spad = chip.array.rows, chip.array.cols, chip.row_stationary
    set_rows = min(s.filter_height, rows)
    filter_cols = min(s.filter_width, spad.ifmap_spad_entries, spad.filter_spad_entries)
    picks = []
    for e, sets in _set_shapes(s.ofmap_height, set_rows, rows, cols):
        r, t, p, q = _split_sets(sets, s, e, set_rows, filter_cols, chip)
        picks.append((_glb_reads_per_mac(s, e, set_rows, p, q, r, t), e, r, t, p, q))
    _, e, r, t, p, q = min(picks)
    n, m = _glb_blocks(s, batch, e, set_rows, p, q, r, t, chip)
    return RowStationaryMapping(s, batch, rows, cols, set_rows, filter_cols, e, r * t, r, t,
                                p, q, n, m)  # fmt: skip


_BUSY_SLACK = 0.02


def _set_shapes(ofmap_height: int, set_rows: int, rows: int, cols: int) -> list[tuple[int, int]]:
    """[(e, sets)]: the whole height, folded, if it fits; else every strip height that keeps
    within `_BUSY_SLACK` of the most PEs busy over the strips (a strip height that wastes a
    little of the last strip may reuse the ifmap rows far better)."""
    segments = ceil_div(ofmap_height, cols)
    if set_rows * segments <= rows:
        fits = (rows // (set_rows * segments)) * (cols // min(ofmap_height, cols))
        return [(ofmap_height, fits)]
    shapes = {}
    for e in range(1, min(ofmap_height, cols) + 1):
        sets = (rows // set_rows) * (cols // e)
        shapes[e] = (set_rows * ofmap_height * sets / ceil_div(ofmap_height, e), sets)
    most = max(busy for busy, _ in shapes.values())
    return [(e, sets) for e, (busy, sets) in shapes.items() if busy >= most * (1 - _BUSY_SLACK)]


def _split_sets(
    sets: int, s: ConvShape, e: int, set_rows: int, filter_cols: int, chip: ChipConfig
) -> tuple[int, int, int, int]:
    """(r, t, p, q): r · t ≤ sets and the scratchpad fill with the fewest MAC cycles over
    channels × filters, `ceil(M / pt)·p · ceil(C / qr)·q` (ties: larger t, larger r, larger
    p), the filters of a pass fitting the filter buffer and the psums of its `p·t` filters
    (one image) with its ifmap rows fitting the global buffer."""
    spad, width = chip.row_stationary, chip.array.element_bytes
    filter_words = chip.sram.buffer_for("weight").size_bytes // width
    capacity = chip.sram.buffer_for("ifmap").size_bytes
    strip_bytes = ((e - 1) * s.stride_height + set_rows) * (
        (s.ofmap_width - 1) * s.stride_width + s.filter_width) * width
    psum_bytes = e * s.ofmap_width * chip.array.accumulator_bytes  # one filter's, one image
    q_most = max(1, min(s.in_channels, spad.ifmap_spad_entries // filter_cols))
    best: tuple[int, int, int, int] | None = None
    pick = (1, 1, 1, 1)
    for r in range(1, sets + 1):
        q = min(range(1, q_most + 1), key=lambda q: (ceil_div(s.in_channels, q * r) * q, -q))
        channel_cost = ceil_div(s.in_channels, q * r) * q
        for t in range(1, sets // r + 1):
            room = capacity - min(q * r, s.in_channels) * strip_bytes
            p_most = min(s.out_channels, spad.psum_spad_entries,
                         spad.filter_spad_entries // (q * filter_cols),
                         filter_words // (t * q * r * set_rows * filter_cols),
                         room // (t * psum_bytes))  # fmt: skip
            if p_most < 1:
                continue
            p = min(range(1, p_most + 1),
                    key=lambda p: (ceil_div(s.out_channels, p * t) * p, -p))  # fmt: skip
            key = (ceil_div(s.out_channels, p * t) * p * channel_cost, -t, -r, -p)
            if best is None or key < best:
                best, pick = key, (r, t, p, q)
    return pick


def _glb_reads_per_mac(
    s: ConvShape, e: int, set_rows: int, p: int, q: int, r: int, t: int
) -> float:
    """Ifmap and filter reads from the global buffer per MAC of one pass: the ifmap rows of a
    strip are multicast to the t filter sets, a filter row to the e PEs of a set's row."""
    rows_read = (e - 1) * s.stride_height + set_rows
    cols_read = (s.ofmap_width - 1) * s.stride_width + s.filter_width
    macs = p * t * q * r * set_rows * s.filter_width * e * s.ofmap_width
    ifmap = q * r * rows_read * cols_read
    filters = p * t * q * r * set_rows * s.filter_width
    return (ifmap + filters) / macs


def _glb_blocks(
    s: ConvShape, batch: int, e: int, set_rows: int, p: int, q: int, r: int, t: int,
    chip: ChipConfig,
) -> tuple[int, int]:  # fmt: skip
    """(n, m): images per pass and psum channels held, the least DRAM traffic that fits the
    global buffer (ties: more images, then more channels); (1, p·t) when nothing fits."""
    width, psum = chip.array.element_bytes, chip.array.accumulator_bytes
    capacity = chip.sram.buffer_for("ifmap").size_bytes
    strip_rows = (e - 1) * s.stride_height + set_rows
    padded_width = (s.ofmap_width - 1) * s.stride_width + s.filter_width
    filters = s.out_channels * s.in_channels * s.filter_height * s.filter_width
    ifmap = s.in_channels * s.ifmap_height * s.ifmap_width
    strips = ceil_div(s.ofmap_height, e)
    best: tuple[int, int, int] | None = None
    pick = (1, min(p * t, s.out_channels))
    chunk = p * t
    for n in range(1, batch + 1):
        ifmap_bytes = n * min(q * r, s.in_channels) * strip_rows * padded_width * width
        for m in range(chunk, ceil_div(s.out_channels, chunk) * chunk + 1, chunk):
            m = min(m, s.out_channels)
            if ifmap_bytes + n * m * e * s.ofmap_width * psum > capacity:
                break
            traffic = (ceil_div(s.out_channels, m) * ifmap * batch
                       + ceil_div(batch, n) * strips * filters)  # fmt: skip
            key = (traffic, -n, -m)
            if best is None or key < best:
                best, pick = key, (n, m)
    return pick


@dataclass(frozen=True)
class PassKind:
    """`count` passes alike: their images, filters and channels (all sets together), the
    filter rows and columns of their chunk and the ofmap rows of their strip."""

    count: int
    images: int
    filters: int
    channels: int
    filter_rows: int
    filter_cols: int
    strip_rows: int


def _counted(sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    """(size, how many) of the distinct sizes of a fold_sizes() tuple."""
    return [(size, sizes.count(size)) for size in dict.fromkeys(sizes)]


def pass_kinds(mapping: RowStationaryMapping) -> list[PassKind]:
    """Every pass of the layer, grouped into kinds of identical passes."""
    s = mapping.shape
    filter_chunks: list[int] = []
    for block in fold_sizes(s.out_channels, mapping.m):
        filter_chunks += fold_sizes(block, mapping.p * mapping.t)
    kinds = []
    for strip, strips in _counted(fold_sizes(s.ofmap_height, mapping.e)):
        for images, image_blocks in _counted(fold_sizes(mapping.batch, mapping.n)):
            for filters, filter_count in _counted(tuple(filter_chunks)):
                for channels, channel_count in _counted(
                    fold_sizes(s.in_channels, mapping.q * mapping.r)
                ):
                    for rows, row_count in _counted(
                        fold_sizes(s.filter_height, mapping.set_rows)
                    ):
                        for cols, col_count in _counted(
                            fold_sizes(s.filter_width, mapping.filter_cols)
                        ):
                            count = (s.groups * strips * image_blocks * filter_count
                                     * channel_count * row_count * col_count)  # fmt: skip
                            kinds.append(PassKind(count, images, filters, channels, rows, cols,
                                                  strip))  # fmt: skip
    return kinds

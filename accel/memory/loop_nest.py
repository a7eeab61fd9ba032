"""From a tiling to its schedule: the loop nest over tiles, written as compressed steps.

The loops are groups (outermost, `g_tile` whole groups per step: their tiles move and compute
together) then the tiling's loop order; loops of one trip are dropped.
Each operand changes tile when a loop that indexes it advances, so its tile lives through the
loops inside its innermost indexing loop. The steps of one loop level depend only on the tile
size class of the index (edge tiles are partial, halos differ at the image border) and on whether
the index is the first, second-to-last or last, so a level's indices compress to a few runs and
the schedule is built once per distinct run, not once per tile.

Compute cycles per step follow the timing model's per-fold convention: a fold streams `τ`
wavefronts plus its fill/drain (`Ar + Ac − 2` in os, `2·Ar + Ac − 2` in ws / is), or with
`fold_overlap` a period of `max(τ, Ar)` per fold (see `accel.perf.timing.fold_period`).
Cutting the streamed dimension into tiles repeats that overhead once per fold per chunk (a
*refill*), except when the tile is a single fold and the time loop is innermost: the stationary
operand then stays in the PEs and the chunks stream back to back, exactly as the untiled fold.

An operand streamed through an undersized buffer (`Tiling.streamed`) is never kept in SRAM: every
step reads it afresh (a stationary operand held in the PEs across chunks is read at its fold's
first chunk only), and a step is cut into sub-steps that each take one piece of at most a buffer
half, the step's compute shared evenly among them: piece `i + 1` loads while sub-step `i`
computes, as a double buffer streams. Input pieces open the step; a streamed ofmap leaves in
pieces at its end, each piece reading back its partial sums first when the reduction continues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from accel.config import OPERANDS, ChipConfig, Operand
from accel.mapping.array import ArrayMapping, ceil_div
from accel.memory.fold_cycles import fold_run_cycles, layer_edges, untiled_cycles
from accel.memory.geometry import LayerGeometry
from accel.memory.streaming import Pieces, cut, split_step
from accel.memory.tile_classes import Key, level_runs, tile_classes
from accel.memory.tile_schedule import (
    INPUT_OPERANDS,
    Buffer,
    Load,
    LoadKind,
    Node,
    Repeat,
    Schedule,
    Step,
    buffer_of,
)
from accel.memory.tiling import (
    BIAS_BYTES,
    IDLE_DIM,
    OPERAND_DIMS,
    Tiling,
    piece_bytes,
)

Coords = dict[str, tuple[Any, bool]]  # every dim → (size class, is the first index)


@dataclass(frozen=True)
class _Nest:
    """The loops that iterate (outer → inner) with each index's tile class, and the chip."""

    levels: tuple[tuple[str, tuple[Any, ...]], ...]  # (dim, class of each index)
    constant: dict[str, Any]  # the single class of each dim that does not iterate
    array: ArrayMapping
    chip: ChipConfig
    has_bias: bool
    in_place: bool  # `streams_in_place`: consecutive steps may continue one fold
    tail_adjust: int
    streamed: tuple[Operand, ...] = ()
    pieces: dict[Operand, int] = field(default_factory=dict)  # streamed operand → piece bytes
    memo: dict[tuple[int, tuple[Key, ...]], tuple[Node, ...]] = field(default_factory=dict)
    leaves: dict[tuple[Any, ...], tuple[Node, ...]] = field(default_factory=dict)

    @cached_property
    def merged(self) -> bool:
        """Single-fold tiles whose innermost loop is the streamed one: consecutive steps
        continue one fold, and its stationary operand stays in the PEs."""
        return self.in_place and any(dim == self.array.time_dim for dim, _ in self.levels)

    def every_step(self, operand: Operand) -> bool:
        """A streamed operand the array reads at every step (all but one held in the PEs)."""
        held = self.merged and IDLE_DIM[operand] == self.array.time_dim
        return operand in self.streamed and not held

    @cached_property
    def level(self) -> dict[Buffer | LoadKind, int]:
        """Each operand's innermost iterating loop level (−1: one tile for the whole layer)."""
        found: dict[Buffer | LoadKind, int] = {}
        for operand in OPERANDS:
            dims = ("g", *OPERAND_DIMS[operand])
            levels = [i for i, (dim, _) in enumerate(self.levels) if dim in dims]
            found[operand] = levels[-1] if levels else -1
            if self.every_step(operand):
                found[operand] = len(self.levels) - 1
        found["psum"] = found["ofmap"]
        return found

    @cached_property
    def k_level(self) -> int | None:
        return next((i for i, (dim, _) in enumerate(self.levels) if dim == "k"), None)

    @cached_property
    def reduces_across_visits(self) -> bool:
        """The `k` loop runs outside the ofmap's loops: outputs are revisited per K-tile (a
        streamed ofmap is revisited by every step)."""
        if self.k_level is None:
            return False
        return self.every_step("ofmap") or self.k_level < self.level["ofmap"]

    def double(self, buffer: Operand) -> bool:
        return self.doubles[buffer]

    @cached_property
    def doubles(self) -> dict[Operand, bool]:
        """Which buffers are double-buffered."""
        return {op: self.chip.sram.buffer_for(op).double_buffered for op in OPERANDS}

    @cached_property
    def edges(self) -> tuple[int, int]:
        """`layer_edges`: cycles before the first fold and after the last."""
        return layer_edges(self.array, self.chip.array.fold_overlap)

    @cached_property
    def runs(self) -> list[list[tuple[int, tuple[Key, ...]]]]:
        """Each level's indices as compressed runs of keys (the same under every parent)."""
        return [level_runs(classes) for _, classes in self.levels]

    def subtree(self, level: int, context: tuple[Key, ...]) -> tuple[Node, ...]:
        """The steps under loop `level`, given the indices of the loops outside it."""
        if level == len(self.levels):
            leaf = self.leaf_key(context)
            found = self.leaves.get(leaf)
            if found is None:
                found = self.leaves[leaf] = _Position(self, context).nodes()
            return found
        memo_key = (level, context)
        if memo_key not in self.memo:
            nodes: list[Node] = []
            for repeats, period in self.runs[level]:
                body = tuple(
                    node for key in period for node in self.subtree(level + 1, (*context, key))
                )
                nodes.extend(body if repeats == 1 else (Repeat(repeats, body),))
            self.memo[memo_key] = tuple(nodes)
        return self.memo[memo_key]

    def leaf_key(self, context: tuple[Key, ...]) -> tuple[Any, ...]:
        """What the step at `context` reads of it: steps with one key are the same.

        Inside a loop at a middle index `j` (neither its first nor its last), no loop outside
        `j` starts, ends, carries or advances at this step, so of each such loop only its tile
        class counts, with K's first and last flags (bias bytes, partial sums) and, when `j` is
        the weight loop, whether it is at its last index (`prefetch_point`).
        """
        middle = len(context) - 1
        while middle >= 0 and (context[middle].first or context[middle].last):
            middle -= 1
        if middle < 0:
            return (-1, (), context)
        weight_here = self.level["weight"] == middle
        outer = tuple(
            (key.now, key.first if dim == "k" else None,
             key.last if dim == "k" or weight_here else None)
            for (dim, _), key in zip(self.levels[:middle], context[:middle], strict=True)
        )  # fmt: skip
        return (middle, outer, context[middle:])

    @cached_property
    def fixed(self) -> Coords:
        """The dims that do not iterate, at their single (first) index."""
        return {dim: (size, True) for dim, size in self.constant.items()}

    def groups(self, coords: Coords) -> int:
        """Whole groups the step at `coords` carries (its tiles hold that many groups' data)."""
        return int(coords["g"][0])

    def bytes(self, kind: str, coords: Coords) -> int:
        """Bytes of the `kind` tile at `coords` (psum: int32 partial sums of an ofmap tile).

        A streamed input is what the array reads in the step: im2col elements for the ifmap,
        once per fold along the dimension it does not index.
        """
        m, k, n = coords["m"][0], coords["k"][0], coords["n"][0]
        groups = coords["g"][0]
        if kind == "psum":
            return int(groups * m[0] * n[0] * self.chip.array.accumulator_bytes)
        reads = self.fold_reads(kind, coords) if kind in self.streamed else 0
        width = self.chip.array.element_bytes
        if kind == "ifmap" and reads:
            return int(m[0] * k[0] * reads * width)
        if kind == "ifmap":  # per piece of the K-tile: channels × pixels through its taps
            return int(groups * sum(count * m[1][box] for count, box in k[1]) * width)
        k_first = coords["k"][1]
        bias = BIAS_BYTES * n[0] if self.has_bias and k_first else 0
        return int(groups * (k[0] * n[0] * width + bias) * max(reads, 1))

    def fold_reads(self, operand: Operand, coords: Coords) -> int:
        """How often a step reads its tile of `operand`: once per fold along the dimension the
        operand does not index (once for the stationary operand)."""
        array, idle = self.array, IDLE_DIM[operand]
        if idle == array.time_dim:
            return 1
        fold = array.array_rows if idle == array.rows_dim else array.array_cols
        return ceil_div(coords[idle][0][0], fold)

    def has_psum(self, coords: Coords) -> bool:
        """True when this ofmap visit continues a reduction begun in an earlier visit."""
        return self.reduces_across_visits and not coords["k"][1]

    def first_piece(self, kind: LoadKind, coords: Coords) -> int:
        """Bytes of the `kind` tile at `coords`, or of its first piece when it is streamed."""
        size = self.bytes(kind, coords)
        buffer = buffer_of(kind)
        if buffer not in self.streamed:
            return size
        if kind != "psum":
            return min(size, self.pieces[kind])
        accumulator = self.chip.array.accumulator_bytes
        return min(size, max(1, self.pieces["ofmap"] // accumulator) * accumulator)

    @cached_property
    def deferred(self) -> frozenset[LoadKind]:
        """Load kinds a streamed step queues behind its last sub-step (see `streaming.py`)."""
        kinds: tuple[LoadKind, ...] = ("ifmap", "weight", "psum")
        return frozenset(
            kind for kind in kinds
            if buffer_of(kind) in self.streamed or not self.double(buffer_of(kind))
        )  # fmt: skip


class _Position:
    """One step of the nest, given every loop's index key (what every step method reads of
    the context is worked out once, here)."""

    __slots__ = ("_advanced", "_inner_first", "_inner_last", "_now", "carry", "context", "nest")

    def __init__(self, nest: _Nest, context: tuple[Key, ...]) -> None:
        self.nest, self.context = nest, context
        count = len(context)
        # At `i`: every loop from level `i` inward is at its first (last) index.
        inner_first, inner_last = [True] * (count + 1), [True] * (count + 1)
        carry = -1  # the loop that advances after this step (−1: this is the last step)
        for i in range(count - 1, -1, -1):
            key = context[i]
            inner_first[i] = key.first and inner_first[i + 1]
            inner_last[i] = key.last and inner_last[i + 1]
            if carry < 0 and not key.last:
                carry = i
        self.carry, self._inner_first, self._inner_last = carry, inner_first, inner_last
        now = dict(nest.fixed)
        for (dim, _), key in zip(nest.levels, context, strict=True):
            now[dim] = (key.now, key.first)
        self._now: Coords = now
        self._advanced: dict[int, Coords] = {}

    def starts(self, level: int) -> bool:
        """Every loop inside `level` is at its first index: a new tile of that level begins."""
        return self._inner_first[level + 1]

    def ends(self, level: int) -> bool:
        return self._inner_last[level + 1]

    def coords(self, advance: int | None = None) -> Coords | None:
        """Tile classes now, or after the loop at level `advance` (with carries) moves on."""
        if advance is None:
            return self._now
        context = self.context
        for level in range(advance, -1, -1):
            if not context[level].last:
                return self._after(level)
        return None

    def _after(self, level: int) -> Coords:
        """Tile classes once the loop at `level` advances (inner loops back at their first)."""
        found = self._advanced.get(level)
        if found is not None:
            return found
        nest, context = self.nest, self.context
        found = dict(nest.fixed)
        for i, (dim, classes) in enumerate(nest.levels):
            key = context[i]
            found[dim] = (
                (key.now, key.first) if i < level
                else (key.after, False) if i == level
                else (classes[0], True)
            )  # fmt: skip
        self._advanced[level] = found
        return found

    def nodes(self) -> tuple[Node, ...]:
        """This step, cut into one sub-step per piece when streamed operands pass through."""
        nest = self.nest
        if not nest.streamed:
            return (self.step(),)
        return split_step(self.step(), self.pieces(), nest.deferred, nest.double("ofmap"))

    def step(self) -> Step:
        """The step; streamed operands are left to `split_step`, except their next loads."""
        nest = self.nest
        now = self.coords()
        assert now is not None
        kept = [op for op in INPUT_OPERANDS if op not in nest.streamed]
        visit = self.starts(nest.level["psum"]) and "ofmap" not in nest.streamed
        psum_now = visit and nest.has_psum(now)
        loads = [load for op in INPUT_OPERANDS for load in self.fetch(op)]
        late: list[Load] = []
        (loads if nest.double("ofmap") else late).extend(self.fetch("psum"))
        return Step(
            compute_cycles=self.cycles(now),
            takes=tuple(op for op in kept if self.starts(nest.level[op]))
            + (("psum",) if psum_now else ()),
            claims_ofmap=visit and not psum_now,
            releases=tuple(op for op in kept if self.ends(nest.level[op])),
            loads=tuple(loads),
            writeback_bytes=self.writeback(now)
            if self.ends(nest.level["psum"]) and "ofmap" not in nest.streamed
            else 0,
            post_loads=tuple(late),
            prefetch_point=self.prefetch_point(),
        )

    def pieces(self) -> Pieces:
        """The pieces of the streamed operands this step reads (or, the ofmap, writes)."""
        nest = self.nest
        now = self.coords()
        assert now is not None
        inputs = tuple(
            (op, cut(nest.bytes(op, now), nest.pieces[op]))
            for op in INPUT_OPERANDS
            if op in nest.streamed and self.starts(nest.level[op])
        )
        if "ofmap" not in nest.streamed or not self.ends(nest.level["psum"]):
            return Pieces(inputs)
        m, n = now["m"][0], now["n"][0]
        outputs = int(nest.groups(now) * m[0] * n[0])
        write = self.writeback(now) // outputs
        psum = nest.chip.array.accumulator_bytes if nest.has_psum(now) else 0
        per_piece = max(1, nest.pieces["ofmap"] // max(write, psum))
        return Pieces(inputs, cut(outputs, per_piece), psum, write)

    def fetch(self, kind: LoadKind) -> list[Load]:
        """The `kind` tile the DMA queues behind this step, if any.

        A tile that lasts one step, or sits in a single-buffered buffer, loads for the step that
        needs it next; a double-buffered tile that lasts several steps loads its successor now,
        during the second step of its own life.
        """
        nest, level = self.nest, self.nest.level[kind]
        buffer = buffer_of(kind)
        if level < 0 or self.carry < 0:
            return []
        if level == len(self.context) - 1 or not nest.double(buffer):
            target = self.coords(len(self.context) - 1) if self.carry <= level else None
        else:
            target = self.coords(level) if self.starts(level) else None
        if target is None or (kind == "psum" and not nest.has_psum(target)):
            return []
        return [Load(kind, nest.first_piece(kind, target))]

    def writeback(self, coords: Coords) -> int:
        """Final outputs (int8 or the float width), or accumulator-wide partial sums when
        later visits still add to them."""
        nest = self.nest
        m, n = coords["m"][0], coords["n"][0]
        unfinished = nest.reduces_across_visits and not self.context[nest.k_level].last  # type: ignore[index]
        array = nest.chip.array
        per_output = array.accumulator_bytes if unfinished else array.element_bytes
        return int(nest.groups(coords) * m[0] * n[0] * per_output)

    def prefetch_point(self) -> bool:
        """True at the step whose ring slot follows the release of the last weight tile's
        predecessor: the next layer's first weight tile can take that half."""
        nest, level = self.nest, self.nest.level["weight"]
        if "weight" in nest.streamed:
            return self.carry < 0  # its halves are busy with pieces until the last step
        if level < 0 and nest.double("weight"):
            return False  # the schedule prefetches right after its prologue
        if level < 0 or not nest.double("weight"):
            return self.carry < 0
        previous = self.context[:level]
        return self.carry == level and self.context[level].penultimate and all(
            key.last for key in previous
        )

    def cycles(self, now: Coords) -> int:
        nest, array = self.nest, self.nest.array
        overlap = nest.chip.array.fold_overlap
        extents = {dim: now[dim][0][0] for dim in "mkn"}
        # The step's groups run one after another, each in its own folds.
        folds = nest.groups(now) * ceil_div(extents[array.rows_dim], array.array_rows) * ceil_div(
            extents[array.cols_dim], array.array_cols
        )
        chunk = "whole" if not nest.merged else "head" if self.context[-1].first else "tail"
        cycles = fold_run_cycles(array, overlap, extents[array.time_dim], folds, chunk)
        first, last = nest.edges
        if self.starts(-1):
            cycles += first
        if self.carry < 0:
            cycles += last + nest.tail_adjust
        return cycles


def array_schedule(
    tiling: Tiling,
    geometry: LayerGeometry,
    array: ArrayMapping,
    chip: ChipConfig,
    has_bias: bool,
    compute_cycles: int,
) -> Schedule:
    """The compressed step schedule of an array layer under `tiling`.

    `compute_cycles` is the timing model's figure for the untiled layer; any difference from
    the fold-run rebuild (none today, tested) is added to the last step so the two agree.
    """
    classes = tile_classes(tiling, geometry, array)
    order = "g" + tiling.loop_order
    levels = tuple((dim, tuple(classes[dim])) for dim in order if len(classes[dim]) > 1)
    constant = {dim: classes[dim][0] for dim in order if len(classes[dim]) == 1}
    tail_adjust = compute_cycles - untiled_cycles(array, chip.array.fold_overlap)
    streamed = tiling.streamed
    pieces = piece_bytes(chip, streamed)
    in_place = tiling.in_place(array)
    nest = _Nest(
        levels, constant, array, chip, has_bias, in_place, tail_adjust, streamed, pieces
    )
    origin: Coords = {**nest.fixed, **{dim: (c[0], True) for dim, c in levels}}
    prologue = tuple(Load(op, nest.first_piece(op, origin)) for op in INPUT_OPERANDS)
    at_start = nest.level["weight"] < 0 and nest.double("weight") and "weight" not in streamed
    return Schedule(prologue, nest.subtree(0, ()), at_start, prologue[1].bytes)

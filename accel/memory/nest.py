"""The loop nest over a layer's tiles: which loops iterate, where each operand's tile lives, and
the bytes of a tile at given loop indices.

The loops are groups (outermost, `g_tile` whole groups per step: their tiles move and compute
together) then the tiling's loop order; loops of one trip are dropped. Each operand changes
tile when a loop that indexes it advances, so its tile lives through the loops inside its
innermost indexing loop. A tile's bytes depend only on the tile classes (`tile_classes.py`) of
the dims it spans, so they are worked out once per distinct class and kept.
"""

from __future__ import annotations

from typing import Any

from accel.config import OPERANDS, ChipConfig, Operand
from accel.mapping.array import ArrayMapping, ceil_div
from accel.memory.fold_cycles import fold_run_cycles
from accel.memory.nest_memos import array_memos, double_buffered, once
from accel.memory.nest_memos import clear_cache as clear_memos
from accel.memory.tile_schedule import (
    INPUT_OPERANDS,
    Buffer,
    Load,
    LoadKind,
    buffer_of,
)
from accel.memory.tiling import BIAS_BYTES, IDLE_DIM, OPERAND_DIMS
from accel.model.frozen import Frozen

Coords = dict[str, tuple[Any, bool]]  # every dim → (size class, is the first index)
_new = tuple.__new__

# The facts of a nest that read only its shape: its loops' dims in order, its streamed
# operands, whether tiles continue in place, the dataflow and which buffers are double-buffered
# (`Nest.share_shape_facts`). A few dozen shapes recur across every tiling of a network zoo,
# so each shape's facts are worked out once and copied into the nests of that shape (read
# only: shared dicts).
_SHAPE_FACTS = (
    "merged", "level", "k_level", "reduces_across_visits", "doubles", "prefetch_rule",
    "kept_at", "fetches", "dims", "visit_level", "deferred",
)  # fmt: skip
_SHAPES: dict[tuple[Any, ...], dict[str, Any]] = {}


def clear_cache() -> None:
    """Forget the facts of the nest shapes, arrays and chips seen."""
    _SHAPES.clear()
    clear_memos()


class Nest(Frozen):
    """The loops that iterate (outer → inner) with each index's tile class, and the chip.
    Hand-written, not a frozen dataclass (see `frozen.py`): dicts per instance, cached facts."""

    _compared = (
        "levels", "constant", "array", "chip", "has_bias", "in_place", "tail_adjust",
        "streamed", "pieces", "loads", "runs",
    )  # fmt: skip

    levels: tuple[tuple[str, tuple[Any, ...]], ...]  # (dim, class of each index)
    constant: dict[str, Any]  # the single class of each dim that does not iterate
    array: ArrayMapping
    chip: ChipConfig
    has_bias: bool
    in_place: bool  # `streams_in_place`: consecutive steps may continue one fold
    tail_adjust: int
    streamed: tuple[Operand, ...]
    pieces: dict[Operand, int]  # streamed operand → piece bytes
    # A tile's load by (kind, the classes and flags its bytes read): the same tile recurs at
    # many steps, and they share one `Load` (a named tuple costs more to build than to find).
    loads: dict[tuple[Any, ...], tuple[Load]]
    runs: dict[tuple[int, int, int, int, str], int]  # fold_run

    def __init__(
        self, levels: tuple[tuple[str, tuple[Any, ...]], ...], constant: dict[str, Any],
        array: ArrayMapping, chip: ChipConfig, has_bias: bool, in_place: bool,
        tail_adjust: int, streamed: tuple[Operand, ...] = (),
        pieces: dict[Operand, int] | None = None,
        loads: dict[tuple[Any, ...], tuple[Load]] | None = None,
        runs: dict[tuple[int, int, int, int, str], int] | None = None,
    ) -> None:  # fmt: skip
        init = object.__setattr__
        init(self, "levels", levels)
        init(self, "constant", constant)
        init(self, "array", array)
        init(self, "chip", chip)
        init(self, "has_bias", has_bias)
        init(self, "in_place", in_place)
        init(self, "tail_adjust", tail_adjust)
        init(self, "streamed", streamed)
        init(self, "pieces", {} if pieces is None else pieces)
        init(self, "loads", {} if loads is None else loads)
        init(self, "runs", {} if runs is None else runs)

    def share_shape_facts(self) -> None:
        """Take this nest's shape facts (`_SHAPE_FACTS`) from an earlier nest of its shape, or
        work them out and keep them for later ones (called once built, before any is read)."""
        doubles = double_buffered(self.chip)
        dims = tuple([dim for dim, _ in self.levels])
        shape = (dims, self.streamed, self.in_place, self.array.dataflow, *doubles.values())
        facts = _SHAPES.get(shape)
        if facts is not None:
            self.__dict__.update(facts)
            return
        self.__dict__.update(doubles=doubles, dims=dims)
        _SHAPES[shape] = {name: getattr(self, name) for name in _SHAPE_FACTS}

    @once
    def merged(self) -> bool:
        """Single-fold tiles whose innermost loop is the streamed one: consecutive steps
        continue one fold, and its stationary operand stays in the PEs."""
        return self.in_place and any(dim == self.array.time_dim for dim, _ in self.levels)

    def every_step(self, operand: Operand) -> bool:
        """A streamed operand the array reads at every step (all but one held in the PEs)."""
        held = self.merged and IDLE_DIM[operand] == self.array.time_dim
        return operand in self.streamed and not held

    @once
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

    @once
    def k_level(self) -> int | None:
        return next((i for i, (dim, _) in enumerate(self.levels) if dim == "k"), None)

    @once
    def reduces_across_visits(self) -> bool:
        """The `k` loop runs outside the ofmap's loops: outputs are revisited per K-tile (a
        streamed ofmap is revisited by every step)."""
        if self.k_level is None:
            return False
        return self.every_step("ofmap") or self.k_level < self.level["ofmap"]

    def double(self, buffer: Operand) -> bool:
        return self.doubles[buffer]

    @once
    def doubles(self) -> dict[Operand, bool]:
        """Which buffers are double-buffered."""
        return double_buffered(self.chip)

    @once
    def edges(self) -> tuple[int, int]:
        """`layer_edges`: cycles before the first fold and after the last."""
        return array_memos(self.array, self.chip.array.fold_overlap).edges

    @once
    def fixed(self) -> Coords:
        """The dims that do not iterate, at their single (first) index."""
        return {dim: (size, True) for dim, size in self.constant.items()}

    @once
    def origins(self) -> tuple[tuple[Any, bool], ...]:
        """Each level's first index: where a loop restarts when a loop outside it advances."""
        return tuple([(classes[0], True) for _, classes in self.levels])

    @once
    def restarts(self) -> tuple[Coords, ...]:
        """Per level, the first index of every loop inside it: where those loops restart when
        it advances."""
        dims = [dim for dim, _ in self.levels]
        return tuple([dict(zip(dims[level + 1 :], self.origins[level + 1 :], strict=True))
                      for level in range(len(dims))])  # fmt: skip

    @once
    def prefetch_rule(self) -> tuple[str, int]:
        """Which step may be followed by the next layer's first weight tile (`Position.
        prefetch_point`), with the weight loop's level: "last" (a streamed weight's halves
        are busy with pieces until then; or one weight half), "never" (the schedule prefetches
        right after its prologue: one double-buffered weight tile), or "penultimate" (the
        step that frees the half of the last weight tile's predecessor)."""
        level = self.level["weight"]
        if "weight" in self.streamed:
            return "last", level
        if level < 0 and self.double("weight"):
            return "never", level
        if level < 0 or not self.double("weight"):
            return "last", level
        return "penultimate", level

    @once
    def kept_at(self) -> tuple[int, int]:
        """The level (+1) whose start takes the ifmap (weight) tile into the array and whose
        end releases it; −1 for a streamed operand, which no such level takes."""
        ifmap, weight = (-1 if op in self.streamed else self.level[op] + 1 for op in INPUT_OPERANDS)
        return ifmap, weight

    @once
    def fetches(self) -> tuple[tuple[LoadKind, int, bool], ...]:
        """The load kinds a step may queue (psum: when a reduction spans visits), each with its
        level and whether its tile loads ahead, a step into its life (double-buffered, lasting
        several steps; see `Position.loads`)."""
        kinds: tuple[LoadKind, ...] = ("ifmap", "weight", "psum")
        innermost = len(self.levels) - 1
        return tuple(
            (kind, level, level != innermost and self.doubles[buffer_of(kind)])
            for kind in kinds
            if (level := self.level[kind]) >= 0 and (kind != "psum" or self.reduces_across_visits)
        )  # fmt: skip

    @once
    def dims(self) -> tuple[str, ...]:
        """The dim of each loop level."""
        return tuple(dim for dim, _ in self.levels)

    @once
    def visit_level(self) -> int | None:
        """The level (+1) whose start begins an ofmap visit (None: a streamed ofmap)."""
        return None if "ofmap" in self.streamed else self.level["psum"] + 1

    def fold_run(self, m: int, k: int, n: int, groups: int, chunk: str) -> int:
        """`fold_run_cycles` of a step of tile extents `m`, `k`, `n` carrying `groups` groups
        (they run one after another, each in its own folds); memoized."""
        key = (m, k, n, groups, chunk)
        found = self.runs.get(key)
        if found is None:
            array, extents = self.array, {"m": m, "k": k, "n": n}
            folds = groups * ceil_div(extents[array.rows_dim], array.array_rows) * ceil_div(
                extents[array.cols_dim], array.array_cols
            )
            overlap = self.chip.array.fold_overlap
            found = fold_run_cycles(array, overlap, extents[array.time_dim], folds, chunk)
            self.runs[key] = found
        return found

    @once
    def output_bytes(self) -> int:
        """Bytes of one final output: the operand width."""
        return self.chip.array.element_bytes

    @once
    def partial_sum_bytes(self) -> int:
        """Bytes of one partial sum: the accumulator width."""
        return self.chip.array.accumulator_bytes

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
            return int(groups * m[0] * n[0] * self.partial_sum_bytes)
        reads = self.fold_reads(kind, coords) if kind in self.streamed else 0
        width = self.output_bytes
        if kind == "ifmap" and reads:
            return int(m[0] * k[0] * reads * width)
        if kind == "ifmap":  # per piece of the K-tile: channels × pixels through its taps
            return int(groups * sum([count * m[1][box] for count, box in k[1]]) * width)
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

    def load(self, kind: LoadKind, coords: Coords) -> tuple[Load]:
        """The load of the `kind` tile at `coords`, or of its first piece when it is streamed,
        as a one-load tuple; memoized."""
        # What `bytes` reads of `coords`: every class, and K's first flag (the bias).
        key = (kind, coords["g"][0], coords["m"][0], coords["k"], coords["n"][0])
        found = self.loads.get(key)
        if found is None:
            # Built by `tuple.__new__` from its fields in order (its generated `__new__` is a
            # Python function): `Load(kind, bytes)`, off chip.
            load: Load = _new(Load, (kind, self._first_piece(kind, coords), False))
            found = self.loads[key] = (load,)
        return found

    def _first_piece(self, kind: LoadKind, coords: Coords) -> int:
        size = self.bytes(kind, coords)
        buffer = buffer_of(kind)
        if buffer not in self.streamed:
            return size
        if kind != "psum":
            return min(size, self.pieces[kind])
        accumulator = self.chip.array.accumulator_bytes
        return min(size, max(1, self.pieces["ofmap"] // accumulator) * accumulator)

    @once
    def deferred(self) -> frozenset[LoadKind]:
        """Load kinds a streamed step queues behind its last sub-step (see `streaming.py`)."""
        kinds: tuple[LoadKind, ...] = ("ifmap", "weight", "psum")
        return frozenset(
            kind for kind in kinds
            if buffer_of(kind) in self.streamed or not self.double(buffer_of(kind))
        )  # fmt: skip

"""From a tiling to its schedule: the loop nest over tiles, written as compressed steps.

The loops are groups (outermost) then the tiling's loop order; loops of one trip are dropped.
Each operand changes tile when a loop that indexes it advances, so its tile lives through the
loops inside its innermost indexing loop. The steps of one loop level depend only on the tile
size class of the index (edge tiles are partial, halos differ at the image border) and on whether
the index is the first, second-to-last or last, so a level's indices compress to a few runs and
the schedule is built once per distinct run, not once per tile.

Compute cycles per step follow the timing model's per-fold convention: a fold streams `τ`
wavefronts plus its fill/drain (`Ar + Ac − 2` in os, `2·Ar + Ac − 2` in ws / is), or with
`fold_overlap` only what cannot hide behind the previous fold. Cutting the streamed dimension
into tiles repeats that overhead once per fold per chunk (a *refill*), except when the tile is a
single fold and the time loop is innermost: the stationary operand then stays in the PEs and
the chunks stream back to back, exactly as the untiled fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from accel.config import ChipConfig
from accel.mapping.array import ArrayMapping, ceil_div
from accel.mapping.geometry import LayerGeometry
from accel.mapping.tiling import BIAS_BYTES, OPERAND_DIMS, Tiling, accumulator_bytes
from accel.perf.schedule import Load, Node, Repeat, Schedule, Step, compress

_INPUTS = ("ifmap", "weight")
Coords = dict[str, tuple[Any, bool]]  # dim → (size class, is the first index)


class _Key(NamedTuple):
    """What a loop index contributes to the steps below it (a tuple: cheap to hash)."""

    now: Any
    after: Any  # class of the next index (None at the last)
    first: bool
    last: bool
    penultimate: bool


def fold_run_cycles(
    array: ArrayMapping, fold_overlap: bool, steps: int, folds: int, chunk: str
) -> int:
    """Cycles of `folds` folds streaming `steps` wavefronts each.

    `chunk` is "whole" (each fold starts afresh), "head" (the first chunk of a fold whose
    stream continues in later steps) or "tail" (a continuation: the fold is already loaded).
    """
    rows, cols = array.array_rows, array.array_cols
    overhead = rows + cols - 2 if array.dataflow == "os" else 2 * rows + cols - 2
    if chunk == "tail":
        return steps
    if not fold_overlap:
        return folds * (overhead + steps)
    if array.dataflow == "os":
        return folds * steps
    if chunk == "head":
        return steps + max(0, rows - array.time_steps)
    return folds * max(steps, rows)


def layer_edges(array: ArrayMapping, fold_overlap: bool) -> tuple[int, int]:
    """Cycles paid once per layer: before the first fold and after the last."""
    rows, cols = array.array_rows, array.array_cols
    if not fold_overlap:
        return 0, -1  # SCALE-Sim counts `folds · per_fold − 1`
    first = rows if array.dataflow != "os" else 0
    return first, rows + cols - 3


def untiled_cycles(array: ArrayMapping, fold_overlap: bool) -> int:
    """The timing model's compute cycles, rebuilt from fold runs (one chunk per fold)."""
    first, last = layer_edges(array, fold_overlap)
    whole = fold_run_cycles(array, fold_overlap, array.time_steps, 1, "whole")
    return first + array.folds * whole + last


@dataclass
class _Nest:
    tiling: Tiling
    geometry: LayerGeometry
    array: ArrayMapping
    chip: ChipConfig
    has_bias: bool
    tail_adjust: int
    levels: list[tuple[str, list[Any]]] = field(default_factory=list)
    constant: dict[str, Any] = field(default_factory=dict)
    memo: dict[tuple[int, tuple[_Key, ...]], tuple[Node, ...]] = field(default_factory=dict)
    level: dict[str, int] = field(default_factory=dict)  # operand → innermost moving loop level
    k_level: int | None = None
    doubled: dict[str, bool] = field(default_factory=dict)

    def classes(self) -> None:
        tiling, geometry = self.tiling, self.geometry
        sizes = {"m": (geometry.m, tiling.m_tile), "k": (geometry.k, tiling.k_tile)}
        sizes["n"] = (self.array.n, tiling.n_tile)
        per_dim: dict[str, list[Any]] = {"g": [None] * tiling.groups}
        boxes = geometry.box_pixels(tiling.m_tile).tolist()
        channels = geometry.channels(tiling.k_tile).tolist()
        for dim, (total, tile) in sizes.items():
            extents = [min(tile, total - start) for start in range(0, total, tile)]
            extra = boxes if dim == "m" else channels if dim == "k" else extents
            per_dim[dim] = list(zip(extents, extra, strict=True))
        for dim in "g" + tiling.loop_order:
            if len(per_dim[dim]) > 1:
                self.levels.append((dim, per_dim[dim]))
            else:
                self.constant[dim] = per_dim[dim][0]
        for operand in ("ifmap", "weight", "ofmap"):
            dims = "g" + OPERAND_DIMS[operand]  # type: ignore[index]
            found = [i for i, (dim, _) in enumerate(self.levels) if dim in dims]
            self.level[operand] = found[-1] if found else -1  # −1: one tile for the whole layer
            self.doubled[operand] = self.chip.sram.buffer_for(operand).double_buffered  # type: ignore[arg-type]
        self.level["psum"] = self.level["ofmap"]
        self.k_level = next((i for i, (d, _) in enumerate(self.levels) if d == "k"), None)

    def level_of(self, operand: str) -> int:
        """The innermost loop level that moves `operand` (−1: one tile for the whole layer)."""
        return self.level[operand]

    def build(self) -> Schedule:
        self.classes()
        origin: Coords = {dim: (c[0], True) for dim, c in self.levels}
        prologue = tuple(Load(op, self.bytes(op, origin)) for op in _INPUTS)
        weight_level = self.level_of("weight")
        at_start = weight_level < 0 and self.double("weight")
        return Schedule(prologue, self.subtree(0, ()), at_start, prologue[1].bytes)

    def double(self, buffer: str) -> bool:
        return self.doubled[buffer]

    def subtree(self, level: int, context: tuple[_Key, ...]) -> tuple[Node, ...]:
        if level == len(self.levels):
            return (self.leaf(context),)
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

    @cached_property
    def runs(self) -> list[list[tuple[int, tuple[_Key, ...]]]]:
        """Each loop level's indices as compressed runs of keys (the same under every parent)."""
        result = []
        for _, classes in self.levels:
            count = len(classes)
            keys = [
                _Key(classes[i], classes[i + 1] if i + 1 < count else None,
                     i == 0, i == count - 1, i == count - 2)
                for i in range(count)
            ]
            result.append(compress(keys))  # type: ignore[arg-type]
        return result

    def coords(self, context: tuple[_Key, ...], advance: int | None) -> Coords | None:
        """Tile classes now (advance None) or after advancing the loop at level `advance`."""
        if advance is None:
            return {self.levels[i][0]: (key.now, key.first) for i, key in enumerate(context)}
        moving = [i for i in range(advance + 1) if not context[i].last]
        if not moving:
            return None
        level = moving[-1]
        result: Coords = {}
        for i, key in enumerate(context):
            dim, classes = self.levels[i]
            result[dim] = (
                (key.now, key.first) if i < level
                else (key.after, False) if i == level
                else (classes[0], True)
            )
        return result

    def size(self, coords: Coords, dim: str) -> Any:
        return coords[dim][0] if dim in coords else self.constant[dim]

    def bytes(self, kind: str, coords: Coords) -> int:
        m, k, n = (self.size(coords, d) for d in "mkn")
        if kind == "ifmap":
            return int(m[1] * k[1])
        if kind == "weight":
            k_first = coords.get("k", (None, True))[1]
            bias = BIAS_BYTES * n[0] if self.has_bias and k_first else 0
            return int(k[0] * n[0] + bias)
        return int(m[0] * n[0] * accumulator_bytes(self.chip))

    def has_psum(self, coords: Coords) -> bool:
        """True when this ofmap visit continues a reduction begun in an earlier visit."""
        k_level = self.k_level
        return k_level is not None and k_level < self.level["psum"] and not coords["k"][1]

    def leaf(self, context: tuple[_Key, ...]) -> Step:
        now = self.coords(context, None)
        assert now is not None
        deepest = len(context) - 1
        nxt = self.coords(context, deepest) if context else None
        carry = max((i for i, key in enumerate(context) if not key.last), default=-1)

        def starts(level: int) -> bool:
            return all(key.first for key in context[level + 1 :])

        def ends(level: int) -> bool:
            return all(key.last for key in context[level + 1 :])

        psum_level = self.level_of("psum")
        takes = tuple(op for op in _INPUTS if starts(self.level_of(op)))
        visit = starts(psum_level)
        psum_now = visit and self.has_psum(now)
        loads = [ld for op in _INPUTS for ld in self.input_load(op, context, nxt, carry, starts)]
        post: list[Load] = []
        if nxt is not None:
            ofmap_next = self.psum_load(context, nxt, carry, starts)
            (loads if self.double("ofmap") else post).extend(ofmap_next)
        return Step(
            compute_cycles=self.cycles(context, now),
            takes=takes + (("psum",) if psum_now else ()),
            claims_ofmap=visit and not psum_now,
            releases=tuple(op for op in _INPUTS if ends(self.level_of(op))),
            loads=tuple(loads),
            writeback_bytes=self.writeback(context, now) if ends(psum_level) else 0,
            post_loads=tuple(post),
            prefetch_point=self.prefetch_point(context, carry),
        )

    def input_load(self, op: str, context: tuple[_Key, ...], nxt: Coords | None,
                   carry: int, starts: Any) -> list[Load]:
        level = self.level_of(op)
        if level < 0:
            return []
        if level == len(context) - 1 or not self.double(op):  # load when the next step needs it
            return [Load(op, self.bytes(op, nxt))] if nxt is not None and carry <= level else []
        if not starts(level):
            return []
        ahead = self.coords(context, level)  # double-buffered: fetch the following tile now
        return [] if ahead is None else [Load(op, self.bytes(op, ahead))]

    def psum_load(self, context: tuple[_Key, ...], nxt: Coords, carry: int,
                  starts: Any) -> list[Load]:
        level = self.level_of("psum")
        if level == len(context) - 1 or not self.double("ofmap"):
            due = carry <= level and self.has_psum(nxt)
            return [Load("psum", self.bytes("psum", nxt))] if due else []
        if not starts(level):
            return []
        ahead = self.coords(context, level)
        ok = ahead is not None and self.has_psum(ahead)
        return [Load("psum", self.bytes("psum", ahead))] if ok and ahead else []

    def writeback(self, context: tuple[_Key, ...], coords: Coords) -> int:
        """Final int8 outputs, or int32 partial sums when later visits still add to them."""
        m, _, n = (self.size(coords, d) for d in "mkn")
        k_level = self.k_level
        partial = k_level is not None and k_level < self.level["psum"]
        final = not partial or context[k_level].last  # type: ignore[index]
        return int(m[0] * n[0] * (1 if final else accumulator_bytes(self.chip)))

    def prefetch_point(self, context: tuple[_Key, ...], carry: int) -> bool:
        """True at the step after which the last weight tile's predecessor has been released."""
        level = self.level_of("weight")
        if level < 0 and self.double("weight"):
            return False  # the schedule prefetches right after its prologue
        if level < 0 or not self.double("weight"):
            return all(key.last for key in context)
        return carry == level and context[level].penultimate and all(
            key.last for key in context[:level]
        )

    def cycles(self, context: tuple[_Key, ...], now: Coords) -> int:
        array, tiling = self.array, self.tiling
        overlap = self.chip.array.fold_overlap
        extents = {dim: self.size(now, dim)[0] for dim in "mkn"}
        folds = ceil_div(extents[array.rows_dim], array.array_rows) * ceil_div(
            extents[array.cols_dim], array.array_cols
        )
        single = all(
            getattr(tiling, f"{dim}_tile") <= size
            for dim, size in ((array.rows_dim, array.array_rows), (array.cols_dim, array.array_cols))
        )
        merged = single and bool(self.levels) and self.levels[-1][0] == array.time_dim
        chunk = "whole" if not merged else "head" if context[-1].first else "tail"
        cycles = fold_run_cycles(array, overlap, extents[array.time_dim], folds, chunk)
        first, last = layer_edges(array, overlap)
        if all(key.first for key in context):
            cycles += first
        if all(key.last for key in context):
            cycles += last + self.tail_adjust
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
    tail_adjust = compute_cycles - untiled_cycles(array, chip.array.fold_overlap)
    return _Nest(tiling, geometry, array, chip, has_bias, tail_adjust).build()

"""From a tiling to its schedule: the loop nest over tiles (`nest.py`), written as compressed steps.

The steps of one loop level depend only on the tile size class of the index (edge tiles are
partial, halos differ at the image border) and on whether the index is the first, second-to-last
or last, so a level's indices compress to a few runs and the schedule is built once per distinct
run, not once per tile; each step (`nest_step.py`) is built once per distinct `leaf_key`.
"""

from __future__ import annotations

from collections.abc import Hashable

from accel.config import ChipConfig
from accel.mapping.array import ArrayMapping
from accel.memory.fold_cycles import untiled_cycles
from accel.memory.frozen import Frozen
from accel.memory.geometry import LayerGeometry
from accel.memory.nest import Coords, Nest, once
from accel.memory.nest_step import Position
from accel.memory.tile_classes import Key, level_runs, tile_classes
from accel.memory.tile_schedule import INPUT_OPERANDS, Load, Node, Repeat, Schedule
from accel.memory.tiling import Tiling, piece_bytes

__all__ = ["array_schedule", "untiled_cycles"]

Run = tuple[int, tuple[int, ...]]  # (repeats, the key ids of one period)


class _Tree(Frozen):
    """The compressed steps under each loop level. A context (the indices of the loops outside
    a level) is a tuple of small key ids, cheap to hash, rather than of keys holding classes.
    Hand-written, not a frozen dataclass (see `frozen.py`): dicts per instance, cached facts."""

    _compared = ("nest", "memo", "leaves", "keys")

    nest: Nest
    memo: dict[tuple[int, tuple[int, ...]], tuple[Node, ...]]
    leaves: dict[Hashable, tuple[Node, ...]]
    keys: list[Key]  # id → key, every level's keys in one list

    def __init__(
        self, nest: Nest, memo: dict[tuple[int, tuple[int, ...]], tuple[Node, ...]] | None = None,
        leaves: dict[Hashable, tuple[Node, ...]] | None = None, keys: list[Key] | None = None,
    ) -> None:  # fmt: skip
        init = object.__setattr__
        init(self, "nest", nest)
        init(self, "memo", {} if memo is None else memo)
        init(self, "leaves", {} if leaves is None else leaves)
        init(self, "keys", [] if keys is None else keys)

    @once
    def runs(self) -> list[list[Run]]:
        """Each level's indices as runs of key ids (the same under every parent)."""
        found: list[list[Run]] = []
        for _, classes in self.nest.levels:
            ids: dict[Key, int] = {}
            level: list[Run] = []
            for repeats, period in level_runs(classes):
                period_ids = []
                for key in period:
                    if key not in ids:
                        ids[key] = len(self.keys)
                        self.keys.append(key)
                    period_ids.append(ids[key])
                level.append((repeats, tuple(period_ids)))
            found.append(level)
        return found

    @once
    def outer_ids(self) -> tuple[list[Hashable], list[Hashable], list[bool]]:
        """What a key at a level outside the step's middle index contributes to its `leaf_key`
        (see there), by key id; the second list when the middle index is the weight loop's;
        the third: whether the key is a first or a last index."""
        runs = self.runs  # numbers every key first
        dims = {key_id: dim for (dim, _), level in zip(self.nest.levels, runs, strict=True)
                for _, period in level for key_id in period}  # fmt: skip
        plain: list[Hashable] = []
        weighted: list[Hashable] = []
        for key_id, key in enumerate(self.keys):
            k = dims[key_id] == "k"
            plain.append((key.now, key.first if k else None, key.last if k else None))
            weighted.append((key.now, key.first if k else None, key.last))
        return plain, weighted, [key.first or key.last for key in self.keys]

    def subtree(self, level: int, context: tuple[int, ...]) -> tuple[Node, ...]:
        """The steps under loop `level`, given the key ids of the loops outside it."""
        if level == len(self.nest.levels):
            leaf = self.leaf_key(context)
            found = self.leaves.get(leaf)
            if found is None:
                position = Position(self.nest, tuple(map(self.keys.__getitem__, context)))
                found = self.leaves[leaf] = position.nodes()
            return found
        memo_key = (level, context)
        found = self.memo.get(memo_key)
        if found is None:
            nodes: list[Node] = []
            for repeats, period in self.runs[level]:
                body: list[Node] = []
                for key in period:
                    body.extend(self.subtree(level + 1, (*context, key)))
                if repeats == 1:
                    nodes.extend(body)
                else:
                    nodes.append(Repeat(repeats, tuple(body)))
            found = self.memo[memo_key] = tuple(nodes)
        return found

    def leaf_key(self, context: tuple[int, ...]) -> Hashable:
        """What the step at `context` reads of it: steps with one key are the same.

        Inside a loop at a middle index `j` (neither its first nor its last), no loop outside
        `j` starts, ends, carries or advances at this step, so of each such loop only its tile
        class counts, with K's first and last flags (bias bytes, partial sums) and, when `j` is
        the weight loop, whether it is at its last index (`prefetch_point`).
        """
        plain, weighted, edge = self.outer_ids
        middle = len(context) - 1
        while middle >= 0 and edge[context[middle]]:
            middle -= 1
        if middle < 0:
            return (-1, (), context)
        outer = weighted if self.nest.level["weight"] == middle else plain
        return (middle, tuple([outer[i] for i in context[:middle]]), context[middle:])


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
    nest = Nest(levels, constant, array, chip, has_bias, in_place, tail_adjust, streamed, pieces)
    origin: Coords = {**nest.fixed, **{dim: (c[0], True) for dim, c in levels}}
    prologue = tuple(Load(op, nest.first_piece(op, origin)) for op in INPUT_OPERANDS)
    at_start = nest.level["weight"] < 0 and nest.double("weight") and "weight" not in streamed
    return Schedule(prologue, _Tree(nest).subtree(0, ()), at_start, prologue[1].bytes)

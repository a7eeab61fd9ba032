"""From a tiling to its schedule: the loop nest over tiles (`nest.py`), written as compressed steps.

The steps of one loop level depend only on the tile size class of the index (edge tiles are
partial, halos differ at the image border) and on whether the index is the first, second-to-last
or last, so a level's indices compress to a few runs and the schedule is built once per distinct
run, not once per tile; each step (`nest_step.py`) is built once per distinct leaf key
(`_Tree.leaf_keys`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from accel.config import ChipConfig
from accel.mapping.array import ArrayMapping
from accel.memory.fold_cycles import untiled_cycles
from accel.memory.frozen import Frozen
from accel.memory.geometry import LayerGeometry
from accel.memory.nest import Coords, Nest, once
from accel.memory.nest_step import Position
from accel.memory.tile_classes import Key, level_runs, tile_classes
from accel.memory.tile_schedule import INPUT_OPERANDS, Node, Repeat, Schedule
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
    leaves: dict[Hashable, dict[int, tuple[Node, ...]]]  # leaf key → innermost key id → steps
    keys: list[Key]  # id → key, every level's keys in one list

    def __init__(
        self, nest: Nest, memo: dict[tuple[int, tuple[int, ...]], tuple[Node, ...]] | None = None,
        leaves: dict[Hashable, dict[int, tuple[Node, ...]]] | None = None,
        keys: list[Key] | None = None,
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
        """What a key at a level outside the step's middle index contributes to its leaf key
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
        depth = len(self.nest.levels)
        if level == depth:  # no loop iterates: a single step
            return Position(self.nest, ()).nodes()
        memo_key = (level, context)
        found = self.memo.get(memo_key)
        if found is None:
            leaves = self.leaves_under(context) if level + 1 == depth else None
            nodes: list[Node] = []
            for repeats, period in self.runs[level]:
                body: list[Node] = []
                for key in period:
                    if leaves is None:
                        body.extend(self.subtree(level + 1, (*context, key)))
                    else:
                        body.extend(leaves(key))
                if repeats == 1:
                    nodes.extend(body)
                else:
                    nodes.append(Repeat(repeats, tuple(body)))
            found = self.memo[memo_key] = tuple(nodes)
        return found

    def leaves_under(self, context: tuple[int, ...]) -> Callable[[int], tuple[Node, ...]]:
        """The steps of the innermost loop's index of key id `key` under `context`, each
        built once per distinct leaf key (`leaf_keys`)."""
        inner, edged = self.leaf_keys(context)
        plain_leaves = self.leaves.setdefault(inner, {})
        edge_leaves = self.leaves.setdefault(edged, {})
        edge, keys, nest = self.outer_ids[2], self.keys, self.nest

        def leaf(key: int) -> tuple[Node, ...]:
            leaves = edge_leaves if edge[key] else plain_leaves
            found = leaves.get(key)
            if found is None:
                position = Position(nest, (*map(keys.__getitem__, context), keys[key]))
                found = leaves[key] = position.nodes()
            return found

        return leaf

    def leaf_keys(self, context: tuple[int, ...]) -> tuple[Hashable, Hashable]:
        """What the steps under `context` read of it, for an innermost index at a middle
        position and at its first or last (an edge): steps of one entry and index key id are
        the same.

        Inside a loop at a middle index `j` (neither its first nor its last), no loop outside
        `j` starts, ends, carries or advances at this step, so of each such loop only its tile
        class counts, with K's first and last flags (bias bytes, partial sums) and, when `j` is
        the weight loop, whether it is at its last index (`prefetch_point`). At an edge index
        `j` is the innermost middle index of `context` (none: the whole context counts).
        """
        plain, weighted, edge = self.outer_ids
        weight = self.nest.level["weight"]
        middle = len(context)
        outer = weighted if weight == middle else plain
        inner = (middle, tuple([outer[i] for i in context]), ())
        middle -= 1
        while middle >= 0 and edge[context[middle]]:
            middle -= 1
        if middle < 0:
            return inner, (-1, (), context)
        outer = weighted if weight == middle else plain
        return inner, (middle, tuple([outer[i] for i in context[:middle]]), context[middle:])


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
    prologue = tuple(nest.load(op, origin)[0] for op in INPUT_OPERANDS)
    at_start = nest.level["weight"] < 0 and nest.double("weight") and "weight" not in streamed
    return Schedule(prologue, _Tree(nest).subtree(0, ()), at_start, prologue[1].bytes)

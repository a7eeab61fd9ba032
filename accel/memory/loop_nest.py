"""From a tiling to its schedule: the loop nest over tiles (`nest.py`), written as compressed steps.

The steps of one loop level depend only on the tile size class of the index (edge tiles are
partial, halos differ at the image border) and on whether the index is the first, second-to-last
or last, so a level's indices compress to a few runs and the schedule is built once per distinct
run, not once per tile; each step (`nest_step.py`) is built once per distinct leaf key
(`_Tree.leaf_keys`).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from accel.config import ChipConfig
from accel.mapping.array import ArrayMapping
from accel.memory.fold_cycles import untiled_cycles
from accel.memory.geometry import LayerGeometry
from accel.memory.nest import Coords, Nest
from accel.memory.nest_memos import array_memos, once
from accel.memory.nest_step import Outer, Position
from accel.memory.tile_classes import Key, Level, loop_level, tile_classes
from accel.memory.tile_schedule import INPUT_OPERANDS, Node, Repeat, Schedule
from accel.memory.tiling import Tiling, piece_bytes
from accel.model.frozen import Frozen

__all__ = ["array_schedule", "untiled_cycles"]


class _Tree(Frozen):
    """The compressed steps under each loop level. A context (the indices of the loops outside
    a level) is a tuple of small key ids, one per level (`tile_classes.Level`), cheap to hash,
    rather than of keys holding classes. Hand-written, not a frozen dataclass (see `frozen.py`):
    dicts per instance, cached facts."""

    _compared = ("nest", "leaves")

    nest: Nest
    leaves: dict[Hashable, dict[int, tuple[Node, ...]]]  # leaf key → innermost key id → steps

    def __init__(
        self, nest: Nest, leaves: dict[Hashable, dict[int, tuple[Node, ...]]] | None = None
    ) -> None:
        init = object.__setattr__
        init(self, "nest", nest)
        init(self, "leaves", {} if leaves is None else leaves)

    @once
    def levels(self) -> list[Level]:
        """Each level's indices as runs of key ids (the same under every parent), with the
        keys' leaf-key facts."""
        return [loop_level(classes, dim == "k") for dim, classes in self.nest.levels]

    @once
    def keys(self) -> list[list[Key]]:
        """Each level's keys, by key id."""
        return [level.keys for level in self.levels]

    @once
    def facts(self) -> tuple[list[list[Hashable]], list[list[Hashable]], list[list[bool]]]:
        """Each level's `plain`, `weighted` and `edge` facts (`tile_classes.Level`), by key id:
        a context's facts are then one `map` over the levels."""
        levels = self.levels
        return ([level.plain for level in levels], [level.weighted for level in levels],
                [level.edge for level in levels])  # fmt: skip

    def subtree(self, level: int, context: tuple[int, ...]) -> tuple[Node, ...]:
        """The steps under loop `level`, given the key ids of the loops outside it. Every key
        id of a level appears in its runs, under every parent: each one's steps are built
        once, then laid out along the runs."""
        depth = len(self.nest.levels)
        if level == depth:  # no loop iterates: a single step
            return Position(self.nest, ()).nodes()
        if level + 1 == depth:
            children = self.leaves_under(context)
        else:
            children = [self.subtree(level + 1, (*context, key))
                        for key in range(len(self.keys[level]))]  # fmt: skip
        nodes: list[Node] = []
        for repeats, period in self.levels[level].runs:
            if repeats == 1:
                for key in period:
                    nodes.extend(children[key])
                continue
            body: list[Node] = []
            for key in period:
                body.extend(children[key])
            nodes.append(Repeat(repeats, tuple(body)))
        return tuple(nodes)

    def leaves_under(self, context: tuple[int, ...]) -> list[tuple[Node, ...]]:
        """The steps of the innermost loop's index of each key id under `context`, each
        built once per distinct leaf key (`leaf_keys`)."""
        inner, edged = self.leaf_keys(context)
        plain_leaves = self.leaves.setdefault(inner, {})
        edge_leaves = self.leaves.setdefault(edged, {})
        nest, inner_keys = self.nest, self.keys[-1]
        outer: Outer | None = None
        children = []
        for key, edge in enumerate(self.levels[-1].edge):
            leaves = edge_leaves if edge else plain_leaves
            found = leaves.get(key)
            if found is None:
                if outer is None:
                    outer = Outer.of(nest, tuple(map(list.__getitem__, self.keys, context)))
                position = Position(nest, (*outer.keys, inner_keys[key]), outer)
                # `nodes`, without its call when no operand streams (most tilings)
                found = leaves[key] = position.nodes() if nest.streamed else (position.step(),)
            children.append(found)
        return children

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
        plain, weighted, edge = self.facts
        weight = self.nest.level["weight"]
        middle = len(context)
        outer = weighted if weight == middle else plain
        inner = (middle, tuple(map(list.__getitem__, outer, context)), ())
        middle -= 1
        while middle >= 0 and edge[middle][context[middle]]:
            middle -= 1
        if middle < 0:
            return inner, (-1, (), context)
        outer = weighted if weight == middle else plain
        head = tuple(map(list.__getitem__, outer, context[:middle]))
        return inner, (middle, head, context[middle:])


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
    iterating: list[tuple[str, tuple[Any, ...]]] = []
    constant: dict[str, Any] = {}
    for dim in "g" + tiling.loop_order:  # one loop, not two generators (resumed per dim)
        dim_classes = classes[dim]
        if len(dim_classes) > 1:
            iterating.append((dim, dim_classes))
        else:
            constant[dim] = dim_classes[0]
    levels = tuple(iterating)
    memos = array_memos(array, chip.array.fold_overlap)
    tail_adjust = compute_cycles - memos.untiled
    streamed = tiling.streamed
    pieces = piece_bytes(chip, streamed) if streamed else {}  # most tilings stream nothing
    in_place = tiling.in_place(array)
    # What a tile's bytes read beside its classes: the nests of one array that agree share loads.
    reads = (has_bias, streamed, tuple(pieces.items()), chip.array.element_bytes,
             chip.array.accumulator_bytes)  # fmt: skip
    loads = memos.loads.setdefault(reads, {})
    nest = Nest(levels, constant, array, chip, has_bias, in_place, tail_adjust, streamed, pieces,
                loads, memos.runs)  # fmt: skip
    nest.share_shape_facts()
    origin: Coords = {**nest.fixed, **{dim: (c[0], True) for dim, c in levels}}
    prologue = tuple([nest.load(op, origin)[0] for op in INPUT_OPERANDS])
    at_start = nest.level["weight"] < 0 and nest.double("weight") and "weight" not in streamed
    return Schedule(prologue, _Tree(nest).subtree(0, ()), at_start, prologue[1].bytes)

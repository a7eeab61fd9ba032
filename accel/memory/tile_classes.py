"""Tile classes of a tiling: each loop index's tile, as the loop nest compresses it.

Along each GEMM dimension a tiling's tiles differ only at the edges (a partial last tile) and,
for the ifmap, in the input pixels each M-tile reads through each tap box (halos at the image
border). A tile's class is what decides its steps; a loop's indices, as classes with whether each
is the first, second-to-last or last, compress to a few runs of keys (`level_runs`), so the
schedule is built once per distinct run (`loop_nest.py`).
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from accel.mapping.array import ArrayMapping
from accel.memory.boxes import box_pixels
from accel.memory.geometry import LayerGeometry
from accel.memory.nest import clear_cache as clear_nest_shapes
from accel.memory.tile_schedule import runs
from accel.memory.tiling import Tiling

_new = tuple.__new__


class Key(NamedTuple):
    """What a loop index contributes to the steps below it (a tuple: cheap to hash)."""

    now: Any
    after: Any  # class of the next index (None at the last)
    first: bool
    last: bool
    penultimate: bool


class Classes(tuple[Any, ...]):
    """One loop's tile classes, index by index: a tuple that keeps its hash once worked out. A
    long loop's classes (VGG16 at batch 8: 7,168 M-tiles) key the memos of its runs
    (`loop_level`) at every schedule built on them, and a tuple works its hash out afresh
    from every element each time. Pickled as a plain tuple's elements (hashes of strings
    differ from process to process)."""

    def __hash__(self) -> int:
        kept: dict[str, int] = self.__dict__
        found = kept.get("hash")
        if found is None:
            found = kept["hash"] = super().__hash__()
        return found

    def __reduce__(self) -> tuple[type[Classes], tuple[tuple[Any, ...]]]:
        return Classes, (tuple(self),)


class Level:
    """One loop's indices as runs of key ids (ids into `keys`), with what each key contributes
    to the leaf keys of the steps below it (`loop_nest._Tree.leaf_keys`), by key id: `plain`
    and `weighted` (when the step's middle index is the weight loop's) as numbers, equal where
    those facts are, and whether the key is a first or a last index (`edge`). A plain class:
    a named tuple's class is compiled with `exec` at import."""

    __slots__ = ("edge", "keys", "plain", "runs", "weighted")

    def __init__(
        self, runs: list[tuple[int, tuple[int, ...]]], keys: list[Key], plain: list[Hashable],
        weighted: list[Hashable], edge: list[bool],
    ) -> None:  # fmt: skip
        self.runs, self.keys, self.plain, self.weighted, self.edge = (
            runs, keys, plain, weighted, edge
        )


def clear_cache() -> None:
    """Forget the memoized runs of loop indices and tile classes, and the facts of the loop
    nests' shapes (`nest.py`: they are built from these classes)."""
    clear_nest_shapes()
    level_runs.cache_clear()
    loop_level.cache_clear()
    _classes_of.cache_clear()
    _k_classes.cache_clear()
    _m_classes.cache_clear()


@lru_cache(maxsize=16384)
def loop_level(classes: tuple[Any, ...], reduction: bool) -> Level:
    """`level_runs` as key ids, with each key's leaf-key facts: of a key at a loop outside a
    step's middle index only its tile class counts, with its first and last flags for the K
    loop (`reduction`: bias bytes, partial sums) and its last flag when the middle index is
    the weight loop's (`prefetch_point`). Memoized, as `level_runs` is (read only)."""
    ids: dict[Key, int] = {}
    keys: list[Key] = []
    runs = []
    for repeats, period in level_runs(classes):
        period_ids = []
        for key in period:
            if key not in ids:
                ids[key] = len(keys)
                keys.append(key)
            period_ids.append(ids[key])
        runs.append((repeats, tuple(period_ids)))
    # Each fact as a small number, equal where the facts are: a leaf key of numbers is
    # cheaper to hash than one of classes (a leaf key reads one level at each position).
    plain_ids: dict[Hashable, int] = {}
    weighted_ids: dict[Hashable, int] = {}
    plain: list[Hashable] = []
    weighted: list[Hashable] = []
    for key in keys:
        first = key.first if reduction else None
        fact = (key.now, first, key.last if reduction else None)
        plain.append(plain_ids.setdefault(fact, len(plain_ids)))
        fact = (key.now, first, key.last)
        weighted.append(weighted_ids.setdefault(fact, len(weighted_ids)))
    return Level(runs, keys, plain, weighted, [key.first or key.last for key in keys])


@lru_cache(maxsize=16384)
def level_runs(classes: tuple[Any, ...]) -> list[tuple[int, tuple[Key, ...]]]:
    """One loop's indices as compressed runs of keys; memoized, as loops of the same tile
    classes recur across layers of one shape and across sweep points (read only)."""
    count = len(classes)

    def key(i: int) -> Key:
        after = classes[i + 1] if i + 1 < count else None
        # Built by `tuple.__new__` from its fields in order (`Key`'s own `__new__` is a Python
        # function): `Key(classes[i], after, first, last, penultimate)`.
        key: Key = _new(Key, (classes[i], after, i == 0, i == count - 1, i == count - 2))
        return key

    # Equal keys ⇔ equal (class, next class) away from the first and the last two indices,
    # which are each unlike every other: codes from the classes, no Key per index. When the
    # classes between the first and the last are all alike (whole tiles; row tiles but for
    # the image border's halos), so are those keys: no code per index either.
    middle = classes[1:-1]
    alike = not middle or middle.count(middle[0]) == len(middle)
    if alike and count >= 4:  # the cut `runs` finds (`_uniform_runs`), read off directly
        return [(1, (key(0),)), (count - 3, (key(1),)), (1, (key(count - 2),)),
                (1, (key(count - 1),))]  # fmt: skip
    keys = [0] * count if alike else _pair_keys(classes)
    for i, special in enumerate(sorted({j for j in (0, count - 2, count - 1) if 0 <= j < count})):
        keys[special] = -2 - i
    return [(n, tuple(key(start + i) for i in range(period))) for n, start, period in runs(keys)]


def _pair_keys(classes: tuple[Any, ...]) -> list[int]:
    """A code per index, equal where (class, next class) are equal (−1: the last index).

    The classes are numbered in order of first appearance by a dict built and read in C
    (`dict.fromkeys`, `map`), and the pairs coded in numpy: a long loop (VGG16 at batch 8:
    7,168 M-tiles) makes no Python step per index."""
    ids: dict[Any, int] = dict.fromkeys(classes, 0)
    for code, each in enumerate(ids):
        ids[each] = code
    codes = np.fromiter(map(ids.__getitem__, classes), dtype=np.int64, count=len(classes))
    pairs: list[int] = (codes[:-1] * (len(ids) + 1) + codes[1:]).tolist()
    return [*pairs, -1]


def tile_classes(
    tiling: Tiling, geometry: LayerGeometry, array: ArrayMapping
) -> dict[str, tuple[Any, ...]]:
    """Per dim, each tile index's class: its extent, and for M the input pixels it reads through
    each tap box the K-tiles use, for K its (channels, tap box index) pieces, for G the groups
    each step carries. The same for every loop order of one set of tile sizes (memoized)."""
    sizes = (tiling.m_tile, tiling.k_tile, tiling.n_tile, tiling.g_tile, tiling.groups)
    return _classes_of(sizes, geometry, array)


@lru_cache(maxsize=4096)
def _classes_of(
    sizes: tuple[int, int, int, int, int], geometry: LayerGeometry, array: ArrayMapping
) -> dict[str, tuple[Any, ...]]:
    """`tile_classes` of tiles (m, k, n, groups per step, groups); read only. Each dim's
    classes are memoized on what they read (`_k_classes`, `_m_classes`): tilings of one layer
    share some tile sizes and differ in others."""
    m_tile, k_tile, n_tile, g_tile, groups = sizes
    boxes, k_classes = _k_classes(k_tile, geometry, array.k)
    n_extents = _extents(array.n, n_tile)
    return {
        "g": Classes(_extents(groups, g_tile)),
        "m": _m_classes(m_tile, boxes, geometry, array.m),
        "k": k_classes,
        "n": Classes(zip(n_extents, n_extents, strict=True)),
    }


@lru_cache(maxsize=4096)
def _k_classes(
    k_tile: int, geometry: LayerGeometry, k: int
) -> tuple[tuple[Any, ...], Classes]:
    """The tap boxes the K-tiles of `k_tile` use, in order, and each K-tile's class: its
    extent and its (channels, tap box index) pieces; read only."""
    parts = geometry.k_parts(k_tile)
    boxes = tuple(sorted({taps for part in dict.fromkeys(parts) for _, taps in part}))
    index = {taps: i for i, taps in enumerate(boxes)}
    return boxes, Classes(zip(_extents(k, k_tile), _coded(parts, index), strict=True))


@lru_cache(maxsize=4096)
def _m_classes(m_tile: int, boxes: tuple[Any, ...], geometry: LayerGeometry, m: int) -> Classes:
    """Each M-tile's class: its extent and the input pixels it reads through each of `boxes`;
    read only."""
    batch = geometry.batch  # the memoized boxes as lists: no copy of each array first
    pixels = [box_pixels(batch, *geometry.axes(taps), m_tile).tolist() for taps in boxes]
    return Classes(zip(_extents(m, m_tile), zip(*pixels, strict=True), strict=True))


def _coded(parts: list[Any], index: dict[Any, int]) -> list[tuple[tuple[int, int], ...]]:
    """Each K-tile's pieces with their tap boxes as indices into `index`, each distinct K-tile
    coded once (a layer's K-tiles repeat a few shapes)."""
    coded = {part: tuple([(count, index[taps]) for count, taps in part])
             for part in dict.fromkeys(parts)}  # fmt: skip
    return [coded[part] for part in parts]


def _extents(total: int, tile: int) -> list[int]:
    """Each tile's extent along a dimension of `total` cut into tiles of `tile`: whole tiles,
    then the partial last one."""
    full, rest = divmod(total, tile)
    return [tile] * full + ([rest] if rest else [])

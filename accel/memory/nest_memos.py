"""What the loop nests of a run share, kept between them: per array mapping its edges, untiled
cycles and the memos of fold runs and tile loads; per chip which buffers are double-buffered;
and `once`, the nests' computed-once facts.

Every tiling of a layer (and every sweep point that keeps the array) builds nests over the same
array and chip, so these are worked out once and found again (`accel.memory.nest`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from accel.config import OPERANDS, ChipConfig, Operand
from accel.mapping.array import ArrayMapping
from accel.memory.fold_cycles import layer_edges, untiled_cycles
from accel.memory.tile_schedule import Load

T = TypeVar("T")

# Per array mapping and fold overlap: its `layer_edges` and `untiled_cycles`, and the memos of
# `Nest.fold_run` and of `Nest.load` (the latter per what else a tile's bytes read), which
# every tiling of a layer shares (and sweep points that keep the array): they cost more to
# work out than to find, and tilings of one layer meet the same tiles again.
_ARRAYS: dict[tuple[ArrayMapping, bool], ArrayMemos] = {}
# Per chip, which buffers are double-buffered, by the chip's identity (the chip is kept with
# them: its id is not reused while it is here). A chip's pydantic sections cost more to read
# than an identity to find, and one chip builds every schedule of a run.
_DOUBLES: dict[int, tuple[ChipConfig, dict[Operand, bool]]] = {}
_LIMIT = 4096  # entries kept before a memo starts afresh (a long sweep's arrays and chips)


class ArrayMemos:
    """What the nests of one array mapping and fold overlap share (`array_memos`)."""

    __slots__ = ("edges", "loads", "runs", "untiled")

    def __init__(self, array: ArrayMapping, fold_overlap: bool) -> None:
        self.edges = layer_edges(array, fold_overlap)
        self.untiled = untiled_cycles(array, fold_overlap)
        self.runs: dict[tuple[int, int, int, int, str], int] = {}  # `Nest.runs`
        # `Nest.loads` by (has bias, streamed, piece bytes, operand and accumulator widths)
        self.loads: dict[tuple[Any, ...], dict[tuple[Any, ...], tuple[Load]]] = {}


def array_memos(array: ArrayMapping, fold_overlap: bool) -> ArrayMemos:
    """The facts and memos the nests of `array` share; memoized."""
    key = (array, fold_overlap)
    found = _ARRAYS.get(key)
    if found is None:
        if len(_ARRAYS) >= _LIMIT:
            _ARRAYS.clear()
        found = _ARRAYS[key] = ArrayMemos(array, fold_overlap)
    return found


def double_buffered(chip: ChipConfig) -> dict[Operand, bool]:
    """Which of `chip`'s buffers are double-buffered; memoized (read only)."""
    found = _DOUBLES.get(id(chip))
    if found is None or found[0] is not chip:
        if len(_DOUBLES) >= _LIMIT:
            _DOUBLES.clear()
        doubles = {op: chip.sram.buffer_for(op).double_buffered for op in OPERANDS}
        found = _DOUBLES[id(chip)] = (chip, doubles)
    return found[1]


class once(Generic[T]):
    """`functools.cached_property` without its lock: computed on first use, then a plain
    attribute. Python 3.11's takes a lock at every first use (removed in 3.12, CPython issue
    gh-87634), which costs more than most of the facts a nest works out once per schedule."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute, self.name = compute, compute.__name__

    def __get__(self, instance: Any, owner: type | None = None) -> T:
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


def clear_cache() -> None:
    """Forget the arrays' and chips' shared facts."""
    _ARRAYS.clear()
    _DOUBLES.clear()

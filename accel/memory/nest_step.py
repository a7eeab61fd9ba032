"""One step of the loop nest: the tile it computes and the ring entries queued behind it.

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

from accel.memory.nest import Coords, Nest
from accel.memory.streaming import Pieces, cut, split_step
from accel.memory.tile_classes import Key
from accel.memory.tile_schedule import INPUT_OPERANDS, InputOperand, Load, Node, Step

# The kept input operands whose flags are set, at index ifmap's flag + 2 · weight's flag: a
# tuple looked up, not built (a comprehension is a call of its own, at every step).
_OPERANDS_BY_FLAGS: tuple[tuple[InputOperand, ...], ...] = (
    (), ("ifmap",), ("weight",), ("ifmap", "weight"),
)  # fmt: skip
# A `Step` built by `tuple.__new__` from its fields in order: the named tuple's generated
# `__new__` (a Python function of nine arguments) costs as much again.
_new = tuple.__new__


class Outer:
    """What the steps under one context share: the keys of every loop but the innermost, the
    tile classes of their dims, and the flags of `Position` for an innermost index that is a
    first (`firsts`), a last (`lasts`) or neither, with the carry of a last one. Worked out
    once per context, so that each step adds only its innermost index. A plain class: a
    named tuple's class is compiled with `exec` at import."""

    __slots__ = ("carry", "firsts", "keys", "lasts", "neither", "now")

    def __init__(
        self, keys: tuple[Key, ...], now: Coords, firsts: list[bool], lasts: list[bool],
        neither: list[bool], carry: int,
    ) -> None:  # fmt: skip
        self.keys, self.now, self.firsts, self.lasts, self.neither, self.carry = (
            keys, now, firsts, lasts, neither, carry
        )

    @classmethod
    def of(cls, nest: Nest, keys: tuple[Key, ...]) -> Outer:
        """The context `keys` of the loops outside the innermost (one level or more)."""
        count = len(keys) + 1  # levels
        # At `i`: every loop from level `i` inward is at its first (last) index. The last entry
        # (at −1) is False: the level of an operand that is not kept (`Nest.kept_at`).
        firsts, lasts = [True] * (count + 2), [True] * (count + 2)
        firsts[-1] = lasts[-1] = False
        carry = -1  # the loop that advances after the innermost's last (−1: none)
        now = dict(nest.fixed)
        dims = nest.dims
        for i in range(count - 2, -1, -1):
            tile, _, first, last, _ = keys[i]  # a Key: one unpacking reads its fields
            now[dims[i]] = (tile, first)
            firsts[i] = first and firsts[i + 1]
            lasts[i] = last and lasts[i + 1]
            if carry < 0 and not last:
                carry = i
        neither = [False] * count + [True, False]
        return cls(keys, now, firsts, lasts, neither, carry)


class Position:
    """One step of the nest, given every loop's index key (what every step method reads of
    the context is worked out once, here)."""

    __slots__ = ("_inner_first", "_inner_last", "_now", "carry", "context", "nest")

    def __init__(self, nest: Nest, context: tuple[Key, ...], outer: Outer | None = None) -> None:
        """The step at `context`; `outer`: `Outer.of` the context but its last key, when the
        caller has it (the steps under one context share it)."""
        self.nest, self.context = nest, context
        if not context:  # no loop iterates: the only step
            self.carry, self._inner_first, self._inner_last = -1, [True, False], [True, False]
            self._now: Coords = dict(nest.fixed)
            return
        if outer is None:
            outer = Outer.of(nest, context[:-1])
        tile, _, first, last, _ = context[-1]
        self._inner_first = outer.firsts if first else outer.neither  # shared: read only
        self._inner_last = outer.lasts if last else outer.neither
        self.carry = outer.carry if last else len(context) - 1  # the loop that advances next
        now = self._now = outer.now.copy()
        now[nest.dims[-1]] = (tile, first)

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
        nest = self.nest
        return {  # the loops outside stay
            **self._now,
            nest.dims[level]: (self.context[level].after, False),
            **nest.restarts[level],
        }

    def nodes(self) -> tuple[Node, ...]:
        """This step, cut into one sub-step per piece when streamed operands pass through."""
        nest = self.nest
        if not nest.streamed:
            return (self.step(),)
        return split_step(self.step(), self.pieces(), nest.deferred, nest.double("ofmap"))

    def step(self) -> Step:
        """The step; streamed operands are left to `split_step`, except their next loads."""
        nest, now = self.nest, self._now
        inner_first, inner_last = self._inner_first, self._inner_last
        visit_level = nest.visit_level
        visit = visit_level is not None and inner_first[visit_level]
        psum_now = visit and nest.reduces_across_visits and not now["k"][1]
        loads, late = self.loads()
        ifmap, weight = nest.kept_at
        takes = _OPERANDS_BY_FLAGS[inner_first[ifmap] + 2 * inner_first[weight]]
        writes = visit_level is not None and inner_last[visit_level]
        # In `Step`'s field order: compute cycles, takes, claims ofmap, releases, loads,
        # write-back, post loads, prefetch point, ofmap on chip.
        fields = (
            self.cycles(now),
            (*takes, "psum") if psum_now else takes,
            visit and not psum_now,
            _OPERANDS_BY_FLAGS[inner_last[ifmap] + 2 * inner_last[weight]],
            loads,
            self.writeback(now) if writes else 0,
            late,
            self.prefetch_point(),
            False,
        )
        step: Step = _new(Step, fields)
        return step

    def pieces(self) -> Pieces:
        """The pieces of the streamed operands this step reads (or, the ofmap, writes)."""
        nest, now = self.nest, self._now
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

    def loads(self) -> tuple[tuple[Load, ...], tuple[Load, ...]]:
        """The tiles the DMA queues behind this step, and the partial sums it queues behind
        the step's write-back (a single-buffered ofmap: they wait for its half).

        A tile that lasts one step, or sits in a single-buffered buffer, loads for the step that
        needs it next; a double-buffered tile that lasts several steps loads its successor now,
        during the second step of its own life. Partial sums are read back only when a
        reduction spans visits (`has_psum`).
        """
        loads: tuple[Load, ...] = ()
        late: tuple[Load, ...] = ()
        carry = self.carry
        if carry < 0:
            return loads, late
        nest = self.nest
        carried: Coords | None = None  # `coords(innermost)`: carry advances (one for every kind)
        for kind, level, ahead in nest.fetches:
            if not ahead:
                if carry > level:
                    continue
                if carried is None:
                    carried = self._after(carry)
                target = carried
            elif self._inner_first[level + 1] and (advanced := self.coords(level)) is not None:
                target = advanced
            else:
                continue
            if kind != "psum":
                loads += nest.load(kind, target)
            elif not target["k"][1]:  # `has_psum`
                if nest.doubles["ofmap"]:
                    loads += nest.load(kind, target)
                else:
                    late = nest.load(kind, target)
        return loads, late

    def writeback(self, coords: Coords) -> int:
        """Final outputs (int8 or the float width), or accumulator-wide partial sums when
        later visits still add to them."""
        nest = self.nest
        unfinished = nest.reduces_across_visits and not self.context[nest.k_level].last  # type: ignore[index]
        per_output = nest.partial_sum_bytes if unfinished else nest.output_bytes
        return int(coords["g"][0] * coords["m"][0][0] * coords["n"][0][0] * per_output)

    def prefetch_point(self) -> bool:
        """True at the step whose ring slot follows the release of the last weight tile's
        predecessor: the next layer's first weight tile can take that half."""
        rule, level = self.nest.prefetch_rule
        if rule == "last":
            return self.carry < 0
        if rule == "never":
            return False
        if self.carry != level or not self.context[level].penultimate:
            return False
        return all(key.last for key in self.context[:level])

    def cycles(self, now: Coords) -> int:
        nest = self.nest
        chunk = "whole" if not nest.merged else "head" if self.context[-1].first else "tail"
        key = (now["m"][0][0], now["k"][0][0], now["n"][0][0], now["g"][0], chunk)
        cycles = nest.runs.get(key)  # `fold_run`'s memo, read here: most steps find it
        if cycles is None:
            cycles = nest.fold_run(*key)
        if self._inner_first[0]:
            cycles += nest.edges[0]
        if self.carry < 0:
            cycles += nest.edges[1] + nest.tail_adjust
        return cycles

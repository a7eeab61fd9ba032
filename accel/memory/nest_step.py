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
from accel.memory.tile_schedule import INPUT_OPERANDS, Load, LoadKind, Node, Step, buffer_of

_BUFFER = {kind: buffer_of(kind) for kind in ("ifmap", "weight", "psum")}


class Position:
    """One step of the nest, given every loop's index key (what every step method reads of
    the context is worked out once, here)."""

    __slots__ = ("_advanced", "_inner_first", "_inner_last", "_now", "carry", "context", "nest")

    def __init__(self, nest: Nest, context: tuple[Key, ...]) -> None:
        self.nest, self.context = nest, context
        count = len(context)
        # At `i`: every loop from level `i` inward is at its first (last) index.
        inner_first, inner_last = [True] * (count + 1), [True] * (count + 1)
        carry = -1  # the loop that advances after this step (−1: this is the last step)
        now = dict(nest.fixed)
        for i in range(count - 1, -1, -1):
            tile, _, first, last, _ = context[i]  # a Key: one unpacking reads its fields
            now[nest.levels[i][0]] = (tile, first)
            inner_first[i] = first and inner_first[i + 1]
            inner_last[i] = last and inner_last[i + 1]
            if carry < 0 and not last:
                carry = i
        self.carry, self._inner_first, self._inner_last = carry, inner_first, inner_last
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
        if found is None:
            nest = self.nest
            found = self._advanced[level] = dict(self._now)  # the loops outside stay
            found[nest.levels[level][0]] = (self.context[level].after, False)
            found.update(nest.restarts[level])
        return found

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
        visit_level, kept = nest.visit_level, nest.kept_levels
        visit = visit_level is not None and inner_first[visit_level]
        psum_now = visit and nest.reduces_across_visits and not now["k"][1]
        loads = self.fetch("ifmap") + self.fetch("weight")
        # Partial sums are read back only when a reduction spans visits (`has_psum`).
        late = self.fetch("psum") if nest.reduces_across_visits else ()
        if late and nest.doubles["ofmap"]:
            loads, late = loads + late, ()
        takes = tuple([op for op, level in kept if inner_first[level]])
        writes = visit_level is not None and inner_last[visit_level]
        # Positional, in `Step`'s field order (keywords cost a named tuple twice the time):
        # compute cycles, takes, claims ofmap, releases, loads, write-back, post loads,
        # prefetch point.
        return Step(
            self.cycles(now),
            (*takes, "psum") if psum_now else takes,
            visit and not psum_now,
            tuple([op for op, level in kept if inner_last[level]]),
            loads,
            self.writeback(now) if writes else 0,
            late,
            self.prefetch_point(),
        )

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

    def fetch(self, kind: LoadKind) -> tuple[Load, ...]:
        """The `kind` tile the DMA queues behind this step, if any.

        A tile that lasts one step, or sits in a single-buffered buffer, loads for the step that
        needs it next; a double-buffered tile that lasts several steps loads its successor now,
        during the second step of its own life.
        """
        nest, carry = self.nest, self.carry
        level = nest.level[kind]
        if level < 0 or carry < 0:
            return ()
        if level == len(self.context) - 1 or not nest.doubles[_BUFFER[kind]]:
            if carry > level:
                return ()
            target: Coords | None = self._after(carry)  # `coords(innermost)`: carry advances
        else:
            target = self.coords(level) if self._inner_first[level + 1] else None
        if target is None or (kind == "psum" and not nest.has_psum(target)):
            return ()
        return nest.load(kind, target)

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
        previous = self.context[:level]
        return self.carry == level and self.context[level].penultimate and all(
            key.last for key in previous
        )

    def cycles(self, now: Coords) -> int:
        nest = self.nest
        chunk = "whole" if not nest.merged else "head" if self.context[-1].first else "tail"
        cycles = nest.fold_run(now["m"][0][0], now["k"][0][0], now["n"][0][0], now["g"][0], chunk)
        first, last = nest.edges
        if self._inner_first[0]:
            cycles += first
        if self.carry < 0:
            cycles += last + nest.tail_adjust
        return cycles

"""Streaming an operand through an undersized buffer: one tile step cut into one sub-step per piece.

With `sram.undersized: stream`, an operand whose tile cannot fit its buffer half passes through
the buffer in pieces of at most one half, as a double buffer without reuse streams: the DMA
fills one half while the array drains the other. A step that reads such an operand becomes
sub-steps, each taking one piece, with the step's compute shared evenly among them; piece
`i + 1` is queued as sub-step `i` is issued, so transfers overlap compute exactly as far as two
halves allow, and the DRAM bandwidth and latency set the stalls.

Input pieces open the step (the array reads its operands as it starts). A streamed ofmap leaves
in pieces at the end of the step: each piece claims a free half (or, when the reduction
continues from an earlier step, first reads its partial sums back into it) and is written back.
The step's other operands are taken by the first sub-step and released by the last; loads into
double-buffered buffers that queue behind the step still go out with the first sub-step, those
that must wait for this step's releases (single-buffered, or the next piece of a streamed
operand) with the last.
"""

from __future__ import annotations

import itertools

from accel.memory.tile_schedule import InputOperand, Load, Node, Repeat, Step, share
from accel.model.frozen import Frozen


class Pieces(Frozen):
    """What one step streams: input pieces in order, and the streamed ofmap's pieces.
    Hand-written, not a frozen dataclass (see `frozen.py`; a NamedTuple's `count` is taken)."""

    __slots__ = _compared = (
        "inputs", "outputs", "psum_bytes_per_output", "write_bytes_per_output"
    )  # fmt: skip

    inputs: tuple[tuple[InputOperand, tuple[int, ...]], ...]  # (kind, bytes of each piece)
    outputs: tuple[int, ...]  # output elements per ofmap piece
    psum_bytes_per_output: int  # partial sums read back before adding (0: a fresh start)
    write_bytes_per_output: int  # int32 partial sums, or int8 results

    def __init__(
        self, inputs: tuple[tuple[InputOperand, tuple[int, ...]], ...] = (),
        outputs: tuple[int, ...] = (), psum_bytes_per_output: int = 0,
        write_bytes_per_output: int = 0,
    ) -> None:  # fmt: skip
        init = object.__setattr__
        init(self, "inputs", inputs)
        init(self, "outputs", outputs)
        init(self, "psum_bytes_per_output", psum_bytes_per_output)
        init(self, "write_bytes_per_output", write_bytes_per_output)

    @property
    def count(self) -> int:
        return max([len(self.outputs)] + [len(sizes) for _, sizes in self.inputs])


def cut(total: int, piece: int) -> tuple[int, ...]:
    """`total` bytes (or elements) in pieces of `piece`: full pieces, then the remainder."""
    full, rest = divmod(total, piece)
    return (piece,) * full + ((rest,) if rest else ())


def split_step(
    step: Step, pieces: Pieces, deferred: frozenset[str], psum_double: bool
) -> tuple[Node, ...]:
    """`step` as sub-steps, one per piece (identical neighbours compressed into repeats).

    `step` must leave the streamed operands out of its takes, releases, ofmap claim and
    write-back; its loads of kinds in `deferred` are queued behind the last sub-step.
    """
    count = max(1, pieces.count)
    early = tuple(load for load in step.loads if load.kind not in deferred)
    late = tuple(load for load in step.loads if load.kind in deferred)
    # Sub-steps change only where a piece sequence starts or ends, where the last (partial)
    # piece is queued, or where the compute shares lose their extra cycle: between those
    # cuts they are identical, so each run is built once.
    cuts = {0, 1, count - 2, count - 1, count, step.compute_cycles % count}
    cuts.add(count - len(pieces.outputs))
    for _, sizes in pieces.inputs:
        cuts |= {len(sizes) - 2, len(sizes) - 1, len(sizes)}
    bounds = sorted(cut for cut in cuts if 0 <= cut <= count)
    nodes: list[Node] = []
    for begin, end in itertools.pairwise(bounds):
        sub = _sub_step(step, pieces, count, begin, (early, late), psum_double)
        nodes.append(sub if end - begin == 1 else Repeat(end - begin, (sub,)))
    return tuple(nodes)


def _sub_step(
    step: Step,
    pieces: Pieces,
    count: int,
    index: int,
    queued: tuple[tuple[Load, ...], tuple[Load, ...]],
    psum_double: bool,
) -> Step:
    first, last = index == 0, index == count - 1
    taking = tuple(kind for kind, sizes in pieces.inputs if index < len(sizes))
    takes = (step.takes if first else ()) + taking
    loads = [
        Load(kind, sizes[index + 1]) for kind, sizes in pieces.inputs if index + 1 < len(sizes)
    ]
    post: list[Load] = []
    claims = step.claims_ofmap and first
    writeback = step.writeback_bytes if last else 0
    outputs, psum = pieces.outputs, pieces.psum_bytes_per_output
    piece = index - (count - len(outputs))  # ofmap pieces close the step
    if outputs and piece >= 0:
        takes += ("psum",) if psum else ()
        claims = not psum
        writeback = outputs[piece] * pieces.write_bytes_per_output
        if psum and piece + 1 < len(outputs):
            (loads if psum_double else post).append(Load("psum", outputs[piece + 1] * psum))
    return Step(
        compute_cycles=share(step.compute_cycles, count, index),
        takes=takes,
        claims_ofmap=claims,
        releases=taking + (step.releases if last else ()),
        loads=tuple(loads) + (queued[0] if first else ()) + (queued[1] if last else ()),
        writeback_bytes=writeback,
        post_loads=tuple(post) + (step.post_loads if last else ()),
        prefetch_point=step.prefetch_point and last,
    )

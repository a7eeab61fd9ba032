"""Cycles and global-buffer accesses of a layer on a row-stationary array.

Every PE runs the same program in a pass, so a pass lasts as long as the PE with the most work:
the leading set's `p' = min(p, filters)` filters and `q' = min(q, channels)` channels of `S'`
filter columns. Per pass a PE

1. loads its filter scratchpad, one word per cycle: `p'·q'·S'` cycles;
2. for each of `n'` images and `F` ofmap columns: `p'·q'·S'` MACs, then `p'` cycles adding the
   psums that come up from the PE below (the MAC's adder is shared) and passing them on;
3. waits, at the top of a column of `R'` PEs, one cycle per PE below for the psums to ripple
   up: `R' − 1` cycles.

`pass_cycles = p'q'S' + n'·F·(p'q'S' + p') + R' − 1`; a layer's cycles are the sum over its
passes. `accel.oracles.row_stationary` runs the PEs' scratchpads and psum links one cycle at a
time on real values and counts the same cycles (tests/test_row_stationary.py).

Global-buffer (SRAM) accesses, in elements: each pass reads the ifmap rows of its strip and
channels once (the `t` filter sets share them by multicast), reads its filters once from the
filter buffer, writes its psums and reads back the psums it accumulates onto.
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.mapping.row_stationary import PassKind, RowStationaryMapping, pass_kinds


def pass_cycles(mapping: RowStationaryMapping, kind: PassKind) -> int:
    """Cycles of one pass of `kind` (the leading set's PEs are the slowest)."""
    filters, channels = min(mapping.p, kind.filters), min(mapping.q, kind.channels)
    per_column = filters * channels * kind.filter_cols
    return (per_column + kind.images * mapping.shape.ofmap_width * (per_column + filters)
            + kind.filter_rows - 1)  # fmt: skip


def rs_compute_cycles(mapping: RowStationaryMapping) -> int:
    return sum(kind.count * pass_cycles(mapping, kind) for kind in pass_kinds(mapping))


@dataclass(frozen=True)
class BufferAccesses:
    """Global-buffer accesses of one row-stationary layer's passes, in elements."""

    ifmap_reads: int
    weight_reads: int
    psum_writes: int
    psum_reads: int  # psums read back to accumulate onto
    longest_pass_cycles: int


def buffer_accesses(mapping: RowStationaryMapping) -> BufferAccesses:
    s = mapping.shape
    ifmap = weight = psum_writes = longest = 0
    for kind in pass_kinds(mapping):
        rows_read = (kind.strip_rows - 1) * s.stride_height + kind.filter_rows
        cols_read = (s.ofmap_width - 1) * s.stride_width + kind.filter_cols
        ifmap += kind.count * kind.images * kind.channels * rows_read * cols_read
        weight += kind.count * kind.filters * kind.channels * kind.filter_rows * kind.filter_cols
        psum_writes += kind.count * kind.images * kind.filters * kind.strip_rows * s.ofmap_width
        longest = max(longest, pass_cycles(mapping, kind))
    outputs = s.groups * mapping.batch * s.out_channels * s.ofmap_height * s.ofmap_width
    return BufferAccesses(ifmap, weight, psum_writes, psum_writes - outputs, longest)


def busy_fraction(mapping: RowStationaryMapping, pe_count: int) -> float:
    """The mean fraction of PEs holding useful work: the active PEs, less the last strip's
    idle columns."""
    s = mapping.shape
    return mapping.active_pes / pe_count * s.ofmap_height / (mapping.strips * mapping.e)

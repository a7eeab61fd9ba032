"""DRAM traffic of a row-stationary layer, run-length coding on the link, global-buffer totals.

The passes of `accel.mapping.row_stationary` loop groups → image blocks (`n`) → strips →
ofmap-channel blocks (`m`) → channel chunks → filter chunks. So DRAM carries:

- ifmap: the rows of each strip (its halo included), once per ofmap-channel block;
- weights: every filter once per image block and strip (the filter buffer holds one pass's);
- ofmap: each output once, when its psums are complete (psums never leave the chip).

Feature maps cross the link run-length coded when `dram.feature_map_compression` is `rlc`
(Eyeriss: pairs of a 5-bit run of zeros and a 16-bit level, three pairs per 64-bit word; not
the network's input, not weights). A stated density `d` (non-zero fraction) codes `e` elements
in `ceil(e · max(d, 1/32))` pairs (a run longer than 31 zeros costs a pair of its own);
`rlc_pairs` counts a real tensor exactly; a functional run's densities
(`accel.simulation.feature_map_densities`) replace the stated one per layer.

Global-buffer accesses (bytes): the array's reads and writes
(`accel.perf.row_stationary.buffer_accesses`), the DRAM fills of ifmaps and filters, and the
final outputs read out to DRAM.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.config import ChipConfig
from accel.mapping.array import ceil_div, fold_sizes
from accel.mapping.row_stationary import RowStationaryMapping
from accel.model.network import Layer
from accel.perf.timing import ComputeTiming

RUN_BITS, LEVEL_BITS, PAIRS_PER_WORD, WORD_BYTES = 5, 16, 3, 8
LONGEST_RUN = (1 << RUN_BITS) - 1


def rlc_bytes(elements: int, density: float) -> int:
    """Bytes of `elements` run-length coded at a stated non-zero fraction `density`."""
    pairs = int(np.ceil(elements * max(density, 1 / (LONGEST_RUN + 1))))
    return ceil_div(pairs, PAIRS_PER_WORD) * WORD_BYTES


def rlc_pairs(values: npt.ArrayLike) -> int:
    """Pairs the run-length coder emits for `values` (flattened): one per non-zero, and one per
    31 zeros in a row that no non-zero ends (the run saturates and a zero level is sent)."""
    flat = np.asarray(values).ravel()
    pairs, run = 0, 0
    for nonzero in flat != 0:
        if nonzero or run == LONGEST_RUN:
            pairs, run = pairs + 1, 0
        else:
            run += 1
    return pairs + (1 if run else 0)


def rs_dram_elements(mapping: RowStationaryMapping) -> tuple[int, int, int]:
    """(ifmap, weight, ofmap) elements that cross the link, uncoded."""
    s = mapping.shape
    strip_rows = sum(s.ifmap_rows(first, rows)
                     for first, rows in _strips(s.ofmap_height, mapping.e))  # fmt: skip
    blocks = ceil_div(s.out_channels, mapping.m)
    ifmap = s.groups * mapping.batch * blocks * s.in_channels * strip_rows * s.ifmap_cols
    filters = s.out_channels * s.in_channels * s.filter_height * s.filter_width
    weight = s.groups * ceil_div(mapping.batch, mapping.n) * mapping.strips * filters
    ofmap = s.groups * mapping.batch * s.out_channels * s.ofmap_height * s.ofmap_width
    return ifmap, weight, ofmap


def _strips(height: int, e: int) -> list[tuple[int, int]]:
    """(first ofmap row, rows) of each strip."""
    sizes = fold_sizes(height, e)
    return [(index * e, rows) for index, rows in enumerate(sizes)]


def rs_traffic(
    mapping: RowStationaryMapping, layer: Layer, timing: ComputeTiming, chip: ChipConfig,
    densities: tuple[float, float] | None = None,
) -> tuple[int, int, int, int]:  # fmt: skip
    """(ifmap, weight, ofmap) DRAM bytes, coded as the chip says, and the global buffer's
    accesses in bytes. `densities` (ifmap, ofmap) override the chip's stated feature-map
    density for this layer; the network's input (a layer reading `input`) is never coded."""
    width, dram = chip.array.element_bytes, chip.dram
    ifmap, weight, ofmap = rs_dram_elements(mapping)
    bias = layer.bias_elements * 4
    ifmap_bytes, weight_bytes, ofmap_bytes = ifmap * width, weight * width + bias, ofmap * width
    if dram.feature_map_compression == "rlc":
        ifmap_density, ofmap_density = densities or (dram.feature_map_density,) * 2
        if "input" not in layer.inputs:
            ifmap_bytes = rlc_bytes(ifmap, ifmap_density)
        ofmap_bytes = rlc_bytes(ofmap, ofmap_density)
    glb_elements = timing.sram_ifmap_reads + timing.sram_weight_reads + ifmap + weight
    glb_psums = timing.sram_ofmap_writes + timing.sram_ofmap_reads + ofmap
    glb_bytes = glb_elements * width + glb_psums * chip.array.accumulator_bytes
    return ifmap_bytes, weight_bytes, ofmap_bytes, glb_bytes

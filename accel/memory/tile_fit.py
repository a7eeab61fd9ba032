"""Which candidate tiles fit the buffers: each operand's tile bytes over the grid, the fit.

A tile must fit its buffer's half when the buffer is double-buffered (the other half is being
filled), so tile bytes are checked against `BufferConfig.tile_bytes`; operands without a buffer
of their own share the unified one. The ofmap buffer holds int32 accumulators
(`accumulator_bits` wide) while a reduction spans several passes through the array, and
outputs of `array.element_bytes` once each pass completes the whole reduction, or when an
output-stationary tile of one fold keeps its partial sums in the PEs while its K-tiles stream
past. When even the smallest legal tile overflows, `raise_no_fit` names the buffer
(`sram.undersized: error`), or the operand is streamed and `stream_legal` limits the grid.
"""

from __future__ import annotations

import numpy as np

from accel.config import ChipConfig, Operand
from accel.errors import InputError
from accel.mapping.array import ArrayMapping
from accel.memory.geometry import IntArray, LayerGeometry
from accel.memory.tiling import BIAS_BYTES, Candidates


def tile_bytes(
    grid: Candidates, geometry: LayerGeometry, array: ArrayMapping, chip: ChipConfig,
    has_bias: bool,
) -> dict[Operand, IntArray]:
    """Largest tile of each operand for every (m, k, n) candidate, as broadcastable arrays.

    An ofmap tile holds int32 (float chips: fp32) accumulators while its reduction is spread
    over several passes through the array; when each pass finishes the whole `K` (os with the
    whole `K` per tile; ws / is when `K` fits one fold of rows) it holds final outputs of
    `array.element_bytes` each instead (int8: requantized). Operands are that wide too.
    Memoized per grid (read-only arrays): chips that differ only in buffer sizes share them.
    """
    reads = (array.k, array.array_rows, array.dataflow, chip.array.element_bytes,
             chip.array.accumulator_bytes, has_bias)  # fmt: skip
    found = _TILE_BYTES.get(id(grid))
    if found is not None and found[0] is grid and found[1] == reads:
        return dict(found[2])
    sizes = _tile_bytes(grid, array, chip, has_bias)
    for each in sizes.values():
        each.flags.writeable = False
    if len(_TILE_BYTES) >= 256:
        _TILE_BYTES.clear()
    _TILE_BYTES[id(grid)] = (grid, reads, sizes)
    return dict(sizes)


# id(grid) → (grid, what `tile_bytes` reads besides it, its result); the grid is kept alive so
# its id is not reused meanwhile.
_TILE_BYTES: dict[int, tuple[Candidates, tuple[object, ...], dict[Operand, IntArray]]] = {}


def clear_cache() -> None:
    """Forget the memoized tile bytes."""
    _TILE_BYTES.clear()


def _tile_bytes(
    grid: Candidates, array: ArrayMapping, chip: ChipConfig, has_bias: bool
) -> dict[Operand, IntArray]:
    """`tile_bytes`, worked out."""
    m, k, n = grid.m[:, None, None], grid.k[None, :, None], grid.n[None, None, :]
    width = chip.array.element_bytes
    ifmap = grid.ifmap_max[:, :, None] * width
    weight = k * n * width + (BIAS_BYTES * n if has_bias else 0)
    in_array = array.k <= array.array_rows or array.dataflow == "os"
    complete = (k == array.k) & in_array
    ofmap = m * n * np.where(complete, width, chip.array.accumulator_bytes)
    return {"ifmap": ifmap, "weight": weight, "ofmap": ofmap}


def with_outputs_in_pes(
    sizes: dict[Operand, IntArray], grid: Candidates, array: ArrayMapping, in_place: IntArray,
    element_bytes: int = 1,
) -> dict[Operand, IntArray]:
    """Tile bytes when an os tile keeps its partial sums in the PEs (`in_place`): only final
    outputs (`element_bytes` each) reach the ofmap buffer."""
    if array.dataflow != "os":
        return sizes
    outputs = grid.m[:, None, None] * grid.n[None, None, :] * element_bytes
    return {**sizes, "ofmap": np.where(in_place, outputs, sizes["ofmap"])}


def per_order_outputs_in_pes(
    sizes: dict[Operand, IntArray], grid: Candidates, array: ArrayMapping,
    in_place: list[IntArray] | IntArray, element_bytes: int = 1,
) -> list[dict[Operand, IntArray]]:
    """`with_outputs_in_pes` of each loop order's `in_place` (a list, or stacked on a first
    axis), in one selection for all of them."""
    if array.dataflow != "os":
        return [sizes] * len(in_place)
    outputs = grid.m[:, None, None] * grid.n[None, None, :] * element_bytes
    return [{**sizes, "ofmap": each} for each in np.where(in_place, outputs, sizes["ofmap"])]


def fits(
    tiles: dict[Operand, IntArray], chip: ChipConfig, streamed: tuple[Operand, ...] = ()
) -> IntArray:
    """Boolean grid: which candidates fit every buffer half (shared ones by their sum).

    Streamed operands are exempt: they pass through their buffer in pieces.
    """
    sram = chip.sram
    shape = np.broadcast(*tiles.values()).shape  # not `np.broadcast_shapes`, in Python
    ok, shared = np.empty(shape, dtype=bool), np.zeros(shape, dtype=np.int64)
    ok.fill(True)  # `np.ones`, without its Python
    for operand, size in tiles.items():
        if operand in streamed:
            continue
        if sram.is_shared(operand):
            shared = shared + size
        else:
            ok &= size <= sram.buffer_for(operand).tile_bytes
    if sram.unified is not None:
        ok &= shared <= sram.unified.tile_bytes
    return ok


def fits_per_order(
    sizes: dict[Operand, IntArray], grid: Candidates, array: ArrayMapping,
    in_place: list[IntArray] | IntArray, chip: ChipConfig, streamed: tuple[Operand, ...] = (),
) -> list[IntArray]:
    """`fits` of each loop order's tile bytes (`with_outputs_in_pes` of its `in_place`: a
    list, or stacked on a first axis), from two evaluations: every os tile with its outputs in
    the PEs, and none (the fit of one candidate reads only its own tile bytes, so an order's
    fit selects between them, all orders in one selection)."""
    if array.dataflow != "os":
        return [fits(sizes, chip, streamed)] * len(in_place)
    outputs = grid.m[:, None, None] * grid.n[None, None, :] * chip.array.element_bytes
    inside = fits({**sizes, "ofmap": outputs}, chip, streamed)
    outside = fits(sizes, chip, streamed)
    return list(np.where(in_place, inside, outside))


def stream_legal(grid: Candidates, array: ArrayMapping, streamed: tuple[Operand, ...]) -> IntArray:
    """Candidates a streamed ofmap allows: where `K` sits on the array rows (ws / is), a tile
    takes one row fold of `K`, so each step updates its outputs once (read, add, write back)."""
    ok = np.ones((len(grid.m), len(grid.k), len(grid.n)), dtype=bool)
    if "ofmap" in streamed and array.rows_dim == "k":
        ok &= (grid.k <= array.array_rows)[None, :, None]
    return ok


def raise_no_fit(
    layer_name: str, tiles: dict[Operand, IntArray], chip: ChipConfig, grid: Candidates
) -> None:
    """Name the buffer that cannot hold even the smallest legal tile, and the bytes it needs."""
    smallest: dict[Operand, int] = {op: int(size.flat[0]) for op, size in tiles.items()}
    detail = f"m_tile {grid.m[0]}, k_tile {grid.k[0]}, n_tile {grid.n[0]}"
    sram = chip.sram
    for operand, need in smallest.items():
        if not sram.is_shared(operand) and need > sram.buffer_for(operand).tile_bytes:
            half = sram.buffer_for(operand).tile_bytes
            raise InputError(
                f"layer {layer_name!r}: {operand} buffer ({half} bytes per half) must hold at "
                f"least one {operand} tile of {need} bytes ({detail}), not {half}"
            )
    shared = [op for op in smallest if sram.is_shared(op)]
    assert sram.unified is not None
    need = sum(smallest[op] for op in shared)
    half = sram.unified.tile_bytes
    raise InputError(
        f"layer {layer_name!r}: unified buffer ({half} bytes per half) must hold at least one "
        f"{' + '.join(shared)} tile of {need} bytes ({detail}), not {half}"
    )

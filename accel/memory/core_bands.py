"""One image through the pipelined stages in bands of rows: tiles streaming between cores.

At batch 1 there are no images to overlap, so the stages (`core_stages.stages_of`, one per
core) overlap on bands of one image instead: every layer that works row by row runs in bands
of its output rows, each a task on its stage's core: a conv or pooling layer in 1, 2, 4 or up
to `PIPELINED_TILES` bands by `core_split.split_layer`'s row cut (the count with the least
`_wait_estimate`), an elementwise layer's work in `PIPELINED_TILES` equal shares. A band waits
for the bands of its inputs that hold the rows its windows read (`bands.rows_read`: the
receptive field fusion uses), so a band made on one core crosses
the NoC to the next stage, which starts on it as soon as it has landed; a layer that reads
every input row (fc, global pooling) runs whole after all of its inputs' bands.

A core plays its bands depth first: of the layers whose next band has its inputs, the deepest
goes next, so a stage passes its first band on as early as its windows allow. A stage's
weights stay in the core's weight buffer across its bands when all of them fit (each layer's
first band reads its weights, later bands only what their tiling fetches beyond them);
otherwise every band reads its weights again. Activations follow the image pipeline's rule:
across cores over the NoC, within a stage through DRAM.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from accel.config import ChipConfig
from accel.memory.bands import PIPELINED_TILES, row_window, rows_read
from accel.memory.capacity import weight_capacity
from accel.memory.core_pieces import (
    LayerCores,
    MultiCoreRun,
    Piece,
    piece_cost,
    played,
    shares_or_zeros,
    task_of,
)
from accel.memory.core_split import shares, split_layer
from accel.memory.core_stages import Stages, stages_of, streamed
from accel.memory.core_timeline import CoreTask
from accel.model.network import Layer, Network
from accel.model.ops import Conv
from accel.model.pool_ops import AvgPool, MaxPool

_FIELDS = (
    "macs", "compute_cycles", "isolated_cycles", "ifmap_bytes", "weight_bytes",
    "ofmap_write_bytes", "ofmap_read_bytes", "tile_steps", "compulsory_ofmap_bytes",
)  # fmt: skip


@dataclass(frozen=True)
class _Band:
    """Output rows [first, end) of one layer, and the bands it waits for."""

    layer: int
    first: int
    end: int
    piece: Piece
    after: frozenset[int]  # bands with work (indices into the run's band list)

    @property
    def works(self) -> bool:
        piece = self.piece
        return bool(piece.compute_cycles or piece.dram_bytes or piece.peer_bytes)


def band_pipeline(network: Network, chip: ChipConfig) -> MultiCoreRun:
    """One image through the stages, each layer in bands of rows, bands streaming between
    cores as soon as the rows the next stage's windows read have been made."""
    plan = stages_of(network, chip)
    staying = _weights_stay(network, plan)
    bands: list[_Band] = []
    rows_of: dict[str, list[int]] = {}  # layer → its bands, in row order
    layers = []
    for index, layer in enumerate(network.layers):
        core = plan.core_of[layer.name]
        cut = _cut(layer, plan.cores[core], core)
        pieces = [streamed(layer.name, part, piece, plan, chip) for _, part, piece in cut]
        if core in staying:
            element = plan.cores[core].array.element_bytes
            pieces = _weights_once(pieces, layer.weight_bytes_at(element))
        first = 0
        rows_of[layer.name] = []
        for (rows, _, _), piece in zip(cut, pieces, strict=True):
            end = first + rows
            band = _Band(index, first, end, piece,
                         _waits_for(layer, first, end, len(cut) > 1, rows_of, bands))  # fmt: skip
            rows_of[layer.name].append(len(bands))
            bands.append(band)
            first = end
        layers.append(LayerCores("bands" if len(cut) > 1 else "stage", tuple(pieces)))
    return played("pipeline", tuple(layers), _tasks(bands, chip.core_count), chip)


def _cut(layer: Layer, core_chip: ChipConfig, core: int) -> list[tuple[int, Layer, Piece]]:
    """The layer's bands on its core, (output rows, the band as a layer, its piece): a window
    layer by the row cut into the band count that costs least, an elementwise one in
    `PIPELINED_TILES` equal shares of its work, anything else whole."""
    whole = piece_cost(layer, core_chip, 1, core)
    height = layer.output_shape.height
    count = min(PIPELINED_TILES, height)
    alone = [(height, layer, whole)]
    if count < 2 or any(row_window(layer, slot) is None for slot in range(len(layer.inputs))):
        return alone
    if isinstance(layer.op, Conv | MaxPool | AvgPool):
        return min(_row_cuts(layer, core_chip, core, count, alone),
                   key=lambda cut: _wait_estimate(cut, whole))  # fmt: skip
    split = {field: shares_or_zeros(getattr(whole, field), count) for field in _FIELDS}
    return [
        (rows, layer, Piece(core, **{field: values[i] for field, values in split.items()}))
        for i, rows in enumerate(shares(height, count))
    ]


def _row_cuts(
    layer: Layer, core_chip: ChipConfig, core: int, most: int, alone: list[tuple[int, Layer, Piece]]
) -> list[list[tuple[int, Layer, Piece]]]:
    """The layer whole and in 2, 4, … up to `most` row bands (the cuts that exist)."""
    cuts, count = [alone], 2
    while count <= most:
        parts = split_layer(layer, count, "rows")
        if parts is not None:
            cuts.append([(part.output_shape.height, part, piece_cost(part, core_chip, 1, core))
                         for part in parts])  # fmt: skip
        count *= 2
    return cuts


def _wait_estimate(cut: list[tuple[int, Layer, Piece]], whole: Piece) -> float:
    """The bands' cycles, each alone on the core, plus the first band's share of the whole
    layer: what the layer costs its core and what the next stage waits before it can start.
    More bands pass rows on sooner but pay each band's refill (and, past the weight buffer,
    its weights) again."""
    return sum(piece.isolated_cycles for _, _, piece in cut) + whole.isolated_cycles / len(cut)


def _waits_for(
    layer: Layer, first: int, end: int, banded: bool, rows_of: dict[str, list[int]],
    bands: list[_Band],
) -> frozenset[int]:
    """The bands with work that hold the input rows output rows [first, end) read (all of an
    input's bands when the layer runs whole)."""
    after: set[int] = set()
    for slot, name in enumerate(layer.inputs):
        window = row_window(layer, slot) if banded else None
        height = layer.input_shapes[slot].height
        low, high = rows_read(window, height, first, end) if window else (0, height)
        for index in rows_of.get(name, ()):  # a network input is in DRAM from the start
            band = bands[index]
            if band.first < high and low < band.end:
                after |= {index} if band.works else band.after
    return frozenset(after)


def _weights_stay(network: Network, plan: Stages) -> set[int]:
    """The cores whose stage's weights fit their weight buffer together."""
    staying = set()
    for core, core_chip in enumerate(plan.cores):
        room = weight_capacity(core_chip).own_bytes
        element = core_chip.array.element_bytes
        weights = sum(layer.weight_bytes_at(element) for layer in network.layers
                      if plan.core_of[layer.name] == core)  # fmt: skip
        if room is not None and weights <= room:
            staying.add(core)
    return staying


def _weights_once(pieces: list[Piece], weight_bytes: int) -> list[Piece]:
    """A layer whose weights stay on the core: its first band reads them, the later bands only
    what their tiling fetches beyond them."""
    return [piece if i == 0 else replace(piece, weight_bytes=max(0, piece.weight_bytes
                                                                 - weight_bytes))
            for i, piece in enumerate(pieces)]  # fmt: skip


def _tasks(bands: list[_Band], core_count: int) -> list[CoreTask]:
    """Every core's bands in depth-first order (of the layers whose next band has its inputs
    on this core already played, the deepest goes next), numbered core by core."""
    order: list[int] = []
    for core in range(core_count):
        queues: dict[int, list[int]] = {}
        for index, band in enumerate(bands):
            if band.works and band.piece.core == core:
                queues.setdefault(band.layer, []).append(index)
        played_here: set[int] = set()
        while queues:
            for layer in sorted(queues, reverse=True):
                head = queues[layer][0]
                local = {i for i in bands[head].after if bands[i].piece.core == core}
                if local <= played_here:
                    break
            else:
                raise RuntimeError("band pipeline: no band of a core can go next")
            played_here.add(head)
            order.append(head)
            queues[layer].pop(0)
            if not queues[layer]:
                del queues[layer]
    number = {band: task for task, band in enumerate(order)}
    return [task_of(bands[band].piece, bands[band].layer,
                    tuple(sorted(number[i] for i in bands[band].after)))
            for band in order]  # fmt: skip

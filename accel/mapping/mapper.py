"""Deciding where each layer runs: conv and fc on the MAC array, everything else on the vector unit.

Depthwise convolutions go to the unit the chip config names: per-channel GEMMs on the array
(`array.depthwise_unit: array`, SCALE-Sim's view, which leaves most PEs idle) or the vector unit.
A transposed convolution runs on the array as the dense conv of the chip's
`array.conv_transpose` mapping (`accel.mapping.conv_transpose`): `Mapping.lowered` is that conv,
whose GEMM, tiling and traffic are what the array does, inserted zeros and idle taps included.
Layers that only reinterpret memory (flatten, concat) run nowhere and cost no compute cycles.
On the vector unit a layer is `vector_outputs` results (its ofmap elements) needing
`vector_ops` operations in all: MACs for depthwise, window taps for pooling, inputs for add.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.array import ArrayMapping
from accel.model.conv_transpose import ConvTranspose
from accel.model.frozen import Frozen
from accel.model.network import Layer

# The transposed-conv lowering and the row-stationary placement are imported by the layers and
# chips that need them: a plain run on a systolic array never loads either.
if TYPE_CHECKING:
    from accel.mapping.row_stationary import RowStationaryMapping

Unit = Literal["array", "vector", "none"]


class Mapping(Frozen):
    """Where and how one layer runs for a given batch.

    Hand-written (`Frozen`), equal, hashed and shown as the frozen dataclass it was: a
    dataclass's methods are compiled at every start-up."""

    __slots__ = _compared = ("layer", "batch", "unit", "array", "vector_ops", "vector_outputs",
                             "lowered", "element_bytes", "row_stationary")  # fmt: skip
    layer: Layer
    batch: int
    unit: Unit
    array: ArrayMapping | None  # set when unit == "array"
    vector_ops: int  # operations on the vector unit (all images), 0 when unit == "array"
    vector_outputs: int  # results the vector unit produces (all images); ops spread over them
    lowered: Layer | None  # a transposed conv: the dense conv the array runs instead
    element_bytes: int  # bytes of one operand element at the chip's precision
    row_stationary: RowStationaryMapping | None  # set on an rs array (dataflow rs)

    def __init__(self, layer: Layer, batch: int, unit: Unit, array: ArrayMapping | None,
                 vector_ops: int, vector_outputs: int = 0, lowered: Layer | None = None,
                 element_bytes: int = 1,
                 row_stationary: RowStationaryMapping | None = None) -> None:  # fmt: skip
        set_field = object.__setattr__
        set_field(self, "layer", layer)
        set_field(self, "batch", batch)
        set_field(self, "unit", unit)
        set_field(self, "array", array)
        set_field(self, "vector_ops", vector_ops)
        set_field(self, "vector_outputs", vector_outputs)
        set_field(self, "lowered", lowered)
        set_field(self, "element_bytes", element_bytes)
        set_field(self, "row_stationary", row_stationary)

    @property
    def tensor_bytes(self) -> tuple[int, int, int]:
        """(ifmap, weight, ofmap) bytes of the layer's tensors over the batch, each once."""
        layer, batch, width = self.layer, self.batch, self.element_bytes
        return (layer.ifmap_elements * width * batch, layer.weight_bytes_at(width),
                layer.ofmap_elements * width * batch)  # fmt: skip

    @property
    def macs(self) -> int:
        """The layer's (useful) MACs over the whole batch."""
        return self.layer.macs * self.batch

    @property
    def issued_macs(self) -> int:
        """The MACs the unit performs over the whole batch: `macs`, except for a transposed
        conv, whose mapping also multiplies inserted zeros and idle phase taps."""
        return self.array.macs if self.array is not None else self.macs

    @property
    def array_layer(self) -> Layer:
        """The layer whose GEMM the array runs: the dense conv of a transposed conv's lowering,
        else the layer itself."""
        return self.lowered or self.layer


# Images per inference: the cost model takes about 12 ms per image for VGG16 (linear in batch),
# so 4096 stays within a minute and ~1.3 GB; a typo such as 1e9 is refused at once.
MAX_BATCH = 4096


def map_layer(layer: Layer, chip: ChipConfig, batch: int = 1) -> Mapping:
    """Place one layer on the chip."""
    if not 0 < batch <= MAX_BATCH:
        raise InputError(f"batch must be between 1 and {MAX_BATCH:,}, not {batch!r}")
    width = chip.array.element_bytes
    if isinstance(layer.op, ConvTranspose):
        from accel.mapping.conv_transpose import lower

        conv = lower(layer, chip.array.conv_transpose).conv
        assert conv.gemm is not None
        array = ArrayMapping.place(conv.gemm, batch, chip.array)
        return Mapping(layer, batch, "array", array, 0, lowered=conv, element_bytes=width,
                       row_stationary=_row_stationary(conv, chip, batch))  # fmt: skip
    gemm = layer.gemm
    if gemm is not None and not (layer.is_depthwise and chip.array.depthwise_unit == "vector"):
        array = ArrayMapping.place(gemm, batch, chip.array)
        return Mapping(layer, batch, "array", array, 0, element_bytes=width,
                       row_stationary=_row_stationary(layer, chip, batch))  # fmt: skip
    ops = layer.macs if gemm is not None else layer.vector_ops
    unit: Unit = "vector" if ops else "none"
    outputs = layer.ofmap_elements if ops else 0
    return Mapping(layer, batch, unit, None, ops * batch, outputs * batch, element_bytes=width)


def _row_stationary(layer: Layer, chip: ChipConfig, batch: int) -> RowStationaryMapping | None:
    """The row-stationary placement of an array layer on an rs chip, else None."""
    if chip.array.dataflow != "rs":
        return None
    from accel.mapping.row_stationary import map_row_stationary

    return map_row_stationary(layer, chip, batch)

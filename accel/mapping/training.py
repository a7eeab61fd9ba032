"""Placing a training step's work items: GEMMs as the inference mapper places layers, vector items
on the vector unit with the operation counts the step gives them.

A depthwise conv's backward GEMMs follow its forward onto the unit the chip names for depthwise
(`array.depthwise_unit`): on the vector unit each MAC is one vector operation, as in inference.
"""

from __future__ import annotations

from accel.config import ChipConfig
from accel.mapping.mapper import Mapping, Unit, map_layer
from accel.model.training import Work


def map_work(work: Work, chip: ChipConfig) -> Mapping:
    """Place one work item of a training step on the chip."""
    layer, batch, width = work.layer, work.batch, chip.array.element_bytes
    if work.vector_ops is None:
        vector_depthwise = work.source.is_depthwise and chip.array.depthwise_unit == "vector"
        if layer is work.source or not vector_depthwise:
            return map_layer(layer, chip, batch)
        outputs = layer.ofmap_elements * batch
        return Mapping(layer, batch, "vector", None, layer.macs * batch, outputs,
                       element_bytes=width)
    unit: Unit = "vector" if work.vector_ops else "none"
    outputs = work.vector_outputs if work.vector_ops else 0
    return Mapping(layer, batch, unit, None, work.vector_ops, outputs, element_bytes=width)

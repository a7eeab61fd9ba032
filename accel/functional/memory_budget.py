"""How much memory an int8 run (--check, --inputs, --dump) needs, checked before it starts.

The engine keeps every layer's int8 output and its own int32 accumulators, and the largest
conv's im2col view (float64) dominates a layer's peak; the reference runtime holds every
layer's output too. A batch that does not fit would grow memory until the machine kills the
process, so `require_memory` refuses it first, in one line with the estimate. The estimate,
`2 bytes × Σ layer outputs + 7.5 bytes × the largest im2col` per image plus 200 MiB, was fitted
to measured peaks (VGG16 --check: 247 MB per image; MobileNetV2: 34 MB per image, estimated
44 MB) and errs on the high side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from accel.errors import InputError
from accel.model.network import Layer, Network

BASE_BYTES = 200 << 20


def _im2col_elements(layer: Layer) -> int:
    """Elements of the im2col view of a conv or fc layer (its MACs over the filters per group)."""
    if not layer.uses_array:
        return 0
    groups = int(getattr(layer.op, "groups", 1))
    # A transposed conv's zero-insertion lowering reads stride_h·stride_w times more windows.
    upsampling = int(np.prod(getattr(layer.op, "stride", (1, 1)))) if (
        layer.kind == "conv_transpose") else 1  # fmt: skip
    return layer.macs * upsampling * groups // max(1, layer.output_shape.channels)


def estimated_bytes(network: Network, batch: int) -> int:
    """Peak memory of an int8 run with its check, in bytes (an upper estimate)."""
    outputs = sum(layer.output_shape.elements for layer in network.layers)
    im2col = max((_im2col_elements(layer) for layer in network.layers), default=0)
    return int(batch * (2 * outputs + 7.5 * im2col)) + BASE_BYTES


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def require_memory(network: Network, batch: int, available: int | None = None) -> None:
    """Refuse, in one line, an int8 run that would not fit in this machine's free memory."""
    free = available_bytes() if available is None else available
    needed = estimated_bytes(network, batch)
    if free is not None and needed > free:
        per_image = (needed - BASE_BYTES) / batch
        largest = max(1, int((free - BASE_BYTES) // per_image))
        raise InputError(
            f"--check/--inputs/--dump of {network.name} at batch {batch} needs about "
            f"{needed / 2**30:.1f} GiB of memory, and {free / 2**30:.1f} GiB is available: "
            f"use --batch {largest} or less"
        )

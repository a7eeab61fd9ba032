"""Sliding-window geometry shared by the convolution and pooling units.

A conv or pool window walks over a zero-padded ifmap; these helpers validate the window
hyper-parameters, compute output sizes with onnxruntime's ceil_mode rule, and build copy-free
strided views of all windows at once, so a kernel can reduce over them with one numpy call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

Pads = tuple[int, int, int, int]  # top, bottom, left, right
Scalar = TypeVar("Scalar", bound=np.generic)


def pair(value: Sequence[int], what: str, minimum: int) -> tuple[int, int]:
    """A validated (height, width) pair of integers >= `minimum`."""
    vals = tuple(int(v) for v in value)
    if len(vals) != 2 or min(vals) < minimum:
        raise ValueError(f"{what} must be two integers >= {minimum}, not {value!r}")
    return vals[0], vals[1]


def pads4(pads: Sequence[int]) -> Pads:
    """Validated (top, bottom, left, right) padding."""
    vals = tuple(int(p) for p in pads)
    if len(vals) != 4 or min(vals) < 0:
        raise ValueError(
            f"pads must be four integers [top, bottom, left, right] >= 0, not {pads!r}"
        )
    return vals[0], vals[1], vals[2], vals[3]


def check_nchw(x: npt.ArrayLike, what: str) -> npt.NDArray[Any]:
    """`x` as an array, which must be 4-D (N, C, H, W)."""
    arr = np.asarray(x)
    if arr.ndim != 4:
        raise ValueError(f"{what} must be a 4-D NCHW array, not shape {arr.shape!r}")
    return arr


def windows(
    xp: npt.NDArray[Scalar],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    out_hw: tuple[int, int],
) -> npt.NDArray[Scalar]:
    """A copy-free view (N, C, KH, KW, OH, OW) of every window of a padded NCHW array."""
    s = xp.strides
    shape = (xp.shape[0], xp.shape[1], kernel[0], kernel[1], out_hw[0], out_hw[1])
    view_strides = (
        s[0],
        s[1],
        s[2] * dilations[0],
        s[3] * dilations[1],
        s[2] * strides[0],
        s[3] * strides[1],
    )
    return as_strided(xp, shape=shape, strides=view_strides, writeable=False)


def pad_to_windows(
    x: npt.NDArray[np.generic],
    pads: Pads,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    out_hw: tuple[int, int],
    fill: float | int,
) -> npt.NDArray[np.generic]:
    """`x` padded with `fill` so that exactly `out_hw` windows fit."""
    # Pad head as asked and the tail exactly as far as the last window reaches (ceil_mode may need
    # more than the declared tail padding; those taps are never valid and hold `fill`).
    h, w = x.shape[2], x.shape[3]
    need_h = (out_hw[0] - 1) * strides[0] + (kernel[0] - 1) * dilations[0] + 1
    need_w = (out_hw[1] - 1) * strides[1] + (kernel[1] - 1) * dilations[1] + 1
    tail_h, tail_w = need_h - h - pads[0], need_w - w - pads[2]
    xp = np.pad(
        x,
        ((0, 0), (0, 0), (pads[0], max(tail_h, 0)), (pads[2], max(tail_w, 0))),
        constant_values=fill,
    )
    return xp[:, :, : pads[0] + h + tail_h, : pads[2] + w + tail_w]

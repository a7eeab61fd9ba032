"""SCALE-Sim 3.0.0 interop: its `.cfg` as a chip, its topology CSV as a network, and back.

A SCALE-Sim config describes a systolic array (ArrayHeight × ArrayWidth, Dataflow), three SRAM
buffers in KiB and an interface bandwidth in words per cycle; accel reads it as a `ChipConfig`
with one-byte words, SCALE-Sim's fold schedule (no fold overlap) and accel's defaults for what
SCALE-Sim does not describe (clock, DRAM latency, energy, vector unit). It is read the way
SCALE-Sim reads it (Python's configparser): keys in any case, `key: value` or `key = value`,
sections other than `[general]`, `[architecture_presets]` and `[run_presets]` ignored.

SCALE-Sim never refuses a buffer size: its SRAMs refetch from DRAM whatever does not fit. The chip
therefore gets `sram.undersized: stream`, so an operand whose smallest tile overflows its buffer
half is streamed from DRAM on every use instead of being an error. SCALE-Sim reads `Bandwidth`
only when `[run_presets] InterfaceBandwidth` is `USER`; in its default `CALC` mode reads never
wait for DRAM and a cfg may omit the key. accel always models a DRAM channel, so without
`Bandwidth` the chip keeps accel's default channel (`DramConfig`, 16 bytes per cycle), which the
chip's description states.

A topology CSV lists layers that SCALE-Sim simulates independently, so each becomes a conv layer
reading its own graph input. As in SCALE-Sim, a layer whose name contains `DP` is a depthwise
layer expanded into one single-channel layer per input channel (`<name>Channel_<i>`), each with
the row's Num Filter, and fields after Strides (sparsity ratios, comments) are ignored.
The conv format is
`Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides`;
the GEMM format `Layer, M, N, K` becomes SCALE-Sim's equivalent conv (an M × K ifmap, a 1 × K
filter, N filters). SCALE-Sim has no padding and sizes the ofmap as `ceil((H − R) / stride) + 1`,
so these layers use `ceil_mode: scalesim` to keep strided layers such as AlexNet conv1 at 55×55
(and a 1×1 stride-2 layer on 56×56 at SCALE-Sim's 29×29, where a real conv gives 28×28).
"""

from __future__ import annotations

import configparser
import csv
from collections.abc import Callable
from pathlib import Path

from accel.config import ChipConfig
from accel.errors import InputError
from accel.model.network import LayerEntry, Network
from accel.model.ops import Conv, Shape
from accel.user_input import read_user_file

_ARCH = "architecture_presets"
CONV_COLUMNS = (
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
)
GEMM_COLUMNS = ("Layer", "M", "N", "K")


def load_scalesim_config(path: str | Path) -> ChipConfig:
    """Read a SCALE-Sim `.cfg` file as a chip config (undersized buffers stream, as in
    SCALE-Sim; without `Bandwidth`, accel's default DRAM bandwidth)."""
    parser = _read_cfg(Path(path))
    where = f"{path}: [{_ARCH}]"

    def number(key: str) -> int:
        text = _get(parser, key, where).split(",")[0].strip()  # Bandwidth may be a list
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"{where} {key} must be an integer, not {text!r}") from None
        if value <= 0:
            raise InputError(f"{where} {key} must be > 0, not {value}")
        return value

    dataflow = _get(parser, "Dataflow", where).lower()
    if dataflow not in ("os", "ws", "is"):
        raise InputError(f"{where} Dataflow must be one of os, ws, is, not {dataflow!r}")
    banks = number("MemoryBanks") if parser.has_option(_ARCH, "MemoryBanks") else 1
    name = parser.get("general", "run_name", fallback=Path(path).stem).strip()
    bandwidth = _bandwidth(parser, Path(path), number)
    data = {
        "name": name,
        "description": f"SCALE-Sim config {Path(path).name}"
        + ("" if bandwidth else " (no Bandwidth: accel's default DRAM bandwidth)"),
        "array": {
            "rows": number("ArrayHeight"),
            "cols": number("ArrayWidth"),
            "dataflow": dataflow,
            "fold_overlap": False,
        },
        "sram": {
            **{
                operand: {"size_kib": number(key), "banks": banks}
                for operand, key in (
                    ("ifmap", "IfmapSramSzkB"),
                    ("weight", "FilterSramSzkB"),
                    ("ofmap", "OfmapSramSzkB"),
                )
            },
            "undersized": "stream",
        },
        "dram": {"bandwidth_bytes_per_cycle": bandwidth} if bandwidth else {},
    }
    return ChipConfig.from_dict(data, str(path))


def _bandwidth(
    parser: configparser.ConfigParser, path: Path, number: Callable[[str], int]
) -> int | None:
    """`Bandwidth` in words (bytes) per cycle; None when a CALC-mode cfg leaves it out."""
    if parser.has_option(_ARCH, "Bandwidth"):
        return number("Bandwidth")
    mode = parser.get("run_presets", "InterfaceBandwidth", fallback="CALC").strip()
    if mode.upper() == "USER":
        raise InputError(
            f"{path}: [{_ARCH}] Bandwidth is required when [run_presets] InterfaceBandwidth "
            "is USER"
        )
    return None


def _read_cfg(path: Path) -> configparser.ConfigParser:
    text = read_user_file(path, "SCALE-Sim config")
    # As SCALE-Sim's own parser: option names are case-insensitive (lower-cased on reading).
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as err:
        message = str(err).splitlines()[0]
        raise InputError(f"{path}: not a valid SCALE-Sim config ({message})") from None
    if not parser.has_section(_ARCH):
        raise InputError(f"{path}: a SCALE-Sim config must have an [{_ARCH}] section")
    return parser


def _get(parser: configparser.ConfigParser, key: str, where: str) -> str:
    if not parser.has_option(_ARCH, key):
        raise InputError(f"{where} {key} is required")
    return parser.get(_ARCH, key).strip()


def load_topology(path: str | Path) -> Network:
    """Read a SCALE-Sim topology CSV (conv or GEMM format) as a network of independent layers."""
    text = read_user_file(path, "topology")
    try:
        rows = [[cell.strip() for cell in row if cell.strip()]
                for row in csv.reader(text.splitlines())]  # fmt: skip
    except csv.Error as err:
        raise InputError(f"{path}: not a valid topology CSV ({err})") from None
    rows = [row for row in rows if row]
    if len(rows) < 2:
        raise InputError(f"{path}: a topology needs a header line and at least one layer")
    gemm = [cell.upper() for cell in rows[0][1:4]] == ["M", "N", "K"]
    inputs: dict[str, Shape] = {}
    entries = []
    for line, row in enumerate(rows[1:], start=2):
        where = f"{path}:{line}"
        name, shape, conv = _gemm_row(row, where) if gemm else _conv_row(row, where)
        for layer_name, layer_shape in _expand_depthwise(name, shape, gemm):
            inputs[f"{layer_name}.ifmap"] = layer_shape
            entries.append(LayerEntry(layer_name, conv, (f"{layer_name}.ifmap",)))
    try:
        return Network.build(Path(path).stem, inputs, entries)
    except InputError as err:
        raise InputError(f"{path}: {err}") from None


def _expand_depthwise(name: str, shape: Shape, gemm: bool) -> list[tuple[str, Shape]]:
    """SCALE-Sim's rule: a conv layer named with `DP` runs once per input channel."""
    if gemm or "DP" not in name:
        return [(name, shape)]
    single = Shape(1, shape.height, shape.width)
    return [(f"{name}Channel_{i}", single) for i in range(shape.channels)]


def _integers(row: list[str], count: int, columns: tuple[str, ...], where: str) -> list[int]:
    if len(row) < count + 1:
        raise InputError(f"{where}: a row must have {count + 1} fields ({', '.join(columns)})")
    values = []
    for column, text in zip(columns[1:], row[1 : count + 1], strict=True):
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"{where}: {column} must be an integer, not {text!r}") from None
        if value <= 0:
            raise InputError(f"{where}: {column} must be > 0, not {value}")
        values.append(value)
    return values


def _conv_row(row: list[str], where: str) -> tuple[str, Shape, Conv]:
    height, width, filter_h, filter_w, channels, filters, stride = _integers(
        row, 7, CONV_COLUMNS, where
    )
    conv = Conv(
        out_channels=filters,
        kernel=(filter_h, filter_w),
        stride=stride,
        ceil_mode="scalesim",
        bias=False,
    )
    return row[0], Shape(channels, height, width), conv


def _gemm_row(row: list[str], where: str) -> tuple[str, Shape, Conv]:
    m, n, k = _integers(row, 3, GEMM_COLUMNS, where)
    conv = Conv(out_channels=n, kernel=(1, k), ceil_mode="scalesim", bias=False)
    return row[0], Shape(1, m, k), conv

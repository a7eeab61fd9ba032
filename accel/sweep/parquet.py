"""The sweep's results table as a Parquet file, written without pyarrow.

One row group, one uncompressed data page (format v1) per column, every column OPTIONAL with
PLAIN values and its nulls as definition levels; the file metadata is Thrift's compact protocol.
Each column has one kind (`typed`): booleans, 64-bit integers, doubles (NaN and the
infinities as they are), UTF-8 text, or nulls only. Readers (pyarrow, pandas, DuckDB, Spark) read
them as bool, int64, double, string and null. Importing pyarrow costs a sweep ~0.3 CPU s, and a
value it cannot convert (an integer past 64 bits, `true` beside `1`) used to stop the sweep after
its last point; here such a column is text, as in the CSV.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Kind = Literal["null", "bool", "int", "float", "text"]

# Parquet's enums (parquet.thrift): physical types, and what the schema and pages say.
_PHYSICAL = {"null": 1, "bool": 0, "int": 2, "float": 5, "text": 6}  # INT32 … BYTE_ARRAY
_OPTIONAL, _PLAIN, _RLE, _UTF8, _DATA_PAGE = 1, 0, 3, 0, 0
_LOGICAL = {"text": 1, "null": 11}  # LogicalType's STRING and UNKNOWN (an empty struct each)
# Thrift compact protocol's field types.
_I32, _I64, _BINARY, _LIST, _STRUCT = 5, 6, 8, 9, 12
_INT64 = range(-(2**63), 2**63)

Field = tuple[int, int, Any]  # (field id, compact type, value); a list value: (element type, items)


def typed(values: Sequence[Any]) -> tuple[Kind, list[Any]]:
    """The one kind a column is written as, and its values as that kind (None stays None):
    ints beside floats are floats; anything else that mixes kinds, or a number past what
    int64 or a double holds, is text, as the CSV writes it."""
    kinds = {type(value) for value in values if value is not None}
    if not kinds:
        return "null", list(values)
    if kinds == {bool}:
        return "bool", list(values)
    if kinds == {int} and all(value in _INT64 for value in values if value is not None):
        return "int", list(values)
    if kinds <= {int, float} and float in kinds:
        try:
            return "float", [None if value is None else float(value) for value in values]
        except OverflowError:  # an int past 1e308
            pass
    return "text", [None if value is None else str(value) for value in values]


def parquet_bytes(
    columns: Sequence[str], values: Sequence[Sequence[Any]], metadata: Mapping[str, str],
    created_by: str,
) -> bytes:  # fmt: skip
    """A whole Parquet file: `values[i]` is column `columns[i]`, each written as one kind."""
    rows = len(values[0]) if values else 0
    out = bytearray(b"PAR1")
    chunks: list[list[Field]] = []
    schema: list[list[Field]] = [[(4, _BINARY, b"schema"), (5, _I32, len(columns))]]
    for name, raw in zip(columns, values, strict=True):
        kind, column = typed(raw)
        offset = len(out)
        out += _page(column, kind)
        chunks.append(_chunk(name, kind, rows, offset, len(out) - offset))
        schema.append(_schema_element(name, kind))
    footer = _struct([
        (1, _I32, 1),
        (2, _LIST, (_STRUCT, schema)),
        (3, _I64, rows),
        (4, _LIST, (_STRUCT, [[(1, _LIST, (_STRUCT, chunks)),
                               (2, _I64, len(out) - 4), (3, _I64, rows)]])),
        (5, _LIST, (_STRUCT, [[(1, _BINARY, k.encode()), (2, _BINARY, v.encode())]
                              for k, v in metadata.items()])),
        (6, _BINARY, created_by.encode()),
    ])  # fmt: skip
    return bytes(out + footer + struct.pack("<I", len(footer)) + b"PAR1")


def _schema_element(name: str, kind: Kind) -> list[Field]:
    element: list[Field] = [(1, _I32, _PHYSICAL[kind]), (3, _I32, _OPTIONAL),
                            (4, _BINARY, name.encode())]  # fmt: skip
    if kind == "text":
        element.append((6, _I32, _UTF8))
    if kind in _LOGICAL:
        element.append((10, _STRUCT, [(_LOGICAL[kind], _STRUCT, [])]))
    return element


def _chunk(name: str, kind: Kind, rows: int, offset: int, size: int) -> list[Field]:
    """A column chunk: its metadata, pointing at its one page at `offset`."""
    meta: list[Field] = [
        (1, _I32, _PHYSICAL[kind]), (2, _LIST, (_I32, [_PLAIN, _RLE])),
        (3, _LIST, (_BINARY, [name.encode()])), (4, _I32, 0), (5, _I64, rows),
        (6, _I64, size), (7, _I64, size), (9, _I64, offset),
    ]  # fmt: skip
    return [(2, _I64, offset), (3, _STRUCT, meta)]


def _page(column: Sequence[Any], kind: Kind) -> bytes:
    """One data page: its header, the definition levels (1: a value, 0: null), the values."""
    present = [value for value in column if value is not None]
    levels = _bits([value is not None for value in column])
    run = _varint((len(levels) << 1) | 1) + levels if column else b""  # one bit-packed run
    body = struct.pack("<I", len(run)) + run + _plain(present, kind)
    header = _struct([
        (1, _I32, _DATA_PAGE), (2, _I32, len(body)), (3, _I32, len(body)),
        (5, _STRUCT, [(1, _I32, len(column)), (2, _I32, _PLAIN), (3, _I32, _RLE),
                      (4, _I32, _RLE)]),
    ])  # fmt: skip
    return header + body


def _plain(values: Sequence[Any], kind: Kind) -> bytes:
    if kind == "bool":
        return _bits(values)
    if kind == "int":
        return struct.pack(f"<{len(values)}q", *values)
    if kind == "float":
        return struct.pack(f"<{len(values)}d", *values)
    if kind == "text":
        encoded = [value.encode() for value in values]
        return b"".join(struct.pack("<I", len(each)) + each for each in encoded)
    return b""


def _bits(flags: Sequence[bool]) -> bytes:
    """Flags packed eight to a byte, the first in the lowest bit, the last byte padded: the
    flags as the binary digits of one integer, the first the lowest (a loop over each flag in
    Python took ~1 ms of a 128-row table's ~6)."""
    digits = "".join(["1" if flag else "0" for flag in reversed(flags)]) or "0"
    return int(digits, 2).to_bytes((len(flags) + 7) // 8, "little")


def _struct(fields: Sequence[Field]) -> bytes:
    """A Thrift struct in the compact protocol (fields in increasing id order)."""
    out, last = bytearray(), 0
    for field_id, kind, value in fields:
        if 0 < field_id - last <= 15:
            out.append((field_id - last) << 4 | kind)
        else:
            out.append(kind)
            out += _varint(_zigzag(field_id))
        last = field_id
        out += _value(kind, value)
    out.append(0)  # stop
    return bytes(out)


def _value(kind: int, value: Any) -> bytes:
    if kind in (_I32, _I64):
        return _varint(_zigzag(value))
    if kind == _BINARY:
        return _varint(len(value)) + bytes(value)
    if kind == _STRUCT:
        return _struct(value)
    element, items = value  # a list
    head = bytes([len(items) << 4 | element]) if len(items) < 15 else (
        bytes([0xF0 | element]) + _varint(len(items))
    )  # fmt: skip
    return head + b"".join(_value(element, item) for item in items)


def _zigzag(number: int) -> int:
    return (number << 1) ^ (number >> 63)


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)

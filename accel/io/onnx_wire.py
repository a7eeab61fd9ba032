"""Protocol Buffers' binary wire format, decoded without the protobuf runtime.

An ONNX file is one serialized `ModelProto`: a sequence of fields, each a key (field number and
wire type, as a varint) followed by its value: a varint (0), 8 fixed bytes (1), a length-prefixed
byte run (2: strings, bytes, nested messages, packed repeated numbers), or 4 fixed bytes (5).
Groups (3/4, obsolete; ONNX has none) are skipped whole.
`decode` fills a `Message` class from its table of (field number → name, kind, repeated), with
protobuf's rules: fields it does not know are skipped, a singular field seen twice keeps the last
value (a nested message merges), a repeated number may be packed or not, a closed enum's unknown
value is dropped, a `oneof` keeps its last member. Bytes are never copied: `bytes` fields are
memoryviews of the file. Every length is checked against what remains, and nesting is capped as
protobuf caps it, so a damaged or hostile file fails in time linear in its size.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

# protobuf's default recursion limit for nested messages.
MAX_DEPTH = 100
_MASK64 = (1 << 64) - 1


class WireError(ValueError):
    """The bytes are not a well-formed serialized message."""


class Field:
    """How one field number decodes: its attribute name, its kind (a scalar kind name or a
    message class) and whether it repeats. `enum` lists a closed enum's values; `array` makes a
    repeated number a numpy array (a tensor's data) instead of a tuple; `default` is the value
    when the field is absent (by kind: 0, 0.0, "", empty bytes, None for a message, () when
    repeated)."""

    __slots__ = ("array", "default", "enum", "kind", "name", "repeated")

    def __init__(self, name: str, kind: Any, repeated: bool = False, *,
                 enum: frozenset[int] = frozenset(), array: bool = False,
                 default: Any = ...) -> None:  # fmt: skip
        self.name, self.kind, self.repeated, self.enum, self.array = (name, kind, repeated,
                                                                      enum, array)
        if default is ...:
            default = () if repeated else _DEFAULTS.get(kind) if isinstance(kind, str) else None
        self.default = default


_DEFAULTS: dict[str, Any] = {"int64": 0, "int32": 0, "uint64": 0, "float": 0.0, "double": 0.0,
                             "string": "", "bytes": memoryview(b"")}  # fmt: skip


class Message:
    """A decoded message: one attribute per field of `FIELDS` (by field number), and `message`,
    its own bytes. `ONEOFS` lists groups of fields of which only the last one set is kept.
    Immutable: `replace` gives a changed copy."""

    __slots__ = ("message",)
    message: memoryview
    FIELDS: ClassVar[Mapping[int, Field]] = {}
    ONEOFS: ClassVar[tuple[frozenset[str], ...]] = ()

    def __init__(self, message: memoryview | bytes = b"", **values: Any) -> None:
        set_ = object.__setattr__
        set_(self, "message", memoryview(message))
        for field in self.FIELDS.values():
            set_(self, field.name, values.pop(field.name, field.default))
        if values:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(values))!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace()")

    def replace(self, **changes: Any) -> Any:
        values = {f.name: getattr(self, f.name) for f in self.FIELDS.values()}
        return type(self)(self.message, **{**values, **changes})

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.FIELDS.values()
                          if getattr(self, f.name) is not f.default)  # fmt: skip
        return f"{type(self).__name__}({shown})"


def varint(data: bytes | memoryview, pos: int, end: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it."""
    result = shift = 0
    while True:
        if pos >= end:
            raise WireError("a number runs past the end of its message")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise WireError("a number is longer than 10 bytes")


def _int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


# Scalar kinds: the wire type of one value, its conversion, and the dtype of a packed run.
_VARINT_KINDS: dict[str, tuple[Callable[[int], int], str]] = {
    "int64": (_int64, "<i8"), "int32": (_int32, "<i4"), "uint64": (lambda v: v, "<u8"),
}
_FIXED_KINDS = {"float": (5, "<f4"), "double": (1, "<f8")}
_STRUCT = {"float": "<f", "double": "<d"}


# Packed varints are decoded a window at a time, so the temporaries stay small beside the
# result (8 bytes per number) however long the field.
_WINDOW = 1 << 20


def packed_varints(data: memoryview, kind: str) -> np.ndarray:
    """A packed run of varints, decoded with numpy."""
    raw = np.frombuffer(data, np.uint8)
    pieces = [np.zeros(0, np.uint64)]
    start = 0
    while start < raw.size:
        window = raw[start:start + _WINDOW]
        ends = np.flatnonzero(window < 0x80)
        if ends.size == 0:
            message = ("runs past the end of its field" if start + window.size == raw.size
                       else "is longer than 10 bytes")  # fmt: skip
            raise WireError(f"a packed number {message}")
        window = window[:ends[-1] + 1]
        pieces.append(_varint_window(window, ends))
        start += window.size
    values = np.concatenate(pieces)
    if kind == "int32":
        return (values & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)
    return values.view(np.int64) if kind == "int64" else values


def _varint_window(window: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The varints of `window`, whose last byte ends one (`ends`: where each one ends)."""
    starts = np.concatenate(([0], ends[:-1] + 1))
    if int((ends - starts).max()) >= 10:
        raise WireError("a number is longer than 10 bytes")
    position = np.arange(window.size) - np.repeat(starts, ends - starts + 1)
    parts = (window & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    values: np.ndarray = np.bitwise_or.reduceat(parts, starts)
    return values


def decode(cls: type[Any], data: bytes | memoryview, depth: int = 0) -> Any:
    """`data` as an instance of message class `cls` (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise WireError(f"messages nest deeper than {MAX_DEPTH} levels")
    view = data if isinstance(data, memoryview) else memoryview(data)
    fields: Mapping[int, Field] = cls.FIELDS
    values: dict[str, Any] = {}
    lists: dict[str, list[Any]] = {}
    chunks: dict[str, list[memoryview]] = {}  # a singular message's occurrences merge
    pos, end = 0, len(view)
    while pos < end:
        key, pos = varint(view, pos, end)
        number, wire = key >> 3, key & 7
        value: Any
        if number == 0 or key > 0xFFFFFFFF:
            raise WireError(f"field number {number} is not valid in {cls.__name__}")
        if wire == 0:
            value, pos = varint(view, pos, end)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if size > end - pos:
                raise WireError(f"field {number} of {cls.__name__} runs past the end")
            value, pos = view[pos:pos + size], pos + size
        elif wire == 2:
            length, pos = varint(view, pos, end)
            if length > end - pos:
                raise WireError(f"field {number} of {cls.__name__} claims {length:,} bytes, but "
                                f"only {end - pos:,} remain")  # fmt: skip
            value, pos = view[pos:pos + length], pos + length
        elif wire == 3:
            pos = _skip_group(view, pos, end, number, depth + 1)
            continue
        else:
            raise WireError(f"wire type {wire} (field {number} of {cls.__name__}) is not valid")
        field = fields.get(number)
        if field is not None:
            _store(field, wire, value, values, lists, chunks, cls.ONEOFS)
    for name, parts in chunks.items():
        whole = parts[0] if len(parts) == 1 else memoryview(b"".join(parts))
        values[name] = decode(_kind_of(fields, name), whole, depth + 1)
    for name, items in lists.items():
        values[name] = _finish_list(_field_named(fields, name), items, depth)
    return cls(message=view, **values)


def _store(field: Field, wire: int, value: Any, values: dict[str, Any],
           lists: dict[str, list[Any]], chunks: dict[str, list[memoryview]],
           oneofs: tuple[frozenset[str], ...]) -> None:  # fmt: skip
    """Record one occurrence of a known field; a wire type that does not fit its kind makes
    it an unknown field, as protobuf treats it."""
    kind = field.kind
    if isinstance(kind, type):
        if wire != 2:
            return
        if field.repeated:
            lists.setdefault(field.name, []).append(value)
            return
        _clear_oneof(field.name, oneofs, values, chunks)
        chunks.setdefault(field.name, []).append(value)
        return
    scalar = _scalar(kind, wire, value)
    if scalar is None:
        if field.repeated and wire == 2 and kind in (*_VARINT_KINDS, *_FIXED_KINDS):
            lists.setdefault(field.name, []).append(_packed(kind, value))
        return
    if field.enum and scalar not in field.enum:
        return  # a closed enum's unknown value goes to protobuf's unknown fields
    if field.repeated:
        lists.setdefault(field.name, []).append(scalar)
        return
    _clear_oneof(field.name, oneofs, values, chunks)
    values[field.name] = scalar


def _clear_oneof(name: str, oneofs: tuple[frozenset[str], ...], values: dict[str, Any],
                 chunks: dict[str, list[memoryview]]) -> None:  # fmt: skip
    """Setting one member of a `oneof` clears the others."""
    for group in oneofs:
        if name in group:
            for other in group - {name}:
                values.pop(other, None)
                chunks.pop(other, None)


def _scalar(kind: str, wire: int, value: Any) -> Any:
    """One value of a scalar kind, or None when the wire type does not carry it directly."""
    if kind in _VARINT_KINDS:
        return _VARINT_KINDS[kind][0](value) if wire == 0 else None
    if kind in _FIXED_KINDS:
        wanted = _FIXED_KINDS[kind][0]
        return float(struct.unpack(_STRUCT[kind], value)[0]) if wire == wanted else None
    if wire != 2:
        return None
    if kind == "bytes":
        return value
    # protobuf does not check a proto2 string's UTF-8 (onnx then gives bytes): keep it readable
    return str(value, "utf-8", "backslashreplace")


def _packed(kind: str, value: memoryview) -> np.ndarray:
    if kind in _VARINT_KINDS:
        return packed_varints(value, kind)
    dtype = np.dtype(_FIXED_KINDS[kind][1])
    if len(value) % dtype.itemsize:
        raise WireError(f"a packed {kind} run of {len(value)} bytes is not whole numbers")
    return np.frombuffer(value, dtype)


def _finish_list(field: Field, items: list[Any], depth: int) -> Any:
    """A repeated field's final value: a tuple, or a numpy array for a field marked `array`."""
    kind = field.kind
    if isinstance(kind, type):
        return tuple(decode(kind, item, depth + 1) for item in items)
    if field.array:
        dtype = np.dtype(_VARINT_KINDS[kind][1] if kind in _VARINT_KINDS else
                         _FIXED_KINDS[kind][1])  # fmt: skip
        runs: list[np.ndarray] = [np.zeros(0, dtype)]
        scalars: list[Any] = []
        for item in items:
            if isinstance(item, np.ndarray):
                runs += [np.array(scalars, dtype), item]
                scalars = []
            else:
                scalars.append(item)
        return np.concatenate([*runs, np.array(scalars, dtype)])
    if kind in _VARINT_KINDS or kind in _FIXED_KINDS:
        flat: list[Any] = []
        for item in items:
            if isinstance(item, np.ndarray):
                flat.extend(item.tolist())
            else:
                flat.append(item)
        return tuple(flat)
    return tuple(items)


def _field_named(fields: Mapping[int, Field], name: str) -> Field:
    return next(field for field in fields.values() if field.name == name)


def _kind_of(fields: Mapping[int, Field], name: str) -> type[Any]:
    kind = _field_named(fields, name).kind
    assert isinstance(kind, type)
    return kind


def _skip_group(view: memoryview, pos: int, end: int, number: int, depth: int) -> int:
    """The position after the group that started at `pos` (field `number`)."""
    if depth > MAX_DEPTH:
        raise WireError(f"messages nest deeper than {MAX_DEPTH} levels")
    while True:
        key, pos = varint(view, pos, end)
        inner, wire = key >> 3, key & 7
        if wire == 4:
            if inner != number:
                raise WireError(f"group {number} ends with the end of group {inner}")
            return pos
        if wire == 0:
            _, pos = varint(view, pos, end)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = varint(view, pos, end)
            pos += length
        elif wire == 3:
            pos = _skip_group(view, pos, end, inner, depth + 1)
        else:
            raise WireError(f"wire type {wire} is not valid")
        if pos > end:
            raise WireError(f"group {number} runs past the end")

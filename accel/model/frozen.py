"""A base for hand-written frozen value classes, in place of `@dataclass(frozen=True)`.

Python 3.11 builds each dataclass method from source with `exec` when its module is imported:
a run's start-up paid ~2.5 M instructions plus ~0.3 M per field for every frozen dataclass.
The records that need more than a NamedTuple gives (a cached value or a mutable dict per
instance, fields left out of equality, a method a tuple already has) write their own
`__init__` and inherit the rest here: assignment refused, and equality, hash and repr over
`_compared` (the fields a dataclass compares, in order), as the dataclass had them; pickled
and copied as it was.

A record with an instance dict (no `__slots__` of its own) keeps its hash there once worked
out: a geometry's hash reads its two axes' six fields each, and geometries key most of the
memory model's memos. The kept hash is left out of pickles and copies (a string's hash differs
from one process to the next).

It sits in the model layer, the lowest whose records use it (a shape, a layer, a network), so
the mapping and the memory model above it use it too.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from operator import attrgetter
from typing import Any, ClassVar

_HASH = "_kept_hash_value"  # where a record with an instance dict keeps its hash


class Frozen:
    """Refuses assignment after `__init__` (which sets fields with `object.__setattr__`);
    equal, hashed and shown by `_compared`, as a frozen dataclass is by its compared fields."""

    __slots__ = ()
    _compared: ClassVar[tuple[str, ...]] = ()
    _key: ClassVar[attrgetter[tuple[Any, ...]]]  # `_compared`'s values, in one C call

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if len(cls._compared) < 2:  # `attrgetter` of one name gives its value, not a tuple
            raise TypeError(f"{cls.__name__} compares {cls._compared!r}: two fields at least")
        cls._key = attrgetter(*cls._compared)
        if cls.__dictoffset__ and "__hash__" not in cls.__dict__:  # an instance dict: keep it
            cls.__hash__ = Frozen._kept_hash  # type: ignore[method-assign]

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> Any:
        """The default state (the `__dict__`, or it and the slots' values as a pair) without
        the kept hash (`_kept_hash`)."""
        state = super().__getstate__()
        if isinstance(state, dict) and _HASH in state:
            return {name: value for name, value in state.items() if name != _HASH}
        return state

    def __setstate__(self, state: Any) -> None:
        """Unpickled or copied: the default state (the `__dict__`, or it and the slots' values
        as a pair) set past `__setattr__`, as a dataclass's `__dict__` is."""
        for part in state if isinstance(state, tuple) else (state,):
            for name, value in (part or {}).items():
                object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._key(self) == other._key(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key(self))

    def _kept_hash(self) -> int:
        """`__hash__` of a record with an instance dict: worked out once, then kept there.
        Read as an attribute, not from `__dict__`: reading `__dict__` turns the instance's
        inline attribute values into a dict of their own, which every later attribute read
        of the record then goes through."""
        try:
            found: int = self._kept_hash_value  # type: ignore[attr-defined]
        except AttributeError:
            found = hash(self._key(self))
            object.__setattr__(self, _HASH, found)
        return found

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._compared)
        return f"{type(self).__qualname__}({shown})"

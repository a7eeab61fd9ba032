"""ArrayMapping's kept hash: the dataclass's, worked out with the fields, and never pickled;
and the frozen dataclass's contract (tests/test_value_types.py holds it too)."""

from __future__ import annotations

import pickle

from accel.mapping.array import ArrayMapping


def test_the_kept_hash_is_the_fields_hash_and_stays_out_of_pickles() -> None:
    mapping = ArrayMapping("ws", 196, 27, 64, 1, 16, 32)
    assert hash(mapping) == hash(("ws", 196, 27, 64, 1, 16, 32))
    assert vars(mapping)["_kept_hash_value"] == hash(mapping)  # kept when built
    pickled = pickle.dumps(mapping)
    assert b"_kept_hash" not in pickled  # a string's hash differs between processes
    copied = pickle.loads(pickled)
    assert "_kept_hash_value" not in vars(copied)
    assert hash(copied) == hash(mapping)  # worked out again on first use
    assert copied == mapping and hash(copied) == hash(mapping)
    assert mapping != ArrayMapping("ws", 196, 27, 64, 1, 16, 64)
    assert repr(copied) == (
        "ArrayMapping(dataflow='ws', m=196, k=27, n=64, groups=1, array_rows=16, array_cols=32)"
    )

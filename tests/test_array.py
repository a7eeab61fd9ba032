"""ArrayMapping's kept hash: the dataclass's, worked out once, and never pickled."""

from __future__ import annotations

import pickle

from accel.mapping.array import ArrayMapping


def test_the_kept_hash_is_the_fields_hash_and_stays_out_of_pickles() -> None:
    mapping = ArrayMapping("ws", 196, 27, 64, 1, 16, 32)
    assert hash(mapping) == hash(("ws", 196, 27, 64, 1, 16, 32))
    assert hash(mapping) == hash(mapping)  # read back from the instance dict
    assert "_kept_hash" in mapping.__dict__
    copied = pickle.loads(pickle.dumps(mapping))
    assert "_kept_hash" not in copied.__dict__
    assert copied == mapping and hash(copied) == hash(mapping)
    assert mapping != ArrayMapping("ws", 196, 27, 64, 1, 16, 64)
    assert repr(copied) == (
        "ArrayMapping(dataflow='ws', m=196, k=27, n=64, groups=1, array_rows=16, array_cols=32)"
    )

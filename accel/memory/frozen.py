"""The base of hand-written frozen value classes, `accel.model.frozen.Frozen`, under the name
the memory model's records import it by (it moved down to the model layer, whose IR types use
it too)."""

from accel.model.frozen import Frozen

__all__ = ["Frozen"]

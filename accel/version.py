"""The distribution's name on PyPI and its installed version (the import name and the command
stay `accel`; the name `accel` on PyPI belongs to an unrelated project)."""

from __future__ import annotations

import importlib.metadata

DISTRIBUTION = "accel-simulator"


def version() -> str:
    """The installed version, or '(not installed)' when run from a source tree."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"

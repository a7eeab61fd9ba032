"""The design points of a sweep: swept chip values from a grid, zipped lists and random samples.

Expansion is pure and deterministic: the same spec always gives the same values in the same
order (last grid axis fastest, then zip rows, then random samples, which are drawn once from
`random.seed` and crossed with the rest). Constraints are evaluated with accel's safe expression
evaluator over the chip's dotted fields, so a sweep file cannot run code.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Mapping
from typing import Any

from accel.errors import InputError, closest
from accel.io.expressions import evaluate_condition
from accel.sweep.spec import Range, Scalar, SweepSpec

Values = tuple[tuple[str, Scalar], ...]  # (dotted chip field, value) in axis order


def expand_values(spec: SweepSpec) -> list[Values]:
    """Every combination of swept values, before constraints (one empty tuple if none)."""
    grid = [[(path, value) for value in values] for path, values in spec.grid.items()]
    grid_points = [tuple(combo) for combo in itertools.product(*grid)]
    zip_rows = _zip_rows(spec.zip)
    samples = _random_samples(spec)
    return [
        (*grid_point, *zip_row, *sample)
        for grid_point in grid_points
        for zip_row in zip_rows
        for sample in samples
    ]


def _zip_rows(axes: Mapping[str, list[Scalar]]) -> list[Values]:
    if not axes:
        return [()]
    columns = [[(path, value) for value in values] for path, values in axes.items()]
    return [tuple(row) for row in zip(*columns, strict=True)]


def _random_samples(spec: SweepSpec) -> list[Values]:
    section = spec.random
    if section is None:
        return [()]
    rng = random.Random(section.seed)
    return [
        tuple((path, _draw(rng, axis)) for path, axis in section.axes.items())
        for _ in range(section.samples)
    ]


def _draw(rng: random.Random, axis: list[Scalar] | Range) -> Scalar:
    if isinstance(axis, list):
        return rng.choice(axis)
    if axis.log:
        value = math.exp(rng.uniform(math.log(axis.min), math.log(axis.max)))
    else:
        value = rng.uniform(axis.min, axis.max)
    if axis.integer:
        return min(max(round(value), math.ceil(axis.min)), math.floor(axis.max))
    return float(f"{value:.4g}")  # four significant digits keep the table readable


def flatten_fields(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """`{"array": {"rows": 32}}` → `("array.rows", 32)`, for every leaf of a chip dump."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten_fields(value, f"{path}.")
        else:
            yield path, value


def check_axis_paths(spec: SweepSpec, chip_fields: Mapping[str, Any], source: str) -> None:
    """Every swept path must name a chip field (a leaf, or a buffer that may be set to null)."""
    known = set(chip_fields) | {path.rsplit(".", 1)[0] for path in chip_fields if "." in path}
    for path in spec.axis_paths:
        if path not in known:
            raise InputError(f"{source}: axis {path!r} is not a chip field{closest(path, known)}")


def satisfies(
    constraints: list[str], chip_fields: Mapping[str, Any], values: Values, batch: int, source: str
) -> bool:
    """True when the point (base chip fields overridden by `values`) meets every constraint."""
    if not constraints:
        return True
    names = {**chip_fields, **dict(values), "batch": batch}
    return all(
        evaluate_condition(text, names, f"{source}: constraint", "a chip field")
        for text in constraints
    )

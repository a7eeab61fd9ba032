"""A design-space sweep as written: a base chip, networks, and axes over chip fields.

```yaml
name: array_shapes
chip: default                      # built-in name, file (relative to this file) or inline mapping
networks: [mobilenet_v2, {name: mobilenet_v1, params: {alpha: [0.5, 1.0]}}]
batch: 1                           # or a list: every batch size is crossed with every point
grid: {array.rows: [16, 32, 64], array.dataflow: [os, ws]}     # every combination
zip: {sram.ifmap.size_kib: [32, 64], sram.weight.size_kib: [32, 64]}  # advanced together
random: {samples: 50, seed: 1, axes: {dram.bandwidth_bytes_per_cycle: {min: 4, max: 64}}}
constraints: ["array.rows * array.cols <= 16384"]
metrics: [latency_ms, energy_uj, utilization]
```
The points are the product of the grid, the zipped rows and the random samples (each section
optional), for every network variant and batch size, minus the points a constraint rejects.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from accel.user_input import format_validation_error, load_yaml_mapping, validate_model
from accel.user_input.record import Field, Record, field_validator, model_validator
from accel.user_input.trusted import construct

Scalar = int | float | str | bool | None
Number = int | float
_FILE_SUFFIXES = (".yaml", ".yml", ".csv", ".onnx", ".tflite")


class NetworkEntry(Record):
    """One network of the sweep: a built-in name or a workload file, with parameters."""

    name: str | None = Field(None, description="built-in network name (see `accel networks`)")
    file: str | None = Field(
        None, description="workload YAML or topology CSV, relative to the sweep file"
    )
    params: dict[str, Number | list[Number]] = Field(
        default_factory=dict,
        description="network parameters; a list sweeps the parameter (crossed with the others)",
    )

    @field_validator("params", mode="before")
    @classmethod
    def _numbers(cls, params: Any) -> Any:
        for key, value in params.items() if isinstance(params, dict) else ():
            values = value if isinstance(value, list) else [value]
            if not values or not all(_is_number(v) for v in values):
                raise ValueError(
                    f"{key} must be a number or a non-empty list of numbers, not {value!r}"
                )
        return params

    @model_validator(mode="after")
    def _name_or_file(self) -> NetworkEntry:
        if (self.name is None) == (self.file is None):
            raise ValueError("a network needs exactly one of name or file")
        return self


# Points a sweep may have, checked before any is built: at 20-200 points per second a million
# is hours of work, and the plan of a larger one would not fit in memory.
MAX_POINTS = 1_000_000


class Range(Record):
    """A continuous interval a random sample is drawn from (uniformly, or log-uniformly)."""

    min: float = Field(allow_inf_nan=False, description="smallest value")
    max: float = Field(allow_inf_nan=False, description="largest value")
    log: bool = Field(False, description="draw uniformly in log space (for sizes spanning decades)")
    integer: bool = Field(False, description="round the sample to an integer")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.max < self.min:
            raise ValueError(f"max must be >= min ({self.min!r}), not {self.max!r}")
        if self.log and self.min <= 0:
            raise ValueError(f"min must be > 0 for a log range, not {self.min!r}")
        return self


class RandomSection(Record):
    """`samples` random points over `axes`, reproducible from `seed`."""

    samples: int = Field(gt=0, le=MAX_POINTS, description="number of random points")
    seed: int = Field(0, description="seed of the random generator (same seed, same points)")
    axes: dict[str, list[Scalar] | Range] = Field(
        description="dotted chip field → a list to choose from, or a {min, max} range"
    )

    @field_validator("axes", mode="before")
    @classmethod
    def _lists_or_ranges(cls, axes: Any) -> Any:
        if not isinstance(axes, dict) or not axes:
            raise ValueError(f"axes must map at least one chip field to values, not {axes!r}")
        _scalar_lists({path: v for path, v in axes.items() if not isinstance(v, dict)})
        ranges = {path: _range(path, value) for path, value in axes.items()
                  if isinstance(value, dict)}  # fmt: skip
        return {**axes, **ranges}

    @model_validator(mode="after")
    def _non_empty(self) -> RandomSection:
        _check_lists(self.axes, "random.axes")
        return self


class SweepSpec(Record):
    """The whole sweep file."""

    name: str = Field(description="short name, used for the output folder")
    description: str = Field("", description="free text")
    chip: str | dict[str, Any] | None = Field(
        None, description="base chip: built-in name, file, or inline mapping (default chip)"
    )
    networks: list[NetworkEntry] = Field(
        min_length=1, description="built-in names or files (`name?alpha=0.5` allowed) or entries"
    )
    batch: int | list[int] = Field(1, description="images per inference (a list is swept)")
    grid: dict[str, list[Scalar]] = Field(
        default_factory=dict, description="dotted chip field → values; every combination"
    )
    zip: dict[str, list[Scalar]] = Field(
        default_factory=dict, description="dotted chip field → values; lists advance together"
    )
    random: RandomSection | None = Field(None, description="random samples over more fields")
    constraints: list[str] = Field(
        default_factory=list, description="conditions over chip fields every point must meet"
    )
    metrics: list[str] | None = Field(
        None, description="summary metrics kept in the results table (default: all)"
    )

    @field_validator("grid", "zip", mode="before")
    @classmethod
    def _scalars(cls, axes: Any) -> Any:
        return _scalar_lists(axes)

    @field_validator("batch", mode="before")
    @classmethod
    def _batch_integers(cls, batch: Any) -> Any:
        values = batch if isinstance(batch, list) else [batch]
        for value in values or [batch]:
            if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
                raise ValueError(f"a batch size must be a positive integer, not {value!r}")
        return batch

    @field_validator("networks", mode="before")
    @classmethod
    def _entries_from_strings(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [_entry(item) if isinstance(item, str) else item for item in value]

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        _check_lists(self.grid, "grid")
        _check_lists(self.zip, "zip")
        lengths = {len(values) for values in self.zip.values()}
        if len(lengths) > 1:
            sizes = {path: len(values) for path, values in self.zip.items()}
            raise ValueError(f"zip lists must all have the same length, not {sizes!r}")
        seen: set[str] = set()
        for path in self.axis_paths:
            if path in seen:
                raise ValueError(f"axis {path!r} must appear in one section only")
            seen.add(path)
        count = self.point_count
        if count > MAX_POINTS:
            raise ValueError(f"a sweep must have at most {MAX_POINTS:,} points before "
                             f"constraints, not {count:,}")  # fmt: skip
        return self

    @property
    def point_count(self) -> int:
        """Points before constraints and duplicates: grid × zip rows × samples × networks ×
        batches (network parameters lists multiply it further when the plan expands them)."""
        count = math.prod(len(values) for values in self.grid.values())
        count *= len(next(iter(self.zip.values()))) if self.zip else 1
        count *= self.random.samples if self.random else 1
        return count * len(self.networks) * len(self.batches)

    @property
    def batches(self) -> list[int]:
        return self.batch if isinstance(self.batch, list) else [self.batch]

    @property
    def axis_paths(self) -> list[str]:
        """Swept chip fields in table order: grid, zip, then random."""
        random_axes = list(self.random.axes) if self.random else []
        return [*self.grid, *self.zip, *random_axes]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "sweep") -> SweepSpec:
        """The spec of `data`: taken as it is when nothing needs converting or rejecting
        (`accel.user_input.trusted`), else validated by pydantic, which words every error."""
        return validate_model(cls, data, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SweepSpec:
        """Load a sweep YAML; raise `InputError` with a one-line message on any problem."""
        return cls.from_dict(load_yaml_mapping(path, "sweep"), str(path))


def _range(path: str, value: dict[str, Any]) -> Range:
    """`value` as a Range; one that needs converting or is wrong goes to pydantic."""
    plain: Range | None = construct(Range, value)
    if plain is not None:
        return plain
    from pydantic import ValidationError  # only input pydantic must validate gets here

    try:
        return Range.model_validate(value)
    except ValidationError as err:
        raise ValueError(format_validation_error(err, path, Range)) from None


def _check_lists(axes: dict[str, Any], section: str) -> None:
    for path, values in axes.items():
        if isinstance(values, list) and not values:
            raise ValueError(f"{section}.{path} must be a non-empty list of values, not []")


def _scalar_lists(axes: Any) -> Any:
    """Axis values are numbers, text, true/false or null (a table cell each), in a list."""
    if not isinstance(axes, dict):
        return axes
    normalized = {}
    for path, values in axes.items():
        if not isinstance(values, list):
            raise ValueError(f"{path} must be a list of values, not {values!r}")
        for value in values:
            if not isinstance(value, int | float | str | bool | None):
                raise ValueError(
                    f"{path} values must be numbers, text, true/false or null, not {value!r}"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{path} values must be finite numbers, not {value!r}")
        # 32 and 32.0 are one design point: a whole float is written as the integer.
        normalized[path] = [int(v) if isinstance(v, float) and v.is_integer() else v
                            for v in values]  # fmt: skip
    return normalized


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _entry(text: str) -> dict[str, Any]:
    """`"mobilenet_v1?alpha=0.5"` → `{"name": "mobilenet_v1", "params": {"alpha": 0.5}}`."""
    source, _, query = text.partition("?")
    params: dict[str, Any] = {}
    for key, raw in parse_qsl(query):
        try:
            params[key] = int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            params[key] = raw  # left for pydantic to reject as "must be a number"
    is_file = source.lower().endswith(_FILE_SUFFIXES) or "/" in source
    return {"file" if is_file else "name": source, "params": params}

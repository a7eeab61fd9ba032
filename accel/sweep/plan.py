"""A sweep ready to run: the base chip and every network loaded once, each point with a stable id.

A point's id is a hash of what determines its result: the base chip, the network's layers, the
batch size and the swept values. A rerun of the same sweep finds the same ids in the journal and
skips those points; editing the base chip or a network gives new ids, so stale results are never
reused.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from accel.config import ChipConfig
from accel.errors import InputError, closest
from accel.io.sources import load_chip, load_network
from accel.model.network import Network
from accel.simulation import summary_metric_names
from accel.sweep.points import Values, check_axis_paths, expand_values, flatten_fields, satisfies
from accel.sweep.spec import NetworkEntry, SweepSpec

# CPython's own SHA-256 (`_sha2` from 3.12), the same digests: hashlib's import loads OpenSSL,
# ~11 M instructions of every sweep's serial start.
if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:
        from _sha2 import sha256
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:
            from hashlib import sha256

# Columns of the results table that are not metrics; a summary key of the same name (or a
# swept chip field, such as clock_mhz) is not repeated as a metric.
RESERVED_COLUMNS = (
    "point", "point_id", "network", "batch", "pe_count", "sram_bytes", "area_mm2", "status",
    "error",
)  # fmt: skip


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed, and built at import
# without compiling generated methods (Python 3.11 compiles a dataclass's at every start-up).
class Point(NamedTuple):
    """One simulation of the sweep: a network variant, a batch size and the swept chip values."""

    index: int  # type: ignore[assignment]  # position in the sweep's order (the table's)
    point_id: str
    network: str  # the variant's label, e.g. "mobilenet_v1?alpha=0.5"
    batch: int
    values: Values


class SweepPlan(NamedTuple):
    """Everything a runner needs, loaded and checked before the first point is simulated."""

    name: str
    chip: ChipConfig
    networks: Mapping[str, Network]  # label → network
    axes: tuple[str, ...]
    points: tuple[Point, ...]
    metrics: tuple[str, ...]  # summary keys kept in the results table
    metrics_chosen: bool  # the sweep file named them (else: every numeric summary key)
    excluded: int  # points a constraint rejected
    duplicates: int  # points equal to an earlier one (repeated values or random draws)


def load_plan(path: str | Path) -> SweepPlan:
    """Read a sweep YAML and plan it; relative chip and network files are read beside it."""
    file = Path(path)
    return plan_sweep(SweepSpec.from_yaml(file), file.parent, str(file))


def plan_sweep(spec: SweepSpec, base_dir: Path, source: str = "sweep") -> SweepPlan:
    """Load the chip and networks, expand the points, apply constraints, give each an id."""
    chip = _base_chip(spec.chip, base_dir, source)
    chip_fields = dict(flatten_fields(chip.model_dump()))
    check_axis_paths(spec, chip_fields, source)
    networks = _networks(spec.networks, base_dir, source)
    metrics = _metrics(spec.metrics, next(iter(networks.values())), chip, source)
    metrics = tuple(m for m in metrics if m not in (*RESERVED_COLUMNS, *spec.axis_paths))
    chip_key = json.dumps(chip.model_dump(), sort_keys=True)
    fingerprints = {label: _fingerprint(net) for label, net in networks.items()}
    points: list[Point] = []
    seen: set[str] = set()
    excluded = duplicates = 0
    combos = expand_values(spec)
    for label, batch, values in itertools.product(networks, spec.batches, combos):
        if not satisfies(spec.constraints, chip_fields, values, batch, source):
            excluded += 1
            continue
        key = {"chip": chip_key, "network": fingerprints[label], "batch": batch, "values": values}
        point_id = sha256(json.dumps(key).encode()).hexdigest()[:20]
        if point_id in seen:
            duplicates += 1
            continue
        seen.add(point_id)
        points.append(Point(len(points), point_id, label, batch, values))
    return SweepPlan(
        spec.name,
        chip,
        networks,
        tuple(spec.axis_paths),
        tuple(points),
        metrics,
        bool(spec.metrics),
        excluded,
        duplicates,
    )


def _base_chip(chip: str | dict[str, Any] | None, base_dir: Path, source: str) -> ChipConfig:
    if chip is None:
        return ChipConfig()
    if isinstance(chip, dict):
        return ChipConfig.from_dict(chip, f"{source}: chip")
    beside = base_dir / chip
    return load_chip(beside if beside.is_file() else chip)


def _networks(entries: list[NetworkEntry], base_dir: Path, source: str) -> dict[str, Network]:
    """Each entry, once per combination of its list-valued parameters, keyed by a label."""
    networks: dict[str, Network] = {}
    for entry in entries:
        written = entry.name or entry.file or ""
        path = base_dir / written if entry.file else None
        load_from = str(path) if path is not None and path.is_file() else written
        lists = {key: v if isinstance(v, list) else [v] for key, v in entry.params.items()}
        for combo in itertools.product(*lists.values()):
            params = dict(zip(lists, combo, strict=True))
            query = "&".join(f"{key}={value}" for key, value in params.items())
            label = f"{written}?{query}" if query else written
            try:
                networks[label] = load_network(load_from, params)
            except InputError as err:
                raise InputError(f"{source}: network {label!r}: {err}") from None
    return networks


def _metrics(
    wanted: list[str] | None, network: Network, chip: ChipConfig, source: str
) -> tuple[str, ...]:
    """The numeric summary keys to keep; a name that is not one is an error with a hint.
    Known without simulating (planning stays short: the workers wait for it)."""
    numeric = [key for key in summary_metric_names(network, chip) if key != "batch"]
    for name in wanted or []:
        if name not in numeric:
            raise InputError(
                f"{source}: metrics must be summary keys ({', '.join(numeric)}), "
                f"not {name!r}{closest(name, numeric)}"
            )
    return tuple(wanted) if wanted else tuple(numeric)


def _fingerprint(network: Network) -> str:
    """A hash of the network's layers: the same file with other contents gives other ids."""
    text = f"{network.name}{network.inputs!r}{network.layers!r}"
    return sha256(text.encode()).hexdigest()

"""What one point of a sweep costs: its chip, its simulation, its journal record.

A worker keeps the last results it simulated, keyed by what their cycles depend on
(`accel.simulation.cycle_chip`): a point whose chip differs from one of them only in clock,
energy, area or names (a clock or energy axis) replays nothing; its energy and derived figures
are counted again on its own chip (`reclocked`), the same numbers a simulation gives.
`accel.sweep.schedule` puts such points next to each other in a worker's queue.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from accel.config import ChipConfig
from accel.errors import InputError
from accel.model.network import Network
from accel.perf.area import chip_area
from accel.results import NetworkResult
from accel.simulation import (
    can_reclock,
    cycle_chip,
    reclocked,
    simulate_analytic,
    simulate_network,
)
from accel.sweep.analytic import analytic_key, analytic_summaries, vectorizable
from accel.sweep.plan import Point

_KEPT_RESULTS = 1  # the scheduler puts points of one cycle key side by side: the last suffices


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed, and built at import
# without compiling generated methods (Python 3.11 compiles a dataclass's at every start-up).
class SweepContext(NamedTuple):
    """What every worker needs before its first point: the base chip and the networks, and
    whether the sweep asks only for metrics that need no memory model (`analytic`)."""

    chip: ChipConfig
    networks: Mapping[str, Network]
    analytic: bool = False


def simulate_point(context: SweepContext, point: Point) -> dict[str, Any]:
    """One journal record; a point that fails becomes a record with its error, never a raise."""
    chip, record = _chip_record(context, point)
    if chip is None:
        return record
    try:
        network = context.networks[point.network]
        if context.analytic:
            summary = simulate_analytic(network, chip, point.batch)
        else:
            summary = _simulate(point, network, chip).summary()
    except Exception as err:
        return _failed(record, err)
    return _with_metrics(record, summary)


# (network object, batch, cycle chip) → (the network, kept alive so its id is not reused; result)
_RESULTS: OrderedDict[tuple[object, ...], tuple[Network, NetworkResult]] = OrderedDict()


def _simulate(point: Point, network: Network, chip: ChipConfig) -> NetworkResult:
    """`simulate_network`, or a kept result of the same cycles `reclocked` to `chip`."""
    if not can_reclock(chip):
        return simulate_network(network, chip, point.batch)
    key = (id(network), point.batch, cycle_chip(chip))
    if key in _RESULTS:
        _RESULTS.move_to_end(key)
        found = _RESULTS[key][1]
        return found if found.chip == chip else reclocked(found, chip)
    result = simulate_network(network, chip, point.batch)
    _RESULTS[key] = (network, result)
    if len(_RESULTS) > _KEPT_RESULTS:
        _RESULTS.popitem(last=False)
    return result


def _chip_record(context: SweepContext, point: Point) -> tuple[ChipConfig | None, dict[str, Any]]:
    """The point's chip (None if it is not a valid chip) and its record so far."""
    record: dict[str, Any] = {"id": point.point_id, "status": "ok", "error": ""}
    try:
        chip = context.chip.with_values(dict(point.values)) if point.values else context.chip
        record["pe_count"] = chip.array.pe_count
        record["sram_bytes"] = chip.sram.total_bytes
        record["area_mm2"] = chip_area(chip).total_mm2
    except Exception as err:
        return None, _failed(record, err)
    return chip, record


def _failed(record: dict[str, Any], err: Exception) -> dict[str, Any]:
    if isinstance(err, InputError):
        return {**record, "status": "error", "error": str(err)}
    # a model bug on one point must not stop thousands of others
    message = f"internal error: {type(err).__name__}: {err}"
    return {**record, "status": "error", "error": message}


def _with_metrics(record: dict[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    numeric = {
        key: value
        for key, value in summary.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    return {**record, "metrics": numeric}


def simulate_chunk(context: SweepContext, points: Sequence[Point]) -> list[dict[str, Any]]:
    if context.analytic:
        return _analytic_chunk(context, points)
    return [simulate_point(context, point) for point in points]


def _analytic_chunk(context: SweepContext, points: Sequence[Point]) -> list[dict[str, Any]]:
    """Records of an analytic sweep's points, each group that differs only in the array's
    shape (`analytic_key`) counted at once; a group that cannot be goes point by point."""
    records: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[object, ...], list[tuple[Point, ChipConfig]]] = {}
    for point in points:
        chip, record = _chip_record(context, point)
        records[point.point_id] = record
        if chip is not None:
            groups.setdefault(analytic_key(point), []).append((point, chip))
    for group in groups.values():
        point, chip = group[0]
        summaries = None
        if vectorizable(chip):
            try:
                network = context.networks[point.network]
                summaries = analytic_summaries(network, point.batch, [c for _, c in group])
            except Exception:  # each point then fails on its own, with its own message
                pass
        for index, (point, _) in enumerate(group):
            records[point.point_id] = (
                _with_metrics(records[point.point_id], summaries[index])
                if summaries is not None
                else simulate_point(context, point)
            )
    return [records[point.point_id] for point in points]

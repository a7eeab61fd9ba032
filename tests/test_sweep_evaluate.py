"""A sweep point's record: points that differ only in clock, energy or area replay nothing and
get exactly the record a simulation of their own chip gives."""

from __future__ import annotations

import pytest

import accel.sweep.evaluate as evaluate
from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.model.network import Network
from accel.simulation import reclocked, simulate_network
from accel.sweep.evaluate import SweepContext, simulate_chunk
from accel.sweep.plan import Point
from accel.sweep.schedule import chunk_points


def _record(point: Point, base: ChipConfig, network: Network) -> dict[str, object]:
    """The record of a point simulated on its own, nothing reused."""
    chip = base.with_values(dict(point.values))
    summary = simulate_network(network, chip, point.batch).summary()
    numeric = {k: v for k, v in summary.items()
               if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
    return {"id": point.point_id, "status": "ok", "error": "", "pe_count": chip.array.pe_count,
            "sram_bytes": chip.sram.total_bytes, "area_mm2": evaluate.chip_area(chip).total_mm2,
            "metrics": numeric}  # fmt: skip


def test_clock_and_energy_points_replay_once_and_equal_their_own_simulation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = [
        (("clock_mhz", clock), ("dram.bandwidth_bytes_per_cycle", bandwidth),
         ("energy.mac_pj", mac), ("area.pe_um2", pe), ("array.rows", rows))
        for clock in (250.0, 1000.0) for bandwidth in (4, 16) for mac in (0.2, 0.5)
        for pe in (None, 900.0) for rows in (8, 16)
    ]  # fmt: skip
    points = [Point(i, f"p{i}", "mobilenet_v2", 2, v) for i, v in enumerate(values)]
    base = ChipConfig().with_values({"sram.undersized": "stream"})
    network = load_network("mobilenet_v2", {"resolution": 32})
    context = SweepContext(base, {"mobilenet_v2": network})
    simulated: list[ChipConfig] = []

    def counting(net: object, chip: ChipConfig, batch: int) -> object:
        simulated.append(chip)
        return simulate_network(net, chip, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluate, "simulate_network", counting)
    chunks = chunk_points(points, {"mobilenet_v2": len(network.layers)}, 1)
    records = {r["id"]: r for chunk in chunks for r in simulate_chunk(context, chunk.points)}
    assert len(simulated) == 2 * 2  # one per bandwidth and array: clock, energy, area reused
    monkeypatch.undo()
    assert records == {p.point_id: _record(p, base, network) for p in points}


def test_a_reclocked_result_equals_the_simulation_of_its_chip() -> None:
    network = load_network("mobilenet_v2", {"resolution": 32})
    base = ChipConfig().with_values({"sram.undersized": "stream", "array.rows": 16})
    first = simulate_network(network, base, 2)
    other = base.with_values({"clock_mhz": 333.0, "energy.mac_pj": 0.7, "name": "other",
                              "area.sram_um2_per_kib": 2000.0})  # fmt: skip
    assert reclocked(first, other).summary() == simulate_network(network, other, 2).summary()
    assert reclocked(first, other).rows() == simulate_network(network, other, 2).rows()


def test_reclocked_refuses_a_chip_of_other_cycles() -> None:
    network = load_network("lenet5")
    first = simulate_network(network, ChipConfig(), 1)
    with pytest.raises(ValueError, match="equal to the result's but in name, description"):
        reclocked(first, ChipConfig().with_values({"dram.bandwidth_bytes_per_cycle": 4}))
    with pytest.raises(ValueError, match="one-core chip"):
        reclocked(first, ChipConfig().with_values({"cores": 2}))

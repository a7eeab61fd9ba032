"""The analytic sweep path over many points at once equals `simulate_analytic` point by point."""

from __future__ import annotations

import random

import pytest

from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.simulation import simulate_analytic
from accel.sweep.analytic import analytic_key, analytic_summaries
from accel.sweep.evaluate import SweepContext, simulate_chunk, simulate_point
from accel.sweep.plan import Point


@pytest.mark.parametrize("network", ["mobilenet_v2", "resnet18", "unet", "googlenet"])
@pytest.mark.parametrize("batch", [1, 3])
def test_shapes_at_once_equal_each_point_alone(network: str, batch: int) -> None:
    net = load_network(network, {"resolution": 64} if network == "unet" else {})
    rng = random.Random(f"{network}{batch}")
    for dataflow, overlap, depthwise, precision in (
        ("os", False, "array", "int8"), ("ws", True, "vector", "int8"),
        ("is", False, "array", "fp16"), ("os", True, "array", "int8"),
    ):  # fmt: skip
        shapes = [(rng.randint(1, 300), rng.randint(1, 300)) for _ in range(12)] + [(1, 1)]
        chips = [
            ChipConfig().with_values({
                "array.rows": rows, "array.cols": cols, "array.dataflow": dataflow,
                "array.fold_overlap": overlap, "array.depthwise_unit": depthwise,
                "array.precision": precision, "sram.ifmap.size_kib": rows,
            })
            for rows, cols in shapes
        ]  # fmt: skip
        want = [simulate_analytic(net, chip, batch) for chip in chips]
        assert analytic_summaries(net, batch, chips) == want


def test_a_chunk_gives_each_points_own_record() -> None:
    """Points counted at once, points that fail (cols = 0) and a row-stationary point (taken
    alone) get exactly the records `simulate_point` gives each of them."""
    values = [
        (("array.dataflow", dataflow), ("array.rows", rows), ("array.cols", cols),
         ("dram.bandwidth_bytes_per_cycle", bandwidth))
        for dataflow in ("os", "ws", "rs") for rows in (4, 16) for cols in (0, 8, 32)
        for bandwidth in (8, 16)
    ]  # fmt: skip
    points = [Point(i, f"p{i}", "lenet5", 2, v) for i, v in enumerate(values)]
    context = SweepContext(ChipConfig(), {"lenet5": load_network("lenet5")}, analytic=True)
    records = simulate_chunk(context, points)
    assert records == [simulate_point(context, point) for point in points]
    assert sum(r["status"] == "error" for r in records) == 3 * 2 * 2  # every cols = 0 point
    assert len({analytic_key(p) for p in points}) == 3  # one group per dataflow

"""Planning a sweep: chip and networks loaded once, constraints applied, stable point ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from accel.errors import InputError
from accel.sweep.plan import load_plan

TINY = """
name: tiny
networks:
  - lenet5
  - {name: mobilenet_v1, params: {alpha: [0.25, 0.5], resolution: 32}}
grid:
  array.rows: [8, 16, 32]
  array.dataflow: [os, ws]
constraints: ["array.rows * array.cols <= 512"]
metrics: [latency_ms, energy_uj]
"""


def test_plan_expands_networks_and_applies_constraints(write_yaml) -> None:  # type: ignore[no-untyped-def]
    plan = load_plan(write_yaml(TINY))
    assert list(plan.networks) == [
        "lenet5", "mobilenet_v1?alpha=0.25&resolution=32", "mobilenet_v1?alpha=0.5&resolution=32"
    ]
    # rows 32 × default cols 32 = 1024 PEs breaks the constraint: 2 of 6 combinations go
    assert (len(plan.points), plan.excluded, plan.duplicates) == (3 * 4, 3 * 2, 0)
    assert [p.index for p in plan.points] == list(range(12))
    assert plan.points[0].values == (("array.rows", 8), ("array.dataflow", "os"))
    assert plan.metrics == ("latency_ms", "energy_uj")
    assert plan.axes == ("array.rows", "array.dataflow")


def test_ids_are_stable_and_follow_the_inputs(write_yaml) -> None:  # type: ignore[no-untyped-def]
    ids = [p.point_id for p in load_plan(write_yaml(TINY)).points]
    assert ids == [p.point_id for p in load_plan(write_yaml(TINY)).points]
    assert len(set(ids)) == len(ids)
    other_chip = [p.point_id for p in load_plan(write_yaml(TINY + "chip: {clock_mhz: 500}\n")).points]
    assert not set(ids) & set(other_chip)
    more_metrics = TINY.replace("metrics: [latency_ms, energy_uj]", "")
    assert ids == [p.point_id for p in load_plan(write_yaml(more_metrics)).points]


def test_repeated_values_are_dropped_once(write_yaml) -> None:  # type: ignore[no-untyped-def]
    plan = load_plan(write_yaml("name: d\nnetworks: [lenet5]\ngrid: {array.rows: [8, 8, 16]}\n"))
    assert (len(plan.points), plan.duplicates) == (2, 1)


def test_default_metrics_are_every_numeric_summary_key(write_yaml) -> None:  # type: ignore[no-untyped-def]
    plan = load_plan(write_yaml("name: d\nnetworks: [lenet5]\n"))
    assert {"latency_ms", "energy_uj", "utilization", "total_cycles", "tops_per_w"} <= set(plan.metrics)
    assert "network" not in plan.metrics and "batch" not in plan.metrics


def test_chip_and_network_files_are_read_beside_the_sweep(tmp_path: Path) -> None:
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "mine.yaml").write_text("name: mine\narray: {rows: 8, cols: 8}\n")
    (tmp_path / "net.yaml").write_text((REPO / "workloads" / "lenet5.yaml").read_text())
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: f\nchip: chips/mine.yaml\nnetworks: [net.yaml]\n")
    plan = load_plan(sweep)
    assert plan.chip.name == "mine" and plan.chip.array.rows == 8
    assert list(plan.networks) == ["net.yaml"]


def test_builtin_chip_name(write_yaml) -> None:  # type: ignore[no-untyped-def]
    assert load_plan(write_yaml("name: b\nchip: tpu_v1_like\nnetworks: [lenet5]\n")).chip.name == "tpu_v1_like"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grid: {array.row: [8]}", r"file.yaml: axis 'array.row' is not a chip field \(did you mean 'array.rows'\?\)$"),
        ("metrics: [latncy_ms]", r"file.yaml: metrics must be summary keys \(.*\), not 'latncy_ms' \(did you mean 'latency_ms'\?\)$"),
        ("constraints: ['array.rws < 4']", r"file.yaml: constraint: 'array.rws' is not a chip field \(did you mean 'array.rows'\?\)$"),
        ("chip: {array: {rows: 0}}", r"file.yaml: chip: array.rows must be > 0, not 0$"),
    ],
)
def test_plan_errors_name_the_file_and_field(write_yaml, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        load_plan(write_yaml(f"name: e\nnetworks: [lenet5]\n{text}\n"))


def test_unknown_network_names_the_sweep(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"file.yaml: network 'lenet': network must be a file or one of .* \(did you mean 'lenet5'\?\)$"):
        load_plan(write_yaml("name: e\nnetworks: [lenet]\n"))


def test_the_readme_example_plans(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Sweeps")[1].split("```yaml\n")[1].split("```")[0]
    sweep = tmp_path / "readme.yaml"
    sweep.write_text(block.replace("  - {file: ../workloads/my_net.yaml}\n", ""))
    plan = load_plan(sweep)
    assert len(plan.networks) == 4
    # 4 variants × 2 batches × (4 rows × 2 dataflows × 3 zip rows × 20 samples), less os at 128 rows
    assert (len(plan.points), plan.excluded) == (4 * 2 * (480 - 60), 4 * 2 * 60)


def test_a_metric_named_like_a_column_is_not_repeated(write_yaml) -> None:  # type: ignore[no-untyped-def]
    plan = load_plan(write_yaml("name: c\nnetworks: [lenet5]\ngrid: {clock_mhz: [500, 1000]}\n"))
    assert "clock_mhz" in plan.axes and "clock_mhz" not in plan.metrics
    assert "clock_mhz" in load_plan(write_yaml("name: c\nnetworks: [lenet5]\n")).metrics


@pytest.mark.parametrize("chip_file", [None, "stream_tpu_like_quad_core", "eyeriss_like"])
@pytest.mark.parametrize("fusion", ["off", "auto"])
def test_metric_names_known_without_a_simulation_are_the_summarys(
    chip_file: str | None, fusion: str
) -> None:
    """Planning reads the metric names off a run of no layers: the numeric keys of a real
    summary, in the same order, on one core or many, with fusion on or off."""
    from accel.config import ChipConfig
    from accel.io.sources import load_chip, load_network
    from accel.simulation import simulate_network, summary_metric_names

    chip = load_chip(REPO / "configs" / f"{chip_file}.yaml") if chip_file else ChipConfig()
    if chip.core_count == 1:
        chip = chip.with_values({"memory.fusion": fusion})
    network = load_network("mobilenet_v2", {"resolution": 32})
    summary = simulate_network(network, chip, 1).summary()
    numeric = [key for key, value in summary.items()
               if isinstance(value, int | float) and not isinstance(value, bool)]  # fmt: skip
    assert list(summary_metric_names(network, chip)) == numeric

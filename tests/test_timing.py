"""Analytic timing: SCALE-Sim 3.0.0 agreement (golden data) and the fold-overlap schedule."""

from __future__ import annotations

import csv
import math
from functools import cache
from pathlib import Path

import pytest

from accel.config import ChipConfig
from accel.io.scalesim import load_scalesim_config, load_topology
from accel.mapping.mapper import map_layer
from accel.model.network import Network
from accel.perf.timing import time_layer

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = DATA / "scalesim_golden.csv"


def _golden_rows() -> list[dict[str, str]]:
    with GOLDEN.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def _chip(cfg_file: str) -> ChipConfig:
    return load_scalesim_config(DATA / "scalesim" / cfg_file)


@cache
def _network(topology_file: str) -> Network:
    return load_topology(DATA / "scalesim" / topology_file)


@pytest.mark.parametrize(
    "row", _golden_rows(), ids=lambda row: f"{row['case']}-{row['layer_name']}"
)
def test_agrees_with_scalesim(row: dict[str, str]) -> None:
    """Compute cycles, SRAM reads and mapping efficiency equal SCALE-Sim 3.0.0's reports.

    Regenerate the data with `/work/venvs/scalesim/bin/python tools/scalesim_golden.py`.
    """
    chip = _chip(row["cfg_file"])
    layer = _network(row["topology_file"]).layers[int(row["layer_id"])]
    assert layer.name == row["layer_name"]
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    array = mapping.array
    assert array is not None
    assert (array.m, array.n, array.k) == (int(row["m"]), int(row["n"]), int(row["k"]))
    assert timing.compute_cycles == int(row["compute_cycles"])
    assert timing.sram_ifmap_reads == int(row["sram_ifmap_reads"])
    assert timing.sram_weight_reads == int(row["sram_filter_reads"])
    assert math.isclose(
        100 * timing.mapping_efficiency, float(row["mapping_efficiency_pct"]), rel_tol=1e-9
    )
    # os: SCALE-Sim adds a bogus (rows + cols) per fold to its OFMAP writes (README).
    bogus = array.folds * (array.array_rows + array.array_cols) if array.dataflow == "os" else 0
    assert timing.sram_ofmap_writes == int(row["sram_ofmap_writes"]) - bogus

"""The boundary's YAML writer: chip.yaml without PyYAML reads as PyYAML writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

from accel.config import ChipConfig
from accel.io.sources import load_chip
from accel.user_input.yaml_dump import dump_yaml_mapping

CHIPS = sorted((REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CHIPS, ids=lambda path: path.stem)
def test_a_chip_dumps_as_pyyaml_dumps_it(path: Path) -> None:
    data = load_chip(path).model_dump()
    assert dump_yaml_mapping(data) == yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    "data",
    [
        {},
        ChipConfig().model_dump(),
        {"a": 1e-06, "b": 1e17, "c": -0.5, "d": float("inf"), "e": float("-inf"), "f": 1 / 3},
        {"a": {}, "b": {"c": {"d": None}}, "e": True, "f": False, "g": -12},
        # strings PyYAML quotes, folds or escapes: the writer hands them to PyYAML
        {"a": "yes", "b": "No", "c": "null", "d": "123", "e": "1.5", "f": "2026-12-07"},
        {"a": "key: value", "b": "x #y", "c": " lead", "d": "trail ", "e": "two  spaces"},
        {"a": "- item", "b": "[x]", "c": "{x}", "d": "é", "e": "line\nbreak", "f": ""},
        {"a": "word " * 20, "b": "0x1F", "c": ".inf", "d": "~", "e": "*ref", "f": "&anchor"},
        {"a": [1, 2], "b": (3,)},
        {"a": ["ifmap", "ofmap"], "b": [], "c": [["x", "y"]], "d": ["on"], "e": [{"f": 1}]},
        {"a": "off", "b": "On", "c": "NULL", "d": "yes", "e": "FALSE", "f": "y", "g": "oN"},
        {1: "int key", "x" * 90: 1},
        {"description": "32x32 int8 WS edge NPU, 64+64+32 KiB SRAM, 16 B/cycle DRAM, 1 GHz"},
    ],
)
def test_any_mapping_dumps_as_pyyaml_dumps_it(data: dict[Any, Any]) -> None:
    assert dump_yaml_mapping(data) == yaml.safe_dump(data, sort_keys=False)

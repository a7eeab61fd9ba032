"""Shared fixtures: the default chip, a tiny workload file, and a runner for the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from accel.config import ChipConfig
from accel.model.network import Layer, LayerEntry, Network
from accel.model.ops import Op, Shape

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def chip() -> ChipConfig:
    return ChipConfig()


@pytest.fixture
def write_yaml(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a YAML text into a temp file and return its path."""

    def write(text: str, name: str = "file.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def run_accel(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-c", "from accel.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def single_layer(op: Op, channels: int, height: int, width: int | None = None) -> Layer:
    """A network of one layer on a (channels, height, width) input; returns that layer."""
    shape = Shape(channels, height, height if width is None else width)
    return Network.build("one", shape, [LayerEntry("layer", op)]).layers[0]


def chip_with(**values: object) -> ChipConfig:
    """The default chip with fields changed by dotted path (`"array.rows": 4` as array__rows)."""
    return ChipConfig().with_values({key.replace("__", "."): v for key, v in values.items()})

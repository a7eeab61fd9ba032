"""Shared fixtures: the default chip, a tiny workload file, and a runner for the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.model.network import Layer, LayerEntry, Network
from accel.model.ops import Add, Conv, Flatten, FullyConnected, Op, Shape

# The suite is deterministic: hypothesis draws the same examples on every run, so CI passes or
# fails for a reason in the code, never by luck. `pytest --hypothesis-profile=explore` draws new
# examples (more of them) to hunt for counterexamples; add what it finds as an @example.
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile("default")

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
    """Run the CLI in a subprocess, as a user would (the console script's entry, `run`)."""
    return subprocess.run(
        [sys.executable, "-c", "from accel.cli import run; run()", *args],
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


def sram_scaled(chip: ChipConfig, scale: float) -> ChipConfig:
    """`chip` with every buffer (or its unified SRAM) `scale` times the size: a sweep point
    that differs only in SRAM sizes."""
    sram = chip.sram
    sizes = {f"sram.{op}.size_kib": getattr(sram, op).size_kib * scale
             for op in ("ifmap", "weight", "ofmap") if getattr(sram, op) is not None}
    if not sizes:
        assert sram.unified is not None
        sizes = {"sram.unified.size_kib": sram.unified.size_kib * scale}
    return chip.with_values(sizes)


# Random conv / depthwise / fc layers and small chips for property tests of the memory model.
layers = st.builds(
    lambda kind, kernel, stride, channels, size, out, depthwise: (
        single_layer(FullyConnected(out_features=out), channels, size)
        if kind == "fc"
        else single_layer(
            Conv(
                kernel=kernel,
                stride=stride,
                padding=kernel // 2,
                out_channels=channels if depthwise else out,
                groups=channels if depthwise else 1,
            ),
            channels,
            size,
        )
    ),
    kind=st.sampled_from(["conv", "conv", "fc"]),
    kernel=st.sampled_from([1, 3, 5]),
    stride=st.integers(1, 2),
    channels=st.integers(1, 24),
    size=st.integers(5, 14),
    out=st.integers(1, 40),
    depthwise=st.booleans(),
)
chips = st.builds(
    lambda rows, cols, dataflow, overlap, ifmap, weight, ofmap, bandwidth, single: chip_with(
        array__rows=rows,
        array__cols=cols,
        array__dataflow=dataflow,
        array__fold_overlap=overlap,
        sram__ifmap__size_kib=ifmap,
        sram__weight__size_kib=weight,
        sram__ofmap__size_kib=ofmap,
        sram__ofmap__double_buffered=not single,
        dram__bandwidth_bytes_per_cycle=bandwidth,
    ),
    rows=st.sampled_from([2, 4, 8, 16]),
    cols=st.sampled_from([2, 4, 8, 16]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    overlap=st.booleans(),
    ifmap=st.sampled_from([0.5, 1, 4, 64]),
    weight=st.sampled_from([0.5, 1, 4, 64]),
    ofmap=st.sampled_from([0.5, 1, 4, 64]),
    bandwidth=st.sampled_from([1, 4, 16]),
    single=st.booleans(),
)

# Chips whose buffers are too small for even the smallest tiles, simulated with
# `sram.undersized: stream`: own buffers of 32 bytes to 1 KiB, or one small unified buffer.
streaming_chips = st.builds(
    lambda rows, cols, dataflow, overlap, sizes, unified, bandwidth, single: chip_with(
        array__rows=rows,
        array__cols=cols,
        array__dataflow=dataflow,
        array__fold_overlap=overlap,
        sram__ifmap=None if unified else {"size_kib": sizes[0]},
        sram__weight=None if unified else {"size_kib": sizes[1], "double_buffered": not single},
        sram__ofmap=None if unified else {"size_kib": sizes[2]},
        sram__unified={"size_kib": sizes[0]} if unified else None,
        sram__undersized="stream",
        dram__bandwidth_bytes_per_cycle=bandwidth,
    ),
    rows=st.sampled_from([2, 4, 8, 16]),
    cols=st.sampled_from([4, 8, 16]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    overlap=st.booleans(),
    sizes=st.tuples(*[st.sampled_from([0.03125, 0.0625, 0.125, 1])] * 3),
    unified=st.booleans(),
    bandwidth=st.sampled_from([1, 4, 16]),
    single=st.booleans(),
)


def residual_network() -> Network:
    """Two 3×3 convs added, flattened into an fc: a residual join on 3×8×8."""
    return Network.build(
        "residual",
        Shape(3, 8, 8),
        [
            LayerEntry("a", Conv(kernel=3, padding=1, out_channels=8)),
            LayerEntry("b", Conv(kernel=3, padding=1, out_channels=8)),
            LayerEntry("sum", Add(), ("a", "b")),
            LayerEntry("flat", Flatten()),
            LayerEntry("fc", FullyConnected(out_features=10)),
        ],
    )


@pytest.fixture(autouse=True)
def _onnx_files_decode_as_onnx_parses_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ONNX file a test imports is also parsed by onnx, and accel's decoded model must
    match it field by field (tests/onnx_equality.py): the decoder is checked on every model
    the suite builds, not only on its own tests' models."""
    import accel.io.onnx_import as onnx_import

    read_model = onnx_import.read_model

    def checked(path: Path) -> object:
        model = read_model(path)
        onnx = sys.modules.get("onnx", False)
        if onnx is None:  # a test that hides the onnx package
            return model
        import onnx
        from onnx_equality import assert_same_model

        assert_same_model(model, onnx.load(str(path), load_external_data=False))
        return model

    monkeypatch.setattr(onnx_import, "read_model", checked)

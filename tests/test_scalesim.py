"""SCALE-Sim interop: its .cfg as a chip, its topology CSV (conv and GEMM) as a network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from accel.config import DramConfig
from accel.errors import InputError
from accel.io.scalesim import load_scalesim_config, load_topology
from accel.model.ops import Shape

CFG = """[general]
run_name = tall_is

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     8
IfmapSramSzkB:  128
FilterSramSzkB: 64
OfmapSramSzkB:  32
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : is
MemoryBanks:   2
"""

CONV = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1, 224, 224, 11, 11, 3, 96, 4,
Conv2, 27, 27, 5, 5, 96, 256, 1,
"""


def test_cfg_becomes_a_chip(write_yaml) -> None:  # type: ignore[no-untyped-def]
    chip = load_scalesim_config(write_yaml(CFG, "tall.cfg"))
    assert chip.name == "tall_is"
    assert (chip.array.rows, chip.array.cols, chip.array.dataflow) == (32, 8, "is")
    assert chip.array.fold_overlap is False
    assert chip.sram.buffer_for("ifmap").size_kib == 128
    assert chip.sram.buffer_for("weight").size_kib == 64
    assert chip.sram.buffer_for("ofmap").size_kib == 32
    assert chip.sram.buffer_for("ofmap").banks == 2
    assert chip.dram.bandwidth_bytes_per_cycle == 10
    assert chip.sram.undersized == "stream"  # SCALE-Sim refetches what does not fit


def test_conv_topology_keeps_scalesim_ceil_sizes(write_yaml) -> None:  # type: ignore[no-untyped-def]
    net = load_topology(write_yaml(CONV, "alexnet.csv"))
    conv1 = net.layer("Conv1")
    assert conv1.input_shapes == (Shape(3, 224, 224),)
    assert conv1.output_shape == Shape(96, 55, 55)  # ceil((224 - 11) / 4) + 1
    assert net.layer("Conv2").inputs == ("Conv2.ifmap",)  # layers are independent
    gemm = conv1.gemm
    assert gemm is not None and (gemm.m, gemm.k, gemm.n) == (3025, 363, 96)


def test_gemm_topology_is_scalesims_equivalent_conv(write_yaml) -> None:  # type: ignore[no-untyped-def]
    net = load_topology(write_yaml("Layer, M, N, K,\ng1, 300, 7, 45,\n", "g.csv"))
    gemm = net.layer("g1").gemm
    assert gemm is not None and (gemm.m, gemm.k, gemm.n) == (300, 45, 7)


def test_cfg_missing_key_is_named(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = CFG.replace("ArrayWidth:     8\n", "")
    with pytest.raises(InputError, match=r"\[architecture_presets\] ArrayWidth is required"):
        load_scalesim_config(write_yaml(text, "a.cfg"))


def test_cfg_bad_number_is_named(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = CFG.replace("ArrayHeight:    32", "ArrayHeight: thirty")
    with pytest.raises(InputError, match=r"ArrayHeight must be an integer, not 'thirty'"):
        load_scalesim_config(write_yaml(text, "a.cfg"))


def test_cfg_bad_dataflow(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"Dataflow must be one of os, ws, is, not 'rs'"):
        load_scalesim_config(write_yaml(CFG.replace("Dataflow : is", "Dataflow : rs"), "a.cfg"))


def test_cfg_that_is_not_a_cfg(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"not a valid SCALE-Sim config"):
        load_scalesim_config(write_yaml("just text\n", "a.cfg"))


def test_topology_negative_size(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = CONV.replace("27, 27, 5", "27, -27, 5")
    with pytest.raises(InputError, match=r"alexnet\.csv:3: IFMAP Width must be > 0, not -27"):
        load_topology(write_yaml(text, "alexnet.csv"))


def test_topology_short_row(write_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"x\.csv:2: a row must have 8 fields"):
        load_topology(write_yaml(CONV.splitlines()[0] + "\nConv1, 224, 224,\n", "x.csv"))


def test_topology_filter_larger_than_ifmap(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = CONV.splitlines()[0] + "\nbig, 5, 5, 7, 7, 1, 1, 1,\n"
    with pytest.raises(InputError, match=r"layer 'big' cannot take its input .* kernel extent 7"):
        load_topology(write_yaml(text, "x.csv"))


def test_dp_layers_expand_per_channel_like_scalesim(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = CONV.splitlines()[0] + "\nCONV_DP1, 16, 16, 3, 3, 4, 8, 1,\n"
    net = load_topology(write_yaml(text, "dp.csv"))
    assert [layer.name for layer in net] == [f"CONV_DP1Channel_{i}" for i in range(4)]
    assert all(layer.input_shapes == (Shape(1, 16, 16),) for layer in net)
    assert all(layer.output_shape == Shape(8, 14, 14) for layer in net)


def test_scalesim_repo_quirks_are_tolerated(write_yaml) -> None:  # type: ignore[no-untyped-def]
    # SCALE-Sim's own mobilnet_paper.csv has blank lines, tab-indented names, a "#dw" comment
    # after the trailing comma, and one row without a trailing comma.
    text = (CONV.splitlines()[0] + "\n\nConv2_dw, 112, 112, 3, 3, 1, 1, 1,#dw\n"
            "\tConv14_dw_0,14,14,3,3,1,1,1,\nConv11,28,28,1,1,256,256,1\n")
    net = load_topology(write_yaml(text, "m.csv"))
    assert [layer.name for layer in net] == ["Conv2_dw", "Conv14_dw_0", "Conv11"]
    assert net.layer("Conv11").output_shape == Shape(256, 28, 28)


def test_bandwidth_may_be_a_list(write_yaml) -> None:  # type: ignore[no-untyped-def]
    chip = load_scalesim_config(write_yaml(CFG.replace("Bandwidth : 10", "Bandwidth : 20,30"), "b.cfg"))
    assert chip.dram.bandwidth_bytes_per_cycle == 20


def test_bandwidth_is_optional_in_calc_mode(write_yaml) -> None:  # type: ignore[no-untyped-def]
    # SCALE-Sim reads Bandwidth only in USER mode; CALC (the default) never waits for DRAM.
    text = CFG.replace("Bandwidth : 10\n", "") + "[run_presets]\nInterfaceBandwidth: CALC\n"
    chip = load_scalesim_config(write_yaml(text, "calc.cfg"))
    assert chip.dram.bandwidth_bytes_per_cycle == DramConfig().bandwidth_bytes_per_cycle == 16
    assert "no Bandwidth" in chip.description
    no_presets = load_scalesim_config(write_yaml(CFG.replace("Bandwidth : 10\n", ""), "calc.cfg"))
    assert no_presets == chip  # accel reads a cfg without [run_presets] as CALC


def test_user_mode_requires_bandwidth(write_yaml) -> None:  # type: ignore[no-untyped-def]
    text = CFG.replace("Bandwidth : 10\n", "") + "[run_presets]\nInterfaceBandwidth: USER\n"
    with pytest.raises(InputError, match=r"Bandwidth is required when \[run_presets\] "
                                         r"InterfaceBandwidth is USER$"):  # fmt: skip
        load_scalesim_config(write_yaml(text, "user.cfg"))


def _as_configparser_allows(text: str) -> str:
    """Keys lower-cased and written `key = value`, plus a section accel does not read."""
    lines = [re.sub(r"^(\w+)\s*[:=]\s*", lambda m: f"{m.group(1).lower()} = ", line)
             for line in text.splitlines()]  # fmt: skip
    return "\n".join(lines) + '\n[network_presets]\nTopologyCsvLoc: "topologies/x.csv"\n'


def test_keys_in_any_case_with_either_delimiter(write_yaml) -> None:  # type: ignore[no-untyped-def]
    variant = load_scalesim_config(write_yaml(_as_configparser_allows(CFG), "tall.cfg"))
    assert variant == load_scalesim_config(write_yaml(CFG, "tall.cfg"))


SHIPPED = sorted((Path(__file__).parent / "data" / "scalesim").glob("*.cfg"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_golden_cfg_loads_the_same_in_any_spelling(path: Path, tmp_path: Path) -> None:
    chip = load_scalesim_config(path)
    variant = tmp_path / path.name
    variant.write_text(_as_configparser_allows(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert load_scalesim_config(variant) == chip
    assert chip.sram.undersized == "stream" and chip.name == path.stem


"""Activation residency and layer fusion: DRAM bytes against the compulsory bound and against
layer by layer, the halo trade-off in numbers, the per-layer columns and the input checks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.io.workload_yaml import network_to_yaml
from accel.mapping.mapper import map_layer
from accel.memory import bands, fusion
from accel.memory.model import model_memory
from accel.model.network import LayerEntry, Network
from accel.model.ops import Activation, Add, Conv, Shape
from accel.model.pool_ops import MaxPool
from accel.perf.timing import time_layer
from accel.results import NetworkResult
from accel.simulation import simulate_network
from tests.conftest import chip_with, residual_network, run_accel


def _moved(result: NetworkResult) -> int:
    summary = result.summary()
    return int(summary["dram_read_bytes"] + summary["dram_write_bytes"])


def test_off_by_default_adds_only_the_bound_to_the_summary() -> None:
    result = simulate_network(residual_network(), ChipConfig())
    summary = result.summary()
    # input 3x8x8 once, every weight (6,016 B with int32 biases) once, the 10 logits once.
    assert summary["compulsory_network_dram_bytes"] == 192 + 6016 + 10
    assert "activations" not in summary
    assert "fused_group" not in result.rows()[0]
    # Layer by layer, a is written and read twice, b and sum are written and read once:
    # 7 more trips of 512 B.
    assert _moved(result) == 6218 + 7 * 512 == 9802
    assert summary["dram_over_compulsory"] == round(9802 / 6218, 6)


def test_residency_keeps_every_activation_that_fits() -> None:
    off = simulate_network(residual_network(), ChipConfig())
    on = simulate_network(residual_network(), chip_with(memory__activation_residency="on"))
    assert _moved(on) == on.summary()["compulsory_network_dram_bytes"] == 6218
    rows = {row["layer"]: row for row in on.rows()}
    assert rows["sum"]["resident_inputs"] == "a+b"
    assert rows["fc"]["resident_inputs"] == "flat"
    assert rows["a"]["dram_ofmap_write_bytes"] == rows["b"]["dram_ifmap_bytes"] == 0
    assert rows["fc"]["dram_ofmap_write_bytes"] == 10  # the network output still leaves
    assert all(row["spilled"] == 0 for row in rows.values())
    assert on.summary()["activations"]["resident_tensors"] == 3
    # Nothing to wait for on the channel: fewer stall cycles.
    assert on.summary()["stall_cycles"] < off.summary()["stall_cycles"]


def test_tensors_that_do_not_fit_are_spilled_and_go_through_dram() -> None:
    chain = Network.build("chain", Shape(16, 32, 32), [
        LayerEntry("a", Conv(kernel=1, out_channels=16)),  # 16 KiB each
        LayerEntry("b", Conv(kernel=1, out_channels=16)),
        LayerEntry("c", Conv(kernel=1, out_channels=16)),
    ])  # fmt: skip
    # 24 KiB of activation buffers: a's 16 KiB output fits beside the layers' tiles, but not
    # beside b's (a and b are both alive while b runs: 32 KiB).
    chip = chip_with(memory__activation_residency="on", sram__ifmap__size_kib=8,
                     sram__ofmap__size_kib=16)  # fmt: skip
    rows = {row["layer"]: row for row in simulate_network(chain, chip).rows()}
    spilled = [name for name, row in rows.items() if row["spilled"]]
    kept = [name for name, row in rows.items() if not row["spilled"] and name != "c"]
    assert spilled and kept
    for name in spilled:
        assert rows[name]["dram_ofmap_write_bytes"] >= rows[name]["compulsory_ofmap_bytes"]
    for name in kept:
        assert rows[name]["dram_ofmap_write_bytes"] == 0
    # The policy keeps the earlier tensor: a is kept, b (produced later) spilled.
    assert (kept, spilled) == (["a"], ["b"])
    assert rows["b"]["resident_inputs"] == "a" and rows["c"]["resident_inputs"] == ""


def test_halo_recomputation_against_caching_by_hand() -> None:
    net = Network.build("two", Shape(1, 8, 8), [
        LayerEntry("a", Conv(kernel=3, padding=1, out_channels=1)),
        LayerEntry("b", Conv(kernel=3, padding=1, out_channels=1)),
    ])  # fmt: skip
    chip = ChipConfig()
    mappings = [map_layer(layer, chip) for layer in net.layers]
    timings = [time_layer(mapping, chip) for mapping in mappings]
    memories = [model_memory(m, t, chip) for m, t in zip(mappings, timings, strict=True)]
    links = fusion.fusable_chain(net, fusion._consumers(net), 0, 1, mappings, timings, memories)
    assert not isinstance(links, str)
    recompute = bands.cost_at(links, "input", 2, "recompute", 1)
    cache = bands.cost_at(links, "input", 2, "cache", 1)
    # b's bands [0,2) [2,4) [4,6) [6,8) need a's rows [0,3) [1,5) [3,7) [5,8): 14 rows, not 8;
    # each of a's rows is 8 pixels x 9 taps = 72 MACs, so 6 rows again are 432 MACs.
    assert recompute.recompute_macs == (432, 0) and cache.recompute_macs == (0, 0)
    # a's bands read input rows [0,4) [0,6) [2,8) [4,8): 20 rows of 8 bytes, or 8 rows cached.
    assert recompute.reads == ((0, "input", 160),) and cache.reads == ((0, "input", 64),)
    assert cache.need_bytes > recompute.need_bytes  # the cached halo rows take SRAM
    assert recompute.dram_bytes - cache.dram_bytes == 96


def test_fusion_cuts_mobilenet_v2_dram_traffic() -> None:
    net = load_network("mobilenet_v2")
    layer_by_layer = simulate_network(net, ChipConfig())
    resident = simulate_network(net, chip_with(memory__activation_residency="on"))
    fused = simulate_network(net, chip_with(memory__fusion="auto"))
    cached = simulate_network(net, chip_with(memory__fusion="auto", memory__fusion_halo="cache"))
    # `python benchmarks/fusion_dram.py` prints these.
    assert [_moved(r) for r in (layer_by_layer, resident, fused, cached)] == [
        18_658_344, 16_879_528, 6_367_208, 6_137_160,
    ]
    assert fused.summary()["compulsory_network_dram_bytes"] == 3_693_512
    groups = fused.summary()["activations"]["fused_groups"]
    assert len(groups) == 15 and groups[0]["first"] == "features.0"
    assert fused.summary()["activations"]["recompute_macs"] == 52_932_096
    rows = fused.rows()
    assert rows[0]["fused_group"] == 0 and rows[-1]["fused_group"] == ""
    assert sum(row["recompute_macs"] for row in rows) == 52_932_096


def test_user_groups_are_checked() -> None:
    net = residual_network()
    with pytest.raises(InputError, match=r"fused_groups \[a, nope\]: layer 'nope' is not"):
        simulate_network(net, chip_with(memory__fusion="manual", memory__fused_groups=[["a", "nope"]]))
    with pytest.raises(InputError, match=r"\[a, b\]: layer 'a' has readers outside the group"):
        simulate_network(net, chip_with(memory__fusion="manual", memory__fused_groups=[["a", "b"]]))
    with pytest.raises(InputError, match=r"\[sum, fc\]: layer 'flat' \(flatten\) does no work"):
        simulate_network(net, chip_with(memory__fusion="manual",
                                        memory__fused_groups=[["sum", "fc"]]))  # fmt: skip
    with pytest.raises(InputError, match="must come after the first"):
        simulate_network(net, chip_with(memory__fusion="manual", memory__fused_groups=[["b", "a"]]))
    rows = simulate_network(net, chip_with(memory__fusion="manual",
                                           memory__fused_groups=[["b", "sum"]])).rows()  # fmt: skip
    assert [row["fused_group"] for row in rows] == ["", 0, 0, "", ""]


CHAIN = """
name: chain
input: {channels: 3, height: 16, width: 16}
layers:
  - {name: c1, kind: conv, out_channels: 8, kernel: 3, padding: 1}
  - {name: c2, kind: conv, out_channels: 8, kernel: 3, padding: 1}
  - {name: c3, kind: conv, out_channels: 8, kernel: 3, padding: 1}
  - {name: gap, kind: global_avgpool}
  - {name: fc, kind: fc, out_features: 10}
"""


def test_a_workload_names_its_fused_groups_and_the_chips_win(write_yaml) -> None:  # type: ignore[no-untyped-def]
    network = load_network(str(write_yaml(CHAIN + "fused_groups: [[c1, c3]]\n")))
    assert network.fused_groups == (("c1", "c3"),)
    assert network_to_yaml(network).endswith("fused_groups:\n- [c1, c3]\n")
    manual = chip_with(memory__fusion="manual")
    rows = simulate_network(network, manual).rows()
    assert [row["fused_group"] for row in rows] == [0, 0, 0, "", ""]
    chips = chip_with(memory__fusion="manual", memory__fused_groups=[["c2", "c3"]])
    assert [row["fused_group"] for row in simulate_network(network, chips).rows()] == [
        "", 0, 0, "", ""]
    # Fusion stays a chip policy: off (the default) fuses nothing, the workload's groups or not.
    assert "fused_group" not in simulate_network(network, ChipConfig()).rows()[0]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ("[[c1, nope]]", "fused_groups \\[c1, nope\\]: layer 'nope' is not in chain"),
        ("[[c1, c2], [c2, c3]]", "fused_groups \\[c2, c3\\]: overlaps another fused group"),
        ("[[c3, c1]]", "fused_groups \\[c3, c1\\]: the last layer must come after the first"),
        ("[c1, c3]", "fused_groups entries must be \\[first, last\\] layer names, not 'c1'"),
        ("[[c2, fc]]", "chain: fused_groups \\[c2, fc\\]: layer 'gap' \\(global_avgpool\\) "
         "does not work row by row"),
    ],
)
def test_bad_workload_fused_groups_are_one_line_errors(  # type: ignore[no-untyped-def]
    write_yaml, groups: str, message: str
) -> None:
    workload = write_yaml(CHAIN + f"fused_groups: {groups}\n", "chain.yaml")
    chip = write_yaml("memory: {fusion: manual}\n", "chip.yaml")
    done = run_accel("simulate-network", "-n", str(workload), "-c", str(chip), "--out",
                     str(chip.parent / "out"), "-q")  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert re.search(message, done.stderr), done.stderr


def test_memory_options_are_validated() -> None:
    with pytest.raises(InputError, match="fused_groups needs fusion: manual"):
        chip_with(memory__fused_groups=[["a", "b"]])
    with pytest.raises(InputError, match="fused_groups must list at least one"):
        simulate_network(residual_network(), chip_with(memory__fusion="manual"))
    with pytest.raises(InputError, match=r"names unified, but the chip has no sram\.unified"):
        chip_with(memory__activation_buffers=["unified"])
    with pytest.raises(InputError, match=r"memory\.fusion"):
        chip_with(memory__fusion="sometimes")


# Random small networks: a chain of convs, pools and activations with residual adds.
_STEPS = st.lists(
    st.tuples(st.sampled_from(["conv1", "conv3", "conv3s2", "pool", "relu", "add"]),
              st.integers(1, 12)),
    min_size=1, max_size=6,
)  # fmt: skip


def _random_network(channels: int, size: int, steps: list[tuple[str, int]]) -> Network:
    entries: list[LayerEntry] = []
    shapes = {"input": Shape(channels, size, size)}
    previous, before = "input", None
    for number, (kind, width) in enumerate(steps):
        name, shape = f"l{number}", shapes[previous]
        if kind == "add" and before is not None and shapes[before] == shape:
            entries.append(LayerEntry(name, Add(), (before, previous)))
        elif kind == "pool" and shape.height >= 2:
            entries.append(LayerEntry(name, MaxPool(kernel=2, stride=2), (previous,)))
        elif kind == "relu" or kind in ("add", "pool"):
            entries.append(LayerEntry(name, Activation(function="relu"), (previous,)))
        else:
            kernel, stride = (1, 1) if kind == "conv1" else (3, 2 if kind == "conv3s2" else 1)
            entries.append(LayerEntry(name, Conv(kernel=kernel, stride=stride, padding=kernel // 2,
                                                 out_channels=width), (previous,)))  # fmt: skip
        network = Network.build("random", shapes["input"], entries)
        shapes[name] = network.layers[-1].output_shape
        previous, before = name, previous
    return Network.build("random", shapes["input"], entries)


def _chip(ifmap_kib: float, ofmap_kib: float, weight_kib: float, **memory: object) -> ChipConfig:
    return chip_with(sram__ifmap__size_kib=ifmap_kib, sram__ofmap__size_kib=ofmap_kib,
                     sram__weight__size_kib=weight_kib, sram__undersized="stream",
                     **{f"memory__{key}": value for key, value in memory.items()})  # fmt: skip


@hypothesis_settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.integers(4, 16), _STEPS,
       st.sampled_from([0.25, 1, 4, 16]), st.sampled_from([0.25, 1, 4]),
       st.sampled_from([0.5, 2, 16]))  # fmt: skip
def test_residency_never_beats_the_bound_and_meets_it_when_everything_fits(
    channels: int, size: int, steps: list[tuple[str, int]], ifmap: float, ofmap: float,
    weight: float,
) -> None:  # fmt: skip
    net = _random_network(channels, size, steps)
    off = simulate_network(net, _chip(ifmap, ofmap, weight))
    on = simulate_network(net, _chip(ifmap, ofmap, weight, activation_residency="on"))
    bound = on.summary()["compulsory_network_dram_bytes"]
    assert bound <= _moved(on) <= _moved(off)
    # Buffers far larger than every tensor: each layer fits whole (so its tiling fetches
    # nothing twice) and every activation stays on chip.
    roomy = simulate_network(net, _chip(1024, 1024, 1024, activation_residency="on"))
    assert roomy.summary()["activations"]["spilled_tensors"] == 0
    assert _moved(roomy) == roomy.summary()["compulsory_network_dram_bytes"] == bound


@hypothesis_settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.integers(4, 16), _STEPS,
       st.sampled_from([0.25, 1, 4, 16]), st.sampled_from([0.25, 1, 4]),
       st.sampled_from([0.5, 2, 16]), st.sampled_from(["recompute", "cache"]))  # fmt: skip
def test_fused_schedules_never_move_more_than_layer_by_layer(
    channels: int, size: int, steps: list[tuple[str, int]], ifmap: float, ofmap: float,
    weight: float, halo: str,
) -> None:  # fmt: skip
    net = _random_network(channels, size, steps)
    layer_by_layer = simulate_network(net, _chip(ifmap, ofmap, weight))
    fused = simulate_network(net, _chip(ifmap, ofmap, weight, fusion="auto", fusion_halo=halo))
    assert _moved(fused) <= _moved(layer_by_layer)
    both = simulate_network(net, _chip(ifmap, ofmap, weight, fusion="auto", fusion_halo=halo,
                                       activation_residency="on"))  # fmt: skip
    assert _moved(both) <= _moved(fused)
    # The timeline still adds up: per-layer shares sum to the network's cycles.
    assert sum(row["total_cycles"] for row in fused.rows()) == fused.total_cycles
